"""`muster webhooks …` and `muster alerts …`: where alerts go and what raises them."""

from __future__ import annotations

import json
from uuid import UUID

import click
from rich.console import Console
from rich.table import Table

from app.alerts.commands import WEBHOOK_FORMATS
from app.alerts.queries import dead_letters
from app.domain.alerts import THRESHOLD_NAMES, AlertRule
from app.services.notice_delivery import RULE as NOTICE_RULE

console = Console()
CLI_ACTOR = "cli"


def _command():  # type: ignore[no-untyped-def]
    from app.cli import _command as command  # one wiring for every admin command

    return command()


@click.group()
def webhooks() -> None:
    """Alert destinations: webhooks (JSON, DingTalk, Feishu, WeCom) and mail."""


@webhooks.command("add")
@click.argument("url")
@click.option("--format", "fmt", required=True, type=click.Choice(WEBHOOK_FORMATS))
@click.option("--scope", required=True, help="org unit code: alerts about its subtree")
@click.option(
    "--rules",
    default="",
    help="comma-separated rules (default: every alert rule); session_notice: employees' "
    "notices of moved, cancelled or re-rostered sessions",
)
@click.option("--secret", default=None, help="signing secret (DingTalk, Feishu robots)")
def webhooks_add(url: str, fmt: str, scope: str, rules: str, secret: str | None) -> None:
    """Deliver alerts of SCOPE to URL (`mailto:someone@plant` with --format mail)."""
    chosen = [r.strip() for r in rules.split(",") if r.strip()]
    known = (*AlertRule, NOTICE_RULE)  # `session_notice`: employees' session notices
    unknown = [r for r in chosen if r not in known]
    if unknown:
        raise click.BadParameter(
            f"unknown rule(s) {', '.join(unknown)}; rules: {', '.join(known)}",
            param_hint="--rules",
        )
    if fmt == "mail" and not url.startswith("mailto:"):
        raise click.BadParameter("a mail destination is mailto:ADDRESS", param_hint="URL")
    if fmt != "mail" and not url.startswith(("http://", "https://")):
        raise click.BadParameter("a webhook URL starts with http:// or https://", param_hint="URL")
    with _command() as muster:
        if (
            muster.store.fetch_one("SELECT code FROM org_units WHERE code = :c", {"c": scope})
            is None
        ):
            raise click.BadParameter(f"unknown org unit {scope}", param_hint="--scope")
        webhook_id = muster.app.add_webhook(url, fmt, scope, chosen, CLI_ACTOR)
        with muster.store.transaction() as tx:  # the secret stays out of the event log
            if secret:
                tx.execute(
                    "INSERT INTO webhook_secrets (webhook_id, secret) VALUES (:id, :s) "
                    "ON CONFLICT (webhook_id) DO UPDATE SET secret = :s",
                    {"id": str(webhook_id), "s": secret},
                )
            else:
                tx.execute(
                    "DELETE FROM webhook_secrets WHERE webhook_id = :id", {"id": str(webhook_id)}
                )
    click.echo(f"webhook {webhook_id} ({fmt}, scope {scope}, rules {','.join(chosen) or 'all'})")


@webhooks.command("list")
def webhooks_list() -> None:
    """Registered destinations."""
    with _command() as muster:
        rows = muster.store.fetch(
            "SELECT w.id, w.url, w.fmt, w.scope, w.rules, w.active, "
            "k.secret IS NOT NULL AS signed FROM webhooks w LEFT JOIN webhook_secrets k "
            "ON k.webhook_id = w.id ORDER BY w.scope, w.url"
        )
    # one plain line each: the id is what `muster webhooks remove` takes
    for r in rows:
        if r["active"]:
            rules = ",".join(json.loads(r["rules"])) or "all"
            signed = "signed" if r["signed"] else "-"
            line = f"{r['id']}  {r['fmt']:<8} {r['scope']:<10} {rules:<24} {signed:<6}"
            click.echo(f"{line} {r['url']}")


@webhooks.command("remove")
@click.argument("webhook_id")
def webhooks_remove(webhook_id: str) -> None:
    """Stop delivering to a destination (its id from `muster webhooks list`)."""
    try:
        wanted = UUID(webhook_id)
    except ValueError as exc:
        raise click.BadParameter("not a webhook id", param_hint="WEBHOOK_ID") from exc
    with _command() as muster:
        muster.app.remove_webhook(wanted, CLI_ACTOR)
    click.echo(f"webhook {webhook_id} removed")


@click.group()
def alerts() -> None:
    """Alert thresholds and the dead-letter list."""


@alerts.command("threshold")
@click.argument("org")
@click.argument("name", type=click.Choice(THRESHOLD_NAMES))
@click.argument("value", type=float)
def alerts_threshold(org: str, name: str, value: float) -> None:
    """Set a threshold for ORG and everything under it (e.g. `P1 dept_rate 0.9`)."""
    with _command() as muster:
        if muster.store.fetch_one("SELECT code FROM org_units WHERE code = :c", {"c": org}) is None:
            raise click.BadParameter(f"unknown org unit {org}", param_hint="ORG")
        muster.app.set_alert_threshold(org, name, value, CLI_ACTOR)
    click.echo(f"{org}: {name} = {value:g}")


@alerts.command("dead-letters")
def alerts_dead_letters() -> None:
    """Notices given up on after the last retry."""
    with _command() as muster:
        rows = dead_letters(muster.store)
    table = Table("at", "alert", "rule", "notice", "destination", "attempts", "error")
    for r in rows:
        table.add_row(
            r["at"],
            r["alert_id"],
            r["rule"],
            r["notice"],
            r["destination"],
            str(r["attempt"]),
            r["error"] or "",
        )
    console.print(table)
