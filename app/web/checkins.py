"""Device check-ins over HTTP: parse the wire body, call the service, word its results.

The service answers in the domain's words (accepted, replayed, already checked in,
refused with a reason, or a refusal of the command); this module alone decides their
status codes, problem details and localised messages.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from app.domain.errors import InvalidCheckIn, NotAnEmployee, Refusal
from app.domain.rules import AttendanceStatus, Flag, Verdict
from app.services.checkin_results import (
    Accepted,
    AlreadyCheckedIn,
    CheckInResult,
    Refused,
    Replayed,
    StoredCheckIn,
)
from app.services.commands import CheckInCommand
from app.services.phones import PhoneIdentity, phone_of
from app.web.auth import bearer, principal_of
from app.web.common import PROBLEM_JSON, json_response, lang_of, muster_of
from app.web.contract import (
    MAX_BATCH,
    CheckInBatch,
    CheckInBatchReply,
    CheckInRefusal,
    CheckInRejectedReply,
    CheckInReply,
    CheckInRequest,
    EmployeeRef,
    ProblemDetails,
)
from app.web.i18n import t
from app.web.problems import PROBLEM_BASE, REFUSALS, Problem, problem_body, problem_of

ONE_MB = 1024 * 1024

MESSAGES = {AttendanceStatus.LATE: "checkin.late", AttendanceStatus.WALK_IN: "checkin.walk_in"}


def _reply(record: StoredCheckIn, lang: str, *, replayed: bool, duplicate: bool) -> CheckInReply:
    key = (
        "checkin.duplicate"
        if duplicate
        else MESSAGES.get(AttendanceStatus(record.attendance_status), "checkin.ok")
    )
    flags = list(record.flags) + ([Flag.DUPLICATE.value] if duplicate else [])
    return CheckInReply(
        checkin_id=record.checkin_id,
        status=record.verdict.value,
        employee=EmployeeRef(id=record.employee_no, name=record.employee_name),
        server_time=record.server_time,
        message=t(key, lang),
        flags=flags,
        replayed=replayed,
    )


def _rejected(refused: Refused, lang: str) -> CheckInRejectedReply:
    message = t(f"reject.{refused.reason}", lang)
    employee = EmployeeRef(*refused.employee) if refused.employee is not None else None
    return CheckInRejectedReply(
        checkin_id=refused.checkin_id,
        status=Verdict.REJECTED.value,
        employee=employee,
        server_time=refused.server_time,
        message=message,
        flags=list(refused.flags),
        replayed=refused.replayed,
        reason=refused.reason,
        verdict=Verdict.REJECTED.value,
        detail=message,
    )


def _refusal(refused: Refused, lang: str) -> CheckInRefusal:
    # a refusal of the device's authority (another plant's session) stays that problem,
    # though the attempt is kept too
    status, slug, key = REFUSALS[refused.reason]
    message = t(key, lang)
    return CheckInRefusal(
        type=PROBLEM_BASE + slug,
        title="check-in rejected",
        status=status,
        detail=message,
        reason=refused.reason,
        checkin_id=refused.checkin_id,
        verdict=Verdict.REJECTED.value,
        employee=None,
        server_time=refused.server_time,
        message=message,
        flags=list(refused.flags),
        replayed=refused.replayed,
    )


def http_answer(result: CheckInResult, lang: str) -> tuple[int, dict[str, Any]]:
    """The status code and JSON body of one check-in's result."""
    match result:
        case Accepted(record):
            body: Any = _reply(record, lang, replayed=False, duplicate=False)
            return 201, msgspec.to_builtins(body)
        case Replayed(record):
            return 200, msgspec.to_builtins(_reply(record, lang, replayed=True, duplicate=False))
        case AlreadyCheckedIn(record):
            return 200, msgspec.to_builtins(_reply(record, lang, replayed=False, duplicate=True))
        case Refused() if result.reason in REFUSALS:
            refusal = _refusal(result, lang)
            return refusal.status, msgspec.to_builtins(refusal)
        case Refused():
            # the rules refused it, and it is kept: a reply like any other (decision 0138)
            body = _rejected(result, lang)
            return 200 if result.replayed else 201, msgspec.to_builtins(body)
        case Refusal():
            problem = problem_of(result)
            return problem.status, problem_body(problem, lang)
    raise TypeError(f"not a check-in result: {result!r}")


def command_of(request: CheckInRequest) -> CheckInCommand:
    """The service's command for a parsed wire body."""
    return CheckInCommand(**msgspec.structs.asdict(request))


def parse_item(raw: Any) -> CheckInCommand | Refusal:
    """One batch item: its command, or the refusal of that item alone."""
    try:
        return command_of(msgspec.convert(raw, CheckInRequest, strict=False))
    except msgspec.ValidationError as exc:
        return InvalidCheckIn(errors=[str(exc)])


def phone_caller(request: Request[Any, Any, Any]) -> PhoneIdentity | None:
    """An employee checking in with their own login (a phone), or None for a device token.
    A staff login is not an employee and may not check in by phone."""
    token = bearer(request)
    if token is not None and token.startswith("mdt_"):
        return None
    principal = principal_of(request, muster_of(request).secret)
    if principal is None:
        return None  # the service refuses the missing or unknown token
    employee_no = getattr(principal, "employee_no", None)
    if not employee_no:
        raise NotAnEmployee()
    return phone_of(principal.login, str(employee_no))


PROBLEMS = {
    401: ResponseSpec(ProblemDetails, description="device token missing, unknown or revoked"),
    403: ResponseSpec(ProblemDetails, description="the session belongs to another plant"),
    404: ResponseSpec(ProblemDetails, description="no such session"),
    409: ResponseSpec(ProblemDetails, description="client_event_id reused with other content"),
    413: ResponseSpec(ProblemDetails, description="body too large"),
    429: ResponseSpec(ProblemDetails, description="too busy: retry after `Retry-After`"),
    503: ResponseSpec(ProblemDetails, description="could not store now: retry after `Retry-After`"),
}


@post(
    "/api/v1/checkins",
    status_code=201,
    request_max_body_size=ONE_MB,
    responses={
        200: ResponseSpec(
            # a union: Litestar documents it as oneOf, though its annotation names one type
            CheckInReply | CheckInRejectedReply,  # type: ignore[arg-type]
            description="the same check-in again (replayed)",
        ),
        **PROBLEMS,
        403: ResponseSpec(CheckInRefusal, description="the session belongs to another plant"),
        422: ResponseSpec(ProblemDetails, description="malformed, or nobody to check in"),
    },
)
async def post_checkin(
    request: Request[Any, Any, Any], data: JSONBody[CheckInRequest]
) -> Response[CheckInReply | CheckInRejectedReply]:
    """One check-in from a device (`Bearer` device token), or from an employee's phone
    (`Bearer` user token, `method: qr` with the room's `qr_token` and the `phone_id`)."""
    muster = muster_of(request)
    (result,) = await muster.checkins.check_in(
        bearer(request), [command_of(data)], phone=phone_caller(request)
    )
    status, body = http_answer(result, lang_of(request))
    return json_response(body, status, PROBLEM_JSON if status >= 400 else "application/json")


@post(
    "/api/v1/checkins/batch",
    status_code=200,
    request_max_body_size=8 * ONE_MB,
    responses=PROBLEMS,
)
async def post_checkin_batch(
    request: Request[Any, Any, Any], data: JSONBody[CheckInBatch]
) -> Response[CheckInBatchReply]:
    """An offline tablet's queue (≤ 1,000 items): one result per item, in order."""
    muster = muster_of(request)
    if len(data.items) > MAX_BATCH:
        raise Problem(413, "batch-too-large", "problem.batch_too_large", max_items=MAX_BATCH)
    parsed = [parse_item(raw) for raw in data.items]
    commands = [p for p in parsed if isinstance(p, CheckInCommand)]
    results = iter(
        await muster.checkins.check_in(
            bearer(request),
            commands,
            offline=True,
            sent_at=data.sent_at,
            phone=phone_caller(request),
        )
    )
    lang = lang_of(request)
    bodies = [http_answer(p if isinstance(p, Refusal) else next(results), lang)[1] for p in parsed]
    return json_response({"results": bodies})


checkin_handlers = [post_checkin, post_checkin_batch]
