"""Jinja rendering shared by pages and the websocket hub."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from app.stores.base import from_iso
from app.web.i18n import t
from app.web.security import FORM_TOKEN

env = Environment(
    loader=PackageLoader("app.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def plant_time(value: str | datetime, tz: tzinfo) -> datetime:
    """An instant in the plant's time zone `tz` (`Settings.plant_tz`). A time without an offset
    (a camera's EXIF clock that recorded none) is already the plant's wall clock: it is read as
    such, not as UTC."""
    moment = from_iso(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.replace(tzinfo=tz)
    return moment.astimezone(tz)


def _shown(context: Context, value: str | datetime | None, pattern: str) -> str:
    tz = context.get("plant_tz")
    if tz is None:  # never the server's own zone by mistake
        raise TypeError("a page that shows times is rendered with render(..., tz=plant_tz)")
    return plant_time(value, tz).strftime(pattern) if value else ""


@pass_context
def _clock(context: Context, value: str | datetime | None) -> str:
    return _shown(context, value, "%H:%M")


@pass_context
def _clock_s(context: Context, value: str | None) -> str:
    return _shown(context, value, "%H:%M:%S")


@pass_context
def _stamp(context: Context, value: str | None) -> str:
    return _shown(context, value, "%Y-%m-%d %H:%M:%S")


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


def render(template: str, lang: str, *, tz: tzinfo | None = None, **context: Any) -> str:
    """Render `template` in `lang` (`_` translates a message key); a page that shows times
    needs the plant's clock `tz` (`Settings.plant_tz`)."""
    page = env.get_template(template)
    return page.render(_=lambda key: t(key, lang), lang=lang, plant_tz=tz, **context)
