"""`muster privacy …`: delete photo originals past their retention period, and erase a
person (crypto-shredding their name and identifiers in every event)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import click


def add_privacy_commands(main: click.Group) -> None:
    """Register `muster privacy purge-photos` and `muster privacy erase`."""
    from app.cli import _command

    @main.group("privacy")
    def privacy() -> None:
        """Photo retention and erasure of people."""

    @privacy.command("purge-photos")
    @click.option(
        "--days",
        type=click.IntRange(min=0),
        default=None,
        help="retention in days (default: photo_retention_days; 0: all uploaded until now)",
    )
    @click.option("--dry-run", is_flag=True, help="list what would be deleted, delete nothing")
    def purge_photos(days: int | None, dry_run: bool) -> None:
        """Delete photo originals whose last upload is older than the retention period.
        Hashes, EXIF facts and analysis stay; each deletion is recorded."""
        with _command() as muster:
            result = muster.retention.purge(
                datetime.now(UTC),
                f"cli:{socket.gethostname()}",
                retention_days=days,
                dry_run=dry_run,
            )
        verb = "would delete" if result.dry_run else "deleted"
        click.echo(
            f"{verb} {len(result.photo_ids)} photo originals uploaded last before "
            f"{result.cutoff.isoformat(timespec='seconds')}"
        )
        for photo_id in result.photo_ids:
            click.echo(f"  {photo_id}")

    @privacy.command("erase")
    @click.argument("employee_no")
    @click.option("--reason", required=True, help="why (recorded with the erasure)")
    @click.option("--rebuild/--no-rebuild", default=True, help="rebuild the read models after")
    def erase(employee_no: str, reason: str, rebuild: bool) -> None:
        """Erase EMPLOYEE_NO: delete their key (their name and identifiers in every event
        read as erased from now on) and their face templates; what they attended stays."""
        with _command() as muster:
            erased = muster.erasure.erase(employee_no, reason, f"cli:{socket.gethostname()}")
            if rebuild:
                muster.runner.rebuild()
                muster.store.compact()
        click.echo(
            f"{employee_no} erased (key deleted: {'yes' if erased.key_deleted else 'no'}, "
            f"face templates deleted: {erased.face_templates})"
        )
        if erased.rewritten:
            click.echo(
                f"{erased.rewritten} events stored before names were sealed had this person's "
                "data in plain text: it was erased in place"
            )
        if erased.plain_events:
            click.echo(
                f"{len(erased.plain_events)} events stored before names were sealed still hold "
                "this person's data in plain text: " + ", ".join(erased.plain_events[:20]),
                err=True,
            )
