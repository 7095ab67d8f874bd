"""Logging in: the `/login` form, `POST /api/v1/auth/token`, two-factor enrolment, logout.

Wrong credentials get one answer whichever part was wrong; repeated failures are slowed,
then refused for a while with `429` and `Retry-After` (per login and per address).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import msgspec
import segno
from litestar import Request, Response, delete, get, post
from litestar.params import URLEncodedBody
from litestar.response import Redirect

from app.services import two_factor
from app.web.auth import (
    COOKIE,
    Principal,
    check_login,
    issue_token,
    principal_of,
    require_principal,
)
from app.web.common import decode_json, json_response, lang_of, muster_of
from app.web.contract import TokenReply, TokenRequest
from app.web.i18n import t
from app.web.problems import Problem
from app.web.render import render

ENROL_PATH = "/account/two-factor"


def client_address(request: Request[Any, Any, Any]) -> str:
    """The caller's address (uvicorn applies `X-Forwarded-For` from trusted proxies only)."""
    return request.client.host if request.client else "-"


async def log_in(
    request: Request[Any, Any, Any], login: str, password: str, code: str
) -> Principal:
    """The checked login, or a 401 (wrong, whatever part) or 429 (too many failures)."""
    muster = muster_of(request)
    failed, address = muster.failed_logins, client_address(request)
    login = login[:128]
    wait = failed.retry_after(login, address)
    if wait is not None:
        raise Problem(429, "too-many-logins", "problem.too_many_logins", retry_after=wait)
    await asyncio.sleep(failed.delay(login, address))
    principal = await asyncio.to_thread(check_login, muster, login, password[:256], code[:32])
    if principal is None:
        failed.failed(login, address)
        raise Problem(401, "login-failed", "problem.login_failed")
    failed.succeeded(login)
    return principal


def _with_cookie(
    request: Request[Any, Any, Any], response: Response[Any], principal: Principal
) -> Response[Any]:
    muster = muster_of(request)
    ttl = muster.settings.token_ttl_hours * 3600
    token, _ = issue_token(muster.secret, principal, ttl)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=ttl,
    )
    return response


def _html(text: str, status: int = 200, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(text, status_code=status, media_type="text/html", headers=headers)


@get("/login")
async def login_page(request: Request[Any, Any, Any]) -> Response[str]:
    lang = lang_of(request)
    response = _html(render("login.html", lang, next=request.query_params.get("next", "/")))
    response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax")
    return response


@post("/login")
async def login_submit(
    request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]
) -> Response[Any]:
    """The login form: `login`, `password`, `totp` (and `next`)."""
    lang = lang_of(request)
    login = data.get("login", "")
    try:
        principal = await log_in(request, login, data.get("password", ""), data.get("totp", ""))
    except Problem as refused:
        page = render(
            "login.html",
            lang,
            error=t(refused.key, lang),
            login=login[:128],
            next=data.get("next", "/"),
        )
        retry = refused.extra.get("retry_after")
        return _html(page, refused.status, {"Retry-After": str(retry)} if retry else None)
    target = data.get("next", "/")
    if principal.enrolling:
        target = ENROL_PATH
    elif not target.startswith("/") or target.startswith("//"):
        target = "/"
    return _with_cookie(request, Redirect(target), principal)


@post("/logout")
async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    """End the login's sessions everywhere (its tokens stop working) and drop the cookie."""
    principal = principal_of(request)
    if principal is not None:
        await asyncio.to_thread(muster_of(request).app.credentials.end_sessions, principal.login)
    response = Redirect("/login")
    response.delete_cookie(COOKIE)
    return response


@post("/api/v1/auth/token", status_code=200)
async def post_token(request: Request[Any, Any, Any]) -> Response[Any]:
    """A `Bearer` token for scripts: `{"login", "password", "totp"?}` → `{"token",
    "expires_at"}`."""
    muster = muster_of(request)
    try:
        body = msgspec.convert(await decode_json(request, 64 * 1024), TokenRequest)
    except msgspec.ValidationError as exc:
        raise Problem(422, "invalid-body", "problem.invalid_body", errors=[str(exc)]) from exc
    principal = await log_in(request, body.login, body.password, body.totp or "")
    # CONTRACT: the code is needed once the login has enrolled. A script's login that has
    # not enrolled yet gets its token with the password; the pages still make people of
    # the two-factor roles enrol before anything else.
    principal = replace(principal, enrolling=False)
    token, expires = issue_token(muster.secret, principal, muster.settings.token_ttl_hours * 3600)
    return json_response(TokenReply(token=token, expires_at=expires.isoformat()))


@delete("/api/v1/auth/token", status_code=204)
async def revoke_token(request: Request[Any, Any, Any]) -> None:
    """Revoke the caller's tokens: this one and every other the login holds stop working."""
    principal = require_principal(request)
    await asyncio.to_thread(muster_of(request).app.credentials.end_sessions, principal.login)


def _enrol_page(request: Request[Any, Any, Any], uri: str | None, **context: Any) -> Response[str]:
    lang = lang_of(request)
    # dark on white with its quiet zone: a scanner needs the contrast whatever the page theme
    qr = (
        segno.make(uri, error="m").svg_data_uri(scale=4, dark="black", light="white")
        if uri
        else None
    )
    status = context.pop("status", 200)
    return _html(render("two_factor.html", lang, uri=uri, qr=qr, **context), status)


@get(ENROL_PATH)
async def enrol_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """Two-factor enrolment: a QR code (and its `otpauth://` URI) for an authenticator app,
    recovery codes shown once, and a field for the first code."""
    principal = principal_of(request)
    if principal is None:
        return Redirect(f"/login?next={ENROL_PATH}")
    credentials = muster_of(request).app.credentials
    secret = await asyncio.to_thread(credentials.login_secret, principal.login)
    if secret is not None and secret.totp_enrolled:
        return _enrol_page(request, None, enrolled=True)
    enrolment = await asyncio.to_thread(two_factor.begin, credentials, principal.login)
    return _enrol_page(request, enrolment.uri, codes=enrolment.recovery_codes)


@post(ENROL_PATH)
async def enrol_confirm(
    request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]
) -> Response[Any]:
    principal = principal_of(request)
    if principal is None:
        return Redirect(f"/login?next={ENROL_PATH}")
    credentials = muster_of(request).app.credentials
    code = data.get("code", "")[:32]
    if not await asyncio.to_thread(two_factor.confirm, credentials, principal.login, code):
        uri = await asyncio.to_thread(two_factor.pending_uri, credentials, principal.login)
        lang = lang_of(request)
        return _enrol_page(request, uri, error=t("problem.login_failed", lang), status=400)
    return _with_cookie(request, Redirect("/"), replace(principal, enrolling=False))


login_handlers = [
    login_page,
    login_submit,
    logout,
    post_token,
    revoke_token,
    enrol_page,
    enrol_confirm,
]
