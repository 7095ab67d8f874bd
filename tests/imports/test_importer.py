"""Imports on real SQLite and PostgreSQL: all or nothing, upserts, and every bad input named."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from app.bootstrap import Muster
from app.imports.reader import MAX_BYTES
from app.imports.service import ImportResult
from app.settings import Settings
from app.web.import_texts import finding_line
from tests.imports.files import PLANT, day

#: the clock of the test plant (the settings' default)
PLANT_TZ = Settings().plant_tz


def run(muster: Muster, kind: str, text: str | bytes, **kw: object) -> ImportResult:
    data = text.encode() if isinstance(text, str) else text
    return muster.imports.run(kind, data, actor="test", **kw)  # type: ignore[arg-type]


def load(muster: Muster, upto: str = "attendance") -> None:
    for kind, text in PLANT.items():
        result = run(muster, kind, text)
        assert result.applied, [
            finding_line(f, "en", muster.settings.plant_tz) for f in result.errors
        ]
        if kind == upto:
            return


def messages(result: ImportResult) -> list[str]:
    return [finding_line(f, "en", PLANT_TZ) for f in result.errors]


def event_count(muster: Muster) -> int:
    return int(muster.app.recorder.max_notification_id() or 0)


def test_a_plant_loads_from_files_and_the_views_show_it(muster: Muster) -> None:
    load(muster)
    assert muster.runner.wait_until_caught_up(30)
    s1 = muster.store.fetch_one("SELECT * FROM sessions WHERE code = 'S1'")
    assert s1 is not None and s1["expected"] == 3  # team T1 (E1, E2) and position QC (E3)
    s2 = muster.store.fetch_one("SELECT * FROM sessions WHERE code = 'S2'")
    assert s2 is not None and s2["checked_in"] == 2  # the imported paper records
    imported = muster.store.fetch(
        "SELECT employee_no, status, method FROM attendance "
        "WHERE session_id = :id ORDER BY employee_no",
        {"id": s2["id"]},
    )
    assert [(r["employee_no"], r["status"], r["method"]) for r in imported] == [
        ("E1", "present", "paper"),
        ("E4", "late", "paper"),
    ]
    e3 = muster.store.fetch_one("SELECT dept, plant FROM employees WHERE employee_no = 'E3'")
    assert e3 == {"dept": "D1", "plant": "P1"}  # a department is the person's department


def test_reimporting_every_file_changes_nothing(muster: Muster) -> None:
    load(muster)
    before = event_count(muster)
    for kind, text in PLANT.items():
        result = run(muster, kind, text)
        assert (result.applied, result.created, result.updated) == (True, 0, 0), kind
    assert event_count(muster) == before


def test_a_changed_row_is_an_update_and_only_that(muster: Muster) -> None:
    load(muster)
    moved = PLANT["employees"].replace("E2,李四,T1,OP", "E2,李四,D1,QC")
    result = run(muster, "employees", moved)
    assert (result.created, result.updated) == (0, 1)
    later = PLANT["sessions"].replace(
        f"{day(1)}T09:00:00+08:00,{day(1)}T10:00", f"{day(1)}T13:00:00+08:00,{day(1)}T14:00"
    )
    result = run(muster, "sessions", later)
    assert (result.created, result.updated) == (0, 1)
    assert muster.runner.wait_until_caught_up(30)
    s1 = muster.store.fetch_one("SELECT starts_at FROM sessions WHERE code = 'S1'")
    assert s1 == {"starts_at": f"{day(1)}T05:00:00.000000+00:00"}
    assert muster.store.fetch_one("SELECT org_unit FROM employees WHERE employee_no = 'E2'") == {
        "org_unit": "D1"
    }


def test_one_bad_row_changes_nothing(muster: Muster) -> None:
    load(muster, upto="courses")
    before = event_count(muster)
    bad = PLANT["employees"] + "E5,孙七,NOPE,OP,,,,,\n"
    result = run(muster, "employees", bad)
    assert not result.applied
    assert messages(result) == ["line 6: org_code: no org unit “NOPE”"]
    assert event_count(muster) == before


def test_dry_run_reports_and_saves_nothing(muster: Muster) -> None:
    before = event_count(muster)
    result = run(muster, "org", PLANT["org"], dry_run=True)
    assert (result.applied, result.created, result.errors) == (False, 7, [])
    assert event_count(muster) == before


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("org", "code,name\nG,集团\n", ["line 1: kind: required column is missing"]),
        (
            "org",
            "code,name,kind\nG,集团,group\nG,又一个,group\n",
            ["line 3: code: “G” appears twice (first on line 2)"],
        ),
        (
            "org",
            "code,name,kind,parent_code\nP1,一厂,plant,NOWHERE\n",
            [
                "line 2: parent_code: parent org unit “NOWHERE” exists neither in the file "
                "nor in Muster"
            ],
        ),
        (
            "org",
            "code,name,kind,parent_code\nA,甲,workshop,B\nB,乙,workshop,A\n",
            ["line 2: parent_code: the org tree would loop: A → B → A"],
        ),
        (
            "org",
            "code,name,kind\nX,某,factory\n",
            [
                "line 2: kind: “factory” is not allowed; choose one of: "
                "group, company, plant, workshop, department, team"
            ],
        ),
        (
            "courses",
            "code,title,validity_days\nC1,课,-3\n",
            ["line 2: validity_days: “-3” is not a positive whole number"],
        ),
    ],
)
def test_bad_org_and_course_files_are_named_line_by_line(
    muster: Muster, kind: str, text: str, expected: list[str]
) -> None:
    result = run(muster, kind, text)
    assert not result.applied
    assert messages(result) == expected
    assert event_count(muster) == 0


def test_bad_sessions_name_line_and_column(muster: Muster) -> None:
    load(muster, upto="employees")
    text = (
        "code,course_code,plant_code,room,starts_at,ends_at,roster\n"
        f"S1,SAFE,P1,A,{day(1)}T10:00:00+08:00,{day(1)}T09:00:00+08:00,E1\n"
        f"S2,NOPE,P1,A,{day(1)}T10:00:00+08:00,{day(1)}T11:00:00+08:00,E1\n"
        f"S3,SAFE,P1,A,{day(1)} 10:00,{day(1)}T11:00:00+08:00,E1\n"
        f"S4,SAFE,W1,A,{day(1)}T10:00:00+08:00,{day(1)}T11:00:00+08:00,E1\n"
        f"S5,SAFE,P1,A,{day(1)}T10:00:00+08:00,{day(1)}T11:00:00+08:00,E1;GHOST\n"
    )
    result = run(muster, "sessions", text)
    assert messages(result) == [
        "line 2: ends_at: the end must be after the start",
        "line 3: course_code: no course “NOPE”",
        f"line 4: starts_at: “{day(1)} 10:00” has no UTC offset: write it like "
        "2026-12-08T09:00:00+08:00",  # the message's fixed example
        "line 5: plant_code: “W1” is not a plant",
        "line 6: roster: “GHOST” is neither a current employee number, nor an org code, "
        "nor position:CODE",
    ]


def test_a_file_in_the_wrong_encoding_is_refused_with_its_line(muster: Muster) -> None:
    text = "code,name,kind\nG,集团,group\nP1,一厂,plant\n".encode("gbk")
    result = run(muster, "org", text)
    assert not result.applied
    assert messages(result)[0].startswith("line 2: the file is not UTF-8")
    assert event_count(muster) == 0


def test_a_too_large_file_is_refused_before_it_is_read(muster: Muster) -> None:
    data = b"code,name,kind\n" + b"x" * (50 * 1024 * 1024)
    assert len(data) > MAX_BYTES
    result = run(muster, "org", data)
    assert messages(result) == [
        "line 1: the file is 50.0 MB, more than 32 MB: split it into several files"
    ]


def test_xlsx_and_csv_with_bom_load_the_same(muster: Muster) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in PLANT["org"].splitlines():
        sheet.append(line.split(","))
    out = io.BytesIO()
    book.save(out)
    result = run(muster, "org", out.getvalue(), filename="org.xlsx")
    assert (result.applied, result.created) == (True, 7)
    again = run(muster, "org", "\ufeff" + PLANT["org"])
    assert (again.applied, again.created, again.updated) == (True, 0, 0)


def test_a_head_named_by_a_later_reimport_is_assigned(muster: Muster) -> None:
    load(muster, upto="employees")
    with_heads = PLANT["org"].replace("W1,冲压车间,workshop,P1,", "W1,冲压车间,workshop,P1,E1")
    result = run(muster, "org", with_heads)
    assert (result.applied, result.updated) == (True, 1)
    assert muster.runner.wait_until_caught_up(30)
    assert muster.store.fetch("SELECT code, head_employee_no FROM org_heads") == [
        {"code": "W1", "head_employee_no": "E1"}
    ]
