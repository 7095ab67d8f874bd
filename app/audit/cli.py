"""Commands of the audit trail and two-factor login: `muster users totp`, `muster export
audit`, `muster audit verify`, `muster replay` (names fixed by ../shared/CONTRACT.md)."""

from __future__ import annotations

import asyncio
import getpass
import json
import socket
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import click

from app.audit.chain import first_bad_line


def _instant(value: str, end_of_day: bool = False) -> datetime:
    """A date (its start, or with `end_of_day` the start of the next day) or an ISO 8601
    instant; without an offset it is UTC."""
    try:
        if len(value) == 10:
            day = datetime.combine(datetime.fromisoformat(value).date(), time(), UTC)
            return day + timedelta(days=1) if end_of_day else day
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"not a date or ISO 8601 instant: {value}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _who() -> tuple[str, str]:
    """The operator running the command and the machine they ran it on."""
    return f"cli:{getpass.getuser()}", f"host:{socket.gethostname()}"


def add_audit_commands(main: click.Group, users: click.Group) -> None:
    """Register the commands on the `muster` group (and `users totp` on `users`)."""
    from app.cli import _command

    @users.command("totp")
    @click.argument("login")
    def users_totp(login: str) -> None:
        """Enrol LOGIN in two-factor login; prints the otpauth:// URI (once) and recovery
        codes. From now on the login needs a code from the authenticator app."""
        from app.services import two_factor

        with _command() as muster:
            if muster.app.credentials.login_secret(login) is None:
                raise click.ClickException(f"unknown login: {login}")
            enrolment = two_factor.enrol(muster.app.credentials, login)
        click.echo(enrolment.uri)
        click.echo("recovery codes (each works once): " + " ".join(enrolment.recovery_codes))

    @main.group("export")
    def export() -> None:
        """Exports."""

    @export.command("audit")
    @click.option("--from", "start", required=True, help="first day (YYYY-MM-DD) or instant")
    @click.option("--to", "end", required=True, help="last day (YYYY-MM-DD) or instant")
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
    def export_audit_command(start: str, end: str, out: Path | None) -> None:
        """Write the audit trail of a period as hash-chained JSON lines (to FILE or stdout)."""
        from app.audit.export import export_audit

        first, last = _instant(start), _instant(end, end_of_day=True)
        actor, via = _who()
        with _command() as muster:
            if out is None:
                lines, digest = export_audit(muster, first, last, sys.stdout, actor, via)
            else:
                with out.open("w", encoding="utf-8") as stream:
                    lines, digest = export_audit(muster, first, last, stream, actor, via)
        click.echo(f"{lines} lines, last hash {digest}", err=True)

    @main.group("audit")
    def audit() -> None:
        """The audit trail."""

    @audit.command("verify")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def audit_verify(file: Path) -> None:
        """Check an audit export; exits non-zero naming the first line that was changed."""
        with file.open("rb") as stream:
            bad = first_bad_line(stream)
        if bad is not None:
            number, what = bad
            click.echo(f"{file}: line {number}: {what}", err=True)
            sys.exit(1)
        click.echo(f"{file}: intact")

    @main.command("replay")
    @click.option("--as-of", "as_of", required=True, help="ISO 8601 instant")
    @click.option("--session", "session_id", default=None, help="a session id")
    def replay(as_of: str, session_id: str | None) -> None:
        """What the views showed at an instant: the session page, or every wallboard."""
        from app.audit.replay import views_as_of
        from app.projections.queries import session_plant

        instant = _instant(as_of)
        with _command() as muster:
            view = asyncio.run(views_as_of(muster, instant, session_id))
            if session_id is not None and view["session"] is None:
                known = asyncio.run(session_plant(muster.store, [session_id]))
                if not known:
                    raise click.ClickException(f"unknown session: {session_id}")
                raise click.ClickException(f"session {session_id} did not exist at {as_of}")
        click.echo(json.dumps(view, ensure_ascii=False, indent=2, default=str))
