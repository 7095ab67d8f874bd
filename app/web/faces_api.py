"""Face enrolment over HTTP: a kiosk with the person in front of it, or the person's own login.

`POST /api/v1/face-enrolments` (multipart `employee_id`, `consent`, 1–5 `file` parts) and
`DELETE /api/v1/face-enrolments/{employee_id}` (withdraw consent, delete the templates)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Request, Response, delete, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath

from app.projections import queries
from app.services.faces import (
    MAX_SELFIES,
    ConsentRequired,
    FaceRefused,
    NotEnrolled,
    UnknownEmployee,
)
from app.web.auth import bearer, principal_of
from app.web.common import json_response, lang_of, muster_of
from app.web.problems import Problem
from vision.messages import message as vision_message

MAX_SELFIE_BYTES = 15 * 1024 * 1024


class EnrolmentReply(msgspec.Struct):
    """The templates stored for a person."""

    employee_id: str
    enrolled: bool
    templates: int


class WithdrawalReply(msgspec.Struct):
    """Consent withdrawn: how many templates were deleted."""

    employee_id: str
    enrolled: bool
    templates_deleted: int


async def acting_for(request: Request[Any, Any, Any], employee_no: str) -> tuple[str, str]:
    """Who enrols or withdraws for `employee_no`, as (via, actor): a registered kiosk (the
    person stands in front of it), or the person's own employee login — never someone else's
    login. Staff may withdraw consent on a person's behalf (a written request), not enrol.
    A kiosk acts only for its own plant's people, staff only for people inside their scope."""
    muster = muster_of(request)
    token = bearer(request)
    # Where the person works (None for an unknown employee: the service answers 404).
    person = await muster.store.afetch_one(
        "SELECT e.plant, o.path FROM employees e LEFT JOIN org_units o ON o.code = e.org_unit "
        "WHERE e.employee_no = :no",
        {"no": employee_no},
    )
    if token and token.startswith("mdt_"):
        device = await asyncio.to_thread(muster.checkins.authenticate_device, token)
        if person is not None and person["plant"] != device.plant:  # a kiosk serves its plant
            raise Problem(403, "employee-other-plant", "problem.employee_other_plant")
        return f"device:{device.name}", f"device:{device.name}"
    principal = principal_of(request, muster.secret)
    if principal is None:
        raise Problem(401, "login-required", "problem.login_required")
    own = getattr(principal, "employee_no", None)
    if own is not None and own == employee_no:
        return f"user:{principal.login}", f"user:{principal.login}"
    if own is None and request.method == "DELETE" and principal.role in ("hr", "admin"):
        scope = await queries.scope_of(muster.store, principal.scope)
        if person is not None and (
            scope is None or not (person["path"] or "").startswith(scope.path)
        ):
            raise Problem(403, "forbidden", "problem.forbidden")
        return f"user:{principal.login}", f"user:{principal.login}"
    raise Problem(403, "not-yourself", "problem.not_yourself")


def _refused(refused: FaceRefused, lang: str) -> Problem:
    return Problem(
        422,
        "face-refused",
        "problem.face_refused",
        reason=refused.reason,
        reason_text=vision_message(refused.detail, lang),
    )


@post("/api/v1/face-enrolments", status_code=201)
async def post_face_enrolment(request: Request[Any, Any, Any]) -> Response[Any]:
    """Enrol a person's face from 1–5 selfies, under the consent sent with them."""
    muster = muster_of(request)
    lang = lang_of(request)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Problem(415, "invalid-body", "problem.invalid_body", errors=["send multipart"])
    try:
        form = await request.form()
    except Exception as exc:  # a broken multipart body is the client's problem, not a 500
        raise Problem(400, "invalid-body", "problem.invalid_body", errors=[str(exc)[:200]]) from exc
    employee_no = str(form.get("employee_id", "")).strip()
    if not employee_no or len(employee_no) > 128:
        raise Problem(422, "invalid-body", "problem.invalid_body", errors=["employee_id"])
    via, actor = await acting_for(request, employee_no)
    if str(form.get("consent", "")).strip().lower() != "true":
        raise Problem(422, "consent-required", "problem.consent_required")
    uploads = [f for f in form.getall("file") if isinstance(f, UploadFile)]
    if not 1 <= len(uploads) <= MAX_SELFIES:
        raise Problem(422, "invalid-body", "problem.selfie_count", max_files=MAX_SELFIES)
    selfies = [await f.read() for f in uploads]
    if any(len(s) > MAX_SELFIE_BYTES for s in selfies):
        raise Problem(413, "photo-too-large", "problem.photo_too_large")
    try:
        enrolled = await asyncio.to_thread(
            muster.faces.enrol, employee_no, selfies, True, via, actor
        )
    except ConsentRequired as exc:
        raise Problem(422, "consent-required", "problem.consent_required") from exc
    except UnknownEmployee as exc:
        raise Problem(404, "unknown-employee", "reject.unknown_employee") from exc
    except FaceRefused as refused:
        raise _refused(refused, lang) from refused
    reply = EnrolmentReply(employee_id=employee_no, enrolled=True, templates=enrolled.templates)
    return json_response(reply, 201)


@delete("/api/v1/face-enrolments/{employee_id:str}", status_code=200)
async def delete_face_enrolment(
    request: Request[Any, Any, Any], employee_id: FromPath[str]
) -> Response[Any]:
    """Withdraw a person's consent: their templates are deleted, the withdrawal recorded."""
    muster = muster_of(request)
    _via, actor = await acting_for(request, employee_id)
    try:
        deleted = await asyncio.to_thread(muster.faces.withdraw, employee_id, actor)
    except NotEnrolled as exc:
        raise Problem(404, "not-enrolled", "problem.not_enrolled") from exc
    reply = WithdrawalReply(employee_id=employee_id, enrolled=False, templates_deleted=deleted)
    return json_response(reply)


face_handlers = [post_face_enrolment, delete_face_enrolment]
