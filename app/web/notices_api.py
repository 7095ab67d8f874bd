"""An employee's inbox of changes to their sessions (`GET /api/v1/me/notices`, for the phone
page): moved, called off, added to or taken off a roster, new details. Each notice carries its
facts and its words in the caller's language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, get

from app.services.session_notices import notices_of
from app.web.common import json_response, lang_of, muster_of
from app.web.i18n import t, tf
from app.web.kiosk import employee_of_principal


def _local(stamp: str, tz: ZoneInfo) -> str:
    return datetime.fromisoformat(stamp).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def notice_text(kind: str, facts: dict[str, Any], lang: str, tz: ZoneInfo) -> str:
    """A notice in words: the session's title and what changed."""
    params = {
        **facts,
        "starts_at": _local(facts["starts_at"], tz),
        "was_starts_at": _local(facts.get("was_starts_at") or facts["starts_at"], tz),
    }
    return tf(f"notice.{kind}", lang, params)


def notice_words(tz: ZoneInfo) -> Callable[[str, dict[str, Any], str], tuple[str, str]]:
    """(kind, facts, language) → (title, text) of a notice sent by mail or webhook."""

    def words(kind: str, facts: dict[str, Any], lang: str) -> tuple[str, str]:
        return t("phone.notices", lang), notice_text(kind, facts, lang, tz)

    return words


@get("/api/v1/me/notices")
async def my_notices(request: Request[Any, Any, Any]) -> Response[Any]:
    """The logged-in employee's notices, the newest first."""
    employee_no = employee_of_principal(request)
    muster = muster_of(request)
    lang = lang_of(request)
    tz = muster.settings.plant_tz
    rows = await notices_of(muster.store, employee_no)
    return json_response(
        {
            "employee_no": employee_no,
            "notices": [
                {
                    "id": f"{r['position']}:{employee_no}",
                    "session_id": r["session_id"],
                    "kind": r["kind"],
                    "at": r["at"],
                    **r["facts"],
                    "text": notice_text(r["kind"], r["facts"], lang, tz),
                }
                for r in rows
            ],
        }
    )


notices_handlers = [my_notices]
