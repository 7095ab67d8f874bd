"""`muster webhooks` and `muster alerts` against a real SQLite store."""

from __future__ import annotations

from click.testing import CliRunner

from app.bootstrap import build
from app.cli import main
from app.settings import Settings
from tests.test_cli import env, run  # noqa: F401 - the CLI tests' plant and runner


def test_a_webhook_is_added_listed_with_its_secret_kept_out_of_events_and_removed(
    env: dict[str, str],  # noqa: F811
) -> None:
    out = run(
        "webhooks",
        "add",
        "https://robot.example/send?access_token=T",
        "--format",
        "dingtalk",
        "--scope",
        "P1",
        "--rules",
        "dept_rate_low,no_checkins",
        "--secret",
        "SEC-123",
    )
    webhook_id = out.split()[1]
    listed = run("webhooks", "list")
    assert webhook_id in listed and "dingtalk" in listed and "signed" in listed
    muster = build(Settings(store=env["MUSTER_STORE"], var_dir=env["MUSTER_VAR_DIR"]))
    try:
        states = [n.state for n in muster.app.recorder.select_notifications(start=1, limit=10_000)]
        assert not any(b"SEC-123" in s for s in states)  # the secret is no event
    finally:
        muster.close()
    run("webhooks", "remove", webhook_id)
    assert webhook_id not in run("webhooks", "list")


def test_bad_webhooks_and_thresholds_are_refused_with_the_reason(
    env: dict[str, str],  # noqa: F811
) -> None:
    runner = CliRunner()
    bad_rule = runner.invoke(
        main, ["webhooks", "add", "http://x", "--format", "json", "--scope", "P1", "--rules", "x"]
    )
    assert bad_rule.exit_code != 0 and "unknown rule" in bad_rule.output
    bad_scope = runner.invoke(
        main, ["webhooks", "add", "http://x", "--format", "json", "--scope", "NO"]
    )
    assert bad_scope.exit_code != 0 and "unknown org unit NO" in bad_scope.output
    bad_rate = runner.invoke(main, ["alerts", "threshold", "P1", "dept_rate", "1.5"])
    assert bad_rate.exit_code != 0 and "not a valid threshold" in bad_rate.output
    assert "dept_rate = 0.9" in run("alerts", "threshold", "P1", "dept_rate", "0.9")
