"""Jinja rendering shared by pages and the websocket hub."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from app.stores.base import from_iso
from app.web.i18n import t
from app.web.security import FORM_TOKEN

PLANT_TZ = ZoneInfo("Asia/Shanghai")

env = Environment(
    loader=PackageLoader("app.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def plant_time(value: str | datetime) -> datetime:
    """An instant in the plant's time zone. A time without an offset (a camera's EXIF clock
    that recorded none) is already the plant's wall clock: it is read as such, not as UTC."""
    moment = from_iso(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.replace(tzinfo=PLANT_TZ)
    return moment.astimezone(PLANT_TZ)


def _clock(value: str | datetime | None) -> str:
    return plant_time(value).strftime("%H:%M") if value else ""


def _clock_s(value: str | None) -> str:
    return plant_time(value).strftime("%H:%M:%S") if value else ""


def _stamp(value: str | None) -> str:
    return plant_time(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


env.filters["clock"] = _clock
env.filters["clock_s"] = _clock_s
env.filters["pct"] = _pct
env.filters["stamp"] = _stamp
#: the form token of the request being answered; every page form and htmx request sends it
env.globals["csrf_token"] = FORM_TOKEN.get


def _csrf_input() -> Markup:
    return Markup('<input type="hidden" name="_csrf_token" value="{}">').format(FORM_TOKEN.get())


env.globals["csrf_input"] = _csrf_input


def render(template: str, lang: str, **context: Any) -> str:
    """Render `template` in `lang` (`_` translates a message key)."""
    return env.get_template(template).render(_=lambda key: t(key, lang), lang=lang, **context)
