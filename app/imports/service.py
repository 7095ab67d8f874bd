"""Running an import: read, plan, and apply all or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from eventsourcing.persistence import IntegrityError

from app.application import Training
from app.domain.conflicts import DEFAULT_TEAM_SHARE
from app.domain.rules import WindowPolicy
from app.imports import KINDS
from app.imports.base import Context, Finding, Plan, Progress
from app.imports.reader import read, read_table
from app.imports.scope import outside_scope
from app.projections.runner import ProjectionRunner
from app.services.planning import PlanningWindow
from app.stores.base import ReadStore
from app.stores.commit import GroupCommitter

log = structlog.get_logger(__name__)

#: how long an import waits for the read models to show earlier imports (rosters, names)
CATCH_UP_S = 120.0


class UnknownImportKindError(LookupError):
    """The kind is not one of `app.imports.KINDS`."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"unknown import kind {kind!r}; known: {', '.join(KINDS)}")
        self.kind = kind


@dataclass
class ImportResult:
    """What an import did (or, dry run or refused, would have done)."""

    kind: str
    applied: bool
    rows: int
    created: int = 0
    updated: int = 0
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    #: rows naming org units, people or sessions outside the importer's scope (refused)
    outside: list[Finding] = field(default_factory=list)


@dataclass
class Importer:
    """Applies import files through the group committer: one transaction per file."""

    app: Training
    store: ReadStore
    committer: GroupCommitter
    runner: ProjectionRunner
    policy: WindowPolicy
    team_share: float = DEFAULT_TEAM_SHARE
    #: the metrics service, for the `metrics` kind (its own event log)
    metrics: Any = None

    def run(
        self,
        kind: str,
        data: bytes,
        *,
        filename: str = "",
        dry_run: bool = False,
        actor: str,
        progress: Progress | None = None,
        scope: str | None = None,
    ) -> ImportResult:
        """Import `data` as `kind`. Call from a worker thread (it reads and writes the stores).
        With `scope` (an org path), a file with rows outside that subtree is refused whole."""
        spec = KINDS.get(kind)
        if spec is None:
            raise UnknownImportKindError(kind)
        # kinds with many rows (metrics) are read as columns, the others as rows
        table = read_table(data, spec.columns, filename) if spec.plan_table else None
        sheet = read(data, spec.columns, filename) if table is None else None
        errors = table.errors if table is not None else sheet.errors if sheet else []
        count = len(table.lines) if table is not None else len(sheet.rows) if sheet else 0
        if errors:
            return ImportResult(kind, False, count, errors=errors)
        self.runner.wait_until_caught_up(CATCH_UP_S)
        if scope is not None:
            rows = table.rows() if table is not None else sheet.rows if sheet else []
            outside = outside_scope(kind, rows, self.store, scope)
            if outside:
                return ImportResult(kind, False, count, outside=outside)
        ctx = Context(
            self.app,
            self.store,
            actor,
            datetime.now(UTC),
            policy=self.policy,
            progress=progress,
            planning=lambda start, end: PlanningWindow.load(self.store, start, end),
            team_share=self.team_share,
            metrics=self.metrics,
        )
        if spec.plan_table is not None and table is not None:
            plan = spec.plan_table(table, ctx)
        else:
            plan = spec.plan(sheet.rows if sheet else [], ctx)
        result = _result(kind, count, plan)
        if plan.errors or dry_run or not (plan.changed or spec.apply):
            result.applied = not plan.errors and not dry_run
            return result
        if spec.apply is not None:  # a kind with its own event log records itself
            spec.apply(plan, ctx)
            result = _result(kind, count, plan)
            result.applied = True
            log.info("imported", kind=kind, rows=result.rows, created=plan.created)
            return result
        try:
            self.committer.submit(*plan.changed).result()
        except IntegrityError:
            # someone created one of these records meanwhile: nothing of this file was saved
            result.errors = [Finding(1, "", "import.changed_meanwhile")]
            return result
        result.applied = True
        log.info(
            "imported", kind=kind, rows=result.rows, created=plan.created, updated=plan.updated
        )
        self.runner.wait_until_caught_up(CATCH_UP_S)
        return result


def _result(kind: str, rows: int, plan: Plan) -> ImportResult:
    errors = sorted(plan.errors, key=lambda f: f.line)
    return ImportResult(
        kind,
        False,
        rows,
        plan.created,
        plan.updated,
        errors,
        sorted(plan.warnings, key=lambda f: f.line),
    )
