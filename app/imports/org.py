"""`org`: the org tree. Parents before children; a head may be named by a later re-import."""

from __future__ import annotations

from collections.abc import Sequence

from app.domain.org import OrgKind, OrgUnit, child_kind_allowed
from app.imports.base import Context, ImportKind, Plan, Row, columns, first_lines

COLUMNS = columns(("code", "name", "kind"), ("parent_code", "head_employee_no"))


def plan(rows: Sequence[Row], ctx: Context) -> Plan:
    result = Plan()
    by_code = first_lines(rows, "code", result)
    kinds: dict[str, OrgKind] = {}
    for code, row in by_code.items():
        if not row["name"]:
            result.error(row.line, "name", "import.required")
        try:
            kinds[code] = OrgKind(row["kind"].lower())
        except ValueError:
            result.error(
                row.line, "kind", "import.bad_choice", value=row["kind"], choices=_choices()
            )
    order = _parents_first(by_code, ctx, result)
    for code in ctx.each(order):
        if code in kinds:
            _plan_unit(by_code[code], kinds[code], kinds, ctx, result)
    return result


def _choices() -> str:
    return ", ".join(k.value for k in OrgKind)


def _parents_first(by_code: dict[str, Row], ctx: Context, result: Plan) -> list[str]:
    """Codes ordered so every parent comes before its children; unknown parents and cycles
    are errors on the rows that name them."""
    order: list[str] = []
    state: dict[str, str] = {}  # "visiting" | "done" | "bad"

    def visit(code: str, path: list[str]) -> bool:
        if state.get(code) == "done":
            return True
        if state.get(code) == "bad":
            return False
        if state.get(code) == "visiting":
            cycle = [*path[path.index(code) :], code]
            row = by_code[code]
            result.error(row.line, "parent_code", "import.org_cycle", cycle=" → ".join(cycle))
            for member in cycle:
                state[member] = "bad"
            return False
        state[code] = "visiting"
        parent = by_code[code]["parent_code"]
        ok = True
        if parent and parent not in by_code and ctx.get("org", parent) is None:
            result.error(by_code[code].line, "parent_code", "import.unknown_parent", value=parent)
            ok = False
        elif parent in by_code:
            ok = visit(parent, [*path, code])
        if state.get(code) == "bad":
            return False
        state[code] = "done" if ok else "bad"
        if ok:
            order.append(code)
        return ok

    for code in by_code:
        visit(code, [])
    return order


def _plan_unit(
    row: Row, kind: OrgKind, kinds: dict[str, OrgKind], ctx: Context, result: Plan
) -> None:
    code, parent = row["code"], row.optional("parent_code")
    parent_kind = kinds.get(parent) if parent else None
    if parent and parent_kind is None:
        stored = ctx.get("org", parent)
        parent_kind = OrgKind(stored.kind) if stored is not None else None
    if not child_kind_allowed(parent_kind, kind):
        result.error(row.line, "kind", "import.kind_under", kind=kind.value, parent=parent_kind)
        return
    head = row.optional("head_employee_no")
    if head and ctx.get("employee", head) is None:
        result.error(row.line, "head_employee_no", "import.unknown_employee", value=head)
        return
    unit: OrgUnit | None = ctx.get("org", code)
    new = unit is None
    if unit is None:
        unit = OrgUnit(
            code=code, name=row["name"], kind=kind.value, parent_code=parent, actor=ctx.actor
        )
    else:
        if unit.parent_code != parent or unit.kind != kind.value:
            result.error(row.line, "parent_code", "import.org_moved", value=code)
            return
        if unit.name != row["name"]:
            unit.rename(name=row["name"], actor=ctx.actor)
    # a blank head leaves the head as it is: the first file often comes before the people
    if head and head != unit.head_employee_no:
        unit.assign_head(head_employee_no=head, actor=ctx.actor)
    result.keep(unit, new=new)


ORG = ImportKind(
    "org",
    COLUMNS,
    plan,
    example={"code": "SZ1", "name": "苏州一厂", "kind": "plant", "parent_code": "XC-AUTO"},
)
