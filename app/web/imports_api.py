"""`POST /api/v1/imports/{kind}` and the downloadable templates of each kind."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath

from app.domain.access import Role
from app.imports import KINDS
from app.imports.reader import MAX_BYTES
from app.projections import queries
from app.web.auth import require_principal
from app.web.common import lang_of, muster_of
from app.web.import_texts import finding_json, finding_line
from app.web.problems import Problem
from app.web.spreadsheets import spreadsheet

#: who may load files into Muster
IMPORTERS = (Role.HR, Role.ADMIN)


class ImportForm(msgspec.Struct):
    """The multipart form: the file and, optionally, `dry_run`."""

    file: UploadFile
    dry_run: str = "false"


class ImportFinding(msgspec.Struct):
    line: int
    column: str
    reason: str


class ImportReply(msgspec.Struct):
    """What an import did; `warnings` (conflicts and the like) do not stop it (extension)."""

    applied: bool
    rows: int
    created: int
    updated: int
    errors: list[ImportFinding]
    warnings: list[ImportFinding]
    dry_run: bool


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _kind(kind: str) -> None:
    if kind not in KINDS:
        raise Problem(404, "unknown-import-kind", "import.unknown_kind", kinds=list(KINDS))


@post(
    "/api/v1/imports/{kind:str}",
    status_code=200,
    request_max_body_size=MAX_BYTES + 2**20,
    responses={
        422: ResponseSpec(ImportReply, description="rows in error: nothing was saved"),
        404: ResponseSpec(None, description="unknown import kind"),
    },
)
async def post_import(
    request: Request[Any, Any, Any],
    kind: FromPath[str],
    data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> ImportReply:
    """Import a CSV or XLSX file of `kind`: every row or none."""
    muster = muster_of(request)
    principal = require_principal(request, muster.secret)
    if principal.role not in IMPORTERS:
        raise Problem(403, "forbidden", "problem.forbidden")
    _kind(kind)
    dry_run = _truthy(data.dry_run or request.query_params.get("dry_run", ""))
    content = await data.file.read()
    scope = await queries.scope_of(muster.store, principal.scope)
    if scope is None:
        raise Problem(403, "forbidden", "problem.forbidden")
    result = await asyncio.to_thread(
        muster.imports.run,
        kind,
        content,
        filename=data.file.filename or "",
        dry_run=dry_run,
        actor=principal.login,
        scope=scope.path,
    )
    lang, tz = lang_of(request), muster.settings.plant_tz
    if result.outside:
        raise Problem(
            403,
            "forbidden",
            "import.outside_scope_refused",
            detail=finding_line(result.outside[0], lang, tz),
            applied=False,
            errors=[finding_json(f, lang, tz) for f in result.outside],
        )
    reply = {
        "applied": result.applied,
        "rows": result.rows,
        "created": result.created,
        "updated": result.updated,
        "errors": [finding_json(f, lang, tz) for f in result.errors],
        "warnings": [finding_json(f, lang, tz) for f in result.warnings],
        "dry_run": dry_run,
    }
    if result.errors:
        raise Problem(422, "import-refused", "import.refused", **reply)
    return msgspec.convert(reply, ImportReply)


@get("/api/v1/imports/{kind:str}/template")
async def get_template(request: Request[Any, Any, Any], kind: FromPath[str]) -> Response[bytes]:
    """An empty file of `kind` to fill in: the header and one example line (CSV or XLSX)."""
    _kind(kind)
    spec = KINDS[kind]
    header = [c.name for c in spec.columns]
    example = [spec.example.get(name, "") for name in header]
    return spreadsheet([header, example], f"muster-{kind}", request.query_params.get("format"))


import_handlers = [post_import, get_template]
