"""`muster export audit`: the events of a period as hash-chained JSON lines, each with who
did it (actor, role, device or IP), then a closing line; the export itself is recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from app.audit.chain import chain
from app.audit.log import event_record, read_positions
from app.domain.audit import AuditExport, DataExport
from app.stores.base import iso

PAGE = 1000


def _entries(muster: Any, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    store, app = muster.store, muster.app
    after = 0
    while True:
        rows = store.fetch(
            "SELECT position, at, event, actor, role, via FROM audit_log WHERE at >= :start "
            "AND at < :end AND position > :after ORDER BY position LIMIT :n",
            {"start": iso(start), "end": iso(end), "after": after, "n": PAGE},
        )
        if not rows:
            return
        by_position = {int(r["position"]): r for r in rows}
        for notification in read_positions(app.recorder, sorted(by_position)):
            row = by_position.get(notification.id)
            if row is None:
                continue
            yield {
                "kind": "event",
                "position": notification.id,
                "at": row["at"],
                "event": row["event"],
                "actor": row["actor"],
                "role": row["role"],
                "via": row["via"],
                "record": event_record(app.mapper, notification),
            }
        after = int(rows[-1]["position"])


def export_audit(
    muster: Any, start: datetime, end: datetime, out: TextIO, actor: str, via: str
) -> tuple[int, str]:
    """Write the period [start, end) to `out`; returns (lines, last hash). The export is
    recorded as an `AuditExported` event naming `actor`."""
    muster.runner.run_once()
    header = {
        "kind": "audit-export",
        "from": iso(start),
        "to": iso(end),
        "exported_at": iso(datetime.now(UTC)),
        "exported_by": actor,
    }
    count, last = 0, ""

    def entries() -> Iterator[dict[str, Any]]:
        nonlocal count
        yield header
        for entry in _entries(muster, start, end):
            count += 1
            yield entry
        yield {"kind": "end", "events": count, "lines": count + 2}

    lines = 0
    for line in chain(entries()):
        out.write(line + "\n")
        lines += 1
        last = line
    last = str(json.loads(last)["hash"])
    muster.app.save(
        AuditExport(
            period_from=iso(start),
            period_to=iso(end),
            lines=lines,
            last_hash=last,
            actor=actor,
            actor_role="operator",
            via=via,
        )
    )
    return lines, last


def record_export(
    app: Any, kind: str, fmt: str, query: dict[str, str], rows: int, scope: str, actor: str
) -> None:
    """Record that `actor` took a `kind` export (`fmt`, chosen by `query`, `rows` rows, of
    the org unit `scope`) out of the system. Blocking: call it from a worker thread."""
    app.save(
        DataExport(
            kind=kind,
            format=fmt,
            query={k: str(v)[:200] for k, v in list(query.items())[:20]},
            rows=rows,
            scope=scope,
            actor=actor,
        )
    )
