"""The `muster` command line (names fixed by ../shared/CONTRACT.md)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.audit.context import ACTING, Acting
from app.bootstrap import Muster, build
from app.deployment import settle_heap
from app.domain.access import Role
from app.logging import configure
from app.settings import Settings

console = Console()
CLI_ACTOR = "cli"


def _build(**overrides: Any) -> Muster:
    configure("WARNING")
    return build(Settings(**overrides))


@contextlib.contextmanager
def _command() -> Iterator[Muster]:
    """A wired system for one admin command: refusals become clean CLI errors, and the read
    models are brought up to date before and after, so the command sees and shows its effect."""
    muster = _build()
    ACTING.set(Acting("operator", f"host:{socket.gethostname()}"))
    try:
        muster.runner.run_once()
        yield muster
        muster.runner.run_once()
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        muster.close()


def _progress_bar(*, transient: bool = False) -> Progress:
    """A progress bar for a long command: what it does, how far, how long so far."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
    )


def _serve(muster: Muster, host: str, port: int, background: Any = None) -> None:
    import uvicorn
    import uvloop

    from app.services.warm_up import warm_up
    from app.web.app import WEBSOCKETS, create_app

    app = create_app(muster)
    settle_heap()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        **WEBSOCKETS,
        log_level="warning",
        lifespan="on",
        # tablets keep their connection between check-ins (uvicorn's default drops it at 5 s)
        timeout_keep_alive=30,
        # with a certificate and key: HTTPS only (the app then sends HSTS)
        ssl_certfile=str(muster.settings.tls_cert) if muster.settings.tls_cert else None,
        ssl_keyfile=str(muster.settings.tls_key) if muster.settings.tls_key else None,
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        # the first burst of check-ins after a start finds the pools full (decision 0127)
        await warm_up(muster.store, muster.checkins)
        task = asyncio.create_task(background()) if background else None
        try:
            await server.serve()
        finally:
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # `loop="uvloop"` above only applies when uvicorn makes the loop; this one is ours
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())


@click.group()
def main() -> None:
    """Muster: training supervision for manufacturing plants."""


@main.command()
@click.option("--port", default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--employees", default=300, show_default=True, type=click.IntRange(min=20))
@click.option(
    "--db", default="var/demo.db", show_default=True, help="SQLite file (created or reused)"
)
@click.option("--tls", is_flag=True, help="serve HTTPS with a self-signed certificate")
def demo(port: int, host: str, employees: int, db: str, tls: bool) -> None:
    """Embedded demo: SQLite + in-process bus, demo plant, live simulated check-ins."""
    from app.demo import plant as demo_data
    from app.demo.simulator import simulate

    started = time.monotonic()
    configure("INFO")
    Path(db).parent.mkdir(parents=True, exist_ok=True)
    certificate: dict[str, Any] = {}
    if tls:
        from app.tls import self_signed

        cert, key = self_signed(Path(db).parent / "tls", host)
        certificate = {"tls_cert": cert, "tls_key": key}
    # demo logins log in by password; `muster users totp LOGIN` turns two-factor on for one
    muster = build(
        Settings(
            store=f"sqlite:///{db}",
            bus="memory://",
            host=host,
            port=port,
            two_factor_roles=[],
            **certificate,
        )
    )
    with console.status("Loading the demo plant…"):
        plant = demo_data.load(muster, employees=employees)
        muster.runner.run_once()
    url = f"{'https' if tls else 'http'}://{host}:{port}"
    console.print(f"[bold green]Muster demo[/] ready in {time.monotonic() - started:.1f}s — {db}")
    console.print(f"  Wallboard   {url}/plants/SZ1/wallboard   (and {url}/plants/SZ2/wallboard)")
    console.print(f"  Login       {url}/login")
    for login, role, scope, password in demo_data.DEMO_USERS:
        console.print(
            f"  {role:<6} login [bold]{login}[/] / password [bold]{password}[/]  (scope {scope})"
        )
    console.print("  Device API  POST /api/v1/checkins  (tablet tokens are reissued each start)")
    console.print(
        "  Imports     muster import KIND FILE — the demo's own files: app/demo/data/ and "
        f"{muster.settings.var_dir / 'demo-import'}/"
    )
    console.print("  Ctrl-C stops.")
    try:
        _serve(muster, host, port, background=lambda: simulate(muster, plant))
    finally:
        muster.close()


@main.command()
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
def serve(host: str | None, port: int | None) -> None:
    """Serve with the configured stores (MUSTER_* environment or muster.toml)."""
    configure("INFO")
    muster = build()
    try:
        _serve(muster, host or muster.settings.host, port or muster.settings.port)
    finally:
        muster.close()


@main.command()
@click.option(
    "--projections/--no-projections",
    default=True,
    show_default=True,
    help="project the read models and publish view changes on the bus",
)
@click.option(
    "--vision",
    is_flag=True,
    help="analyse uploaded room photos (web processes then run with MUSTER_VISION_PROCESSES=0)",
)
@click.option(
    "--vision-processes",
    type=click.IntRange(min=1),
    default=None,
    help="vision processes [default: MUSTER_VISION_PROCESSES, at least 1]",
)
def worker(projections: bool, vision: bool, vision_processes: int | None) -> None:
    """The scale-out worker: projections (and, with --vision, photo analysis).

    Web processes run with MUSTER_RUN_PROJECTIONS=false and push what this worker projects.
    Photo files live under MUSTER_VAR_DIR/photos, which the web and vision workers share.
    """
    import signal

    if not (projections or vision):
        raise click.UsageError("nothing to do: give --vision or keep --projections")
    configure("INFO")
    processes = 0
    if vision:
        processes = vision_processes or max(1, Settings().vision_processes)
    muster = build(Settings(vision_processes=processes))
    settle_heap()

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        muster.start(loop, projections=projections)
        jobs = ["projections, alerts and anomaly rules"] if projections else []
        if vision:
            jobs.append(f"photo analysis ×{processes}")
        console.print(
            f"worker: {', '.join(jobs)} on {muster.settings.store_kind}, bus {muster.settings.bus}"
        )
        await stop.wait()
        await asyncio.to_thread(muster.stop)
        await muster.bus.close()

    try:
        asyncio.run(run())
    finally:
        muster.close()


@main.group()
def users() -> None:
    """Staff logins."""


@users.command("add")
@click.argument("login")
@click.option("--role", required=True, type=click.Choice(Role.ALL))
@click.option("--scope", required=True, help="org unit code: the login sees this subtree")
@click.option("--employee", "employee_no", default=None, help="employee number (role employee)")
def users_add(login: str, role: str, scope: str, employee_no: str | None) -> None:
    """Create a login, or give it this role and scope and a new password (its open sessions
    end); prints a one-time password."""
    with _command() as muster:
        password = muster.app.add_user(login, role, scope, CLI_ACTOR, employee_no=employee_no)
    # Plain echo, never wrapped: scripts read the password from this line.
    click.echo(f"user {login} ({role}, scope {scope}) — one-time password: {password}")


@main.group()
def devices() -> None:
    """Check-in devices."""


@devices.command("add")
@click.argument("name")
@click.option("--room", required=True)
@click.option("--plant", required=True, help="plant org code the room belongs to")
@click.option("--kind", default="tablet", type=click.Choice(["tablet", "camera", "badge-reader"]))
def devices_add(name: str, room: str, plant: str, kind: str) -> None:
    """Register a device; prints its token once (re-adding rotates the token)."""
    with _command() as muster:
        token = muster.app.register_device(name, room, plant, kind, CLI_ACTOR)
    click.echo(f"device {name} in {room} ({plant}) — token (shown once): {token}")


@devices.command("revoke")
@click.argument("name")
@click.option("--reason", required=True)
def devices_revoke(name: str, reason: str) -> None:
    """Revoke a lost or stolen device: its token stops working at once."""
    with _command() as muster:
        muster.app.revoke_device(name, reason, CLI_ACTOR)
    console.print(f"device [bold]{name}[/] revoked")


@main.command("import")
@click.argument("kind")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="check every row and report, save nothing")
@click.option("--lang", default=None, help="language of the messages (default: the plant's)")
def import_file(kind: str, file: Path, dry_run: bool, lang: str | None) -> None:
    """Import FILE (CSV or XLSX) as KIND: all rows or none; exit 0 only when it applies."""
    from app.imports.service import UnknownImportKindError
    from app.web.import_texts import finding_line

    muster = _build()
    language = lang or muster.settings.default_lang
    try:
        with _progress_bar(transient=True) as progress:
            task = progress.add_task(f"{kind} {file.name}", total=None)
            result = muster.imports.run(
                kind,
                file.read_bytes(),
                filename=file.name,
                dry_run=dry_run,
                actor=CLI_ACTOR,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    except UnknownImportKindError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        muster.close()
    tz = muster.settings.plant_tz
    for finding in result.errors:
        click.echo(finding_line(finding, language, tz))
    for finding in result.warnings:
        click.echo("! " + finding_line(finding, language, tz))
    verdict = (
        "applied"
        if result.applied
        else "dry run, nothing saved"
        if dry_run and not result.errors
        else f"NOT applied: {len(result.errors)} error(s), nothing saved"
    )
    click.echo(
        f"{kind}: {result.rows} rows, {result.created} created, {result.updated} updated — "
        f"{verdict}"
    )
    if result.errors:
        sys.exit(1)


@main.group()
def projections() -> None:
    """Read models."""


@projections.command("status")
def projections_status() -> None:
    """Show each projection's position and lag behind the event log."""
    muster = _build()
    try:
        table = Table("projection", "position", "head", "lag")
        for runner in muster.runners:
            for s in runner.status():
                table.add_row(s.name, str(s.position), str(s.head), str(s.lag))
        console.print(table)
    finally:
        muster.close()


@projections.command("rebuild")
@click.argument("name", required=False)
def projections_rebuild(name: str | None) -> None:
    """Rebuild one projection (or all) from the event log."""
    muster = _build()
    known = [p.name for runner in muster.runners for p in runner.projections]
    if name is not None and name not in known:
        muster.close()
        raise click.ClickException(f"unknown projection {name!r}; known: {', '.join(known)}")
    started = time.monotonic()
    try:
        with _progress_bar() as progress:
            count = 0
            for runner in muster.runners:
                mine = [p.name for p in runner.projections if name in (None, p.name)]
                if not mine:
                    continue
                task = progress.add_task(f"rebuilding {', '.join(mine)}", total=runner.head())
                count += runner.rebuild(
                    mine,
                    progress=lambda done, total, task=task: progress.update(  # type: ignore[misc]
                        task, completed=done, total=total
                    ),
                )
    finally:
        muster.close()
    elapsed = time.monotonic() - started
    console.print(f"applied {count} events in {elapsed:.1f}s ({count / max(elapsed, 1e-9):,.0f}/s)")


from app.alerts.cli import alerts, webhooks  # noqa: E402 - they use `_command` above

main.add_command(webhooks)
main.add_command(alerts)

from app.audit.cli import add_audit_commands  # noqa: E402 - they use `_command` above
from app.audit.privacy_cli import add_privacy_commands  # noqa: E402 - the same

add_audit_commands(main, users)
add_privacy_commands(main)

if __name__ == "__main__":
    sys.exit(main())
