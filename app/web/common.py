"""Small helpers every web module shares: the wired system, language, problems, JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.response import Redirect

from app.bootstrap import Muster
from app.web.i18n import pick_lang
from app.web.problems import Problem, problem_body

PROBLEM_JSON = "application/problem+json"
#: how long a language picked on a page (`?lang=`) is remembered
LANG_COOKIE_S = 365 * 86400


def muster_of(connection: ASGIConnection) -> Muster:  # type: ignore[type-arg]
    muster: Muster = connection.app.state.muster
    return muster


def lang_of(connection: ASGIConnection) -> str:  # type: ignore[type-arg]
    default = muster_of(connection).settings.default_lang
    # Pages follow the plant's language, not the browser's: a wallboard PC set up in
    # English still shows Chinese unless someone switches it (the choice sticks in a cookie).
    # Devices and scripts without a cookie may ask with Accept-Language.
    explicit = connection.query_params.get("lang") or connection.cookies.get("lang")
    if (
        explicit is None
        and connection.scope["type"] == "http"
        and connection.url.path.startswith("/api/")
    ):
        explicit = connection.headers.get("accept-language")
    return pick_lang(explicit, default)


def html_page(request: Request[Any, Any, Any], text: str, lang: str) -> Response[str]:
    """An HTML page; a language picked with `?lang=` sticks (a cookie, `LANG_COOKIE_S`)."""
    response: Response[str] = Response(text, media_type="text/html")
    if request.query_params.get("lang"):
        response.set_cookie("lang", lang, max_age=LANG_COOKIE_S, samesite="lax")
    return response


def login_redirect(path: str) -> Redirect:
    """The login form, coming back to `path` afterwards."""
    return Redirect(f"/login?next={quote(path)}")


def problem_response(problem: Problem, lang: str) -> Response[Any]:
    retry = problem.extra.get("retry_after")
    return Response(
        problem_body(problem, lang),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers={"Retry-After": str(retry)} if retry is not None else None,
    )


def json_response(
    body: Any, status: int = 200, media_type: str = "application/json"
) -> Response[Any]:
    return Response(msgspec.json.encode(body), status_code=status, media_type=media_type)


async def decode_json(request: Request[Any, Any, Any], max_bytes: int) -> Any:
    """The request body as JSON; too large or malformed is a problem, never a 500."""
    body = await request.body()
    if len(body) > max_bytes:
        raise Problem(413, "body-too-large", "problem.invalid_body", max_bytes=max_bytes)
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise Problem(400, "invalid-json", "problem.invalid_body", errors=[str(exc)]) from exc


#: instants a query may name: wide enough for any plan, far from datetime's overflow
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
MAX_BIGINT = 2**63 - 1


def _invalid_query(reason: str) -> Problem:
    return Problem(422, "invalid-query", "problem.invalid_query", errors=[reason])


def query_int(
    request: Request[Any, Any, Any], name: str, default: int, low: int = 0, high: int = MAX_BIGINT
) -> int:
    """An integer query parameter within [low, high]; anything else is a 422 problem."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw) if len(raw) <= 20 else high + 1
    except ValueError:
        raise _invalid_query(f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise _invalid_query(f"{name} must be between {low} and {high}")
    return value


def parse_instant(value: str | None, default: datetime, name: str = "time") -> datetime:
    """An ISO 8601 instant (UTC when it has no offset) between 1900 and 3000; anything else
    is a 422 problem, never an overflow further on."""
    if not value:
        return default
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid_query(f"{name} is not ISO 8601: {value[:64]}") from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    try:
        inside = EARLIEST <= parsed <= LATEST
    except OverflowError:
        inside = False
    if not inside:
        raise _invalid_query(f"{name} must lie between 1900 and 3000")
    return parsed
