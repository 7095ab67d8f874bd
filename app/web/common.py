"""Small helpers every web module shares: the wired system, language, problems, JSON."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response
from litestar.connection import ASGIConnection

from app.bootstrap import Muster
from app.web.i18n import pick_lang
from app.web.problems import Problem, problem_body

PROBLEM_JSON = "application/problem+json"


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


def problem_response(problem: Problem, lang: str) -> Response[Any]:
    return Response(
        problem_body(problem, lang), status_code=problem.status, media_type=PROBLEM_JSON
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
