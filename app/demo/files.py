"""The demo plant as import files: the same CSV columns a real plant fills in.

The organisation, positions, courses and 300 employees are committed under
`app/demo/data/` (regenerate with `python -m app.demo.files`); training history and
today's sessions depend on the date and are written next to the demo's database.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
PLANT_TZ = timezone(timedelta(hours=8))
STATIC_EMPLOYEES = 300

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
    "许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英文华建国"
    "红梅海燕志强春梅晓东丹丹鹏飞宇航子涵浩然欣怡雨轩思远佳琪俊杰"
)
ORG: list[tuple[str, str, str, str | None]] = [
    ("XC", "星辰制造集团", "group", None),
    ("XC-AUTO", "星辰汽车零部件有限公司", "company", "XC"),
    ("SZ1", "苏州一厂", "plant", "XC-AUTO"),
    ("SZ2", "苏州二厂", "plant", "XC-AUTO"),
    ("SZ1-STAMP", "冲压车间", "workshop", "SZ1"),
    ("SZ1-WELD", "焊装车间", "workshop", "SZ1"),
    ("SZ1-ASSY", "总装车间", "workshop", "SZ1"),
    ("SZ2-MOLD", "注塑车间", "workshop", "SZ2"),
    ("SZ2-PAINT", "涂装车间", "workshop", "SZ2"),
    ("SZ2-QC", "质检车间", "workshop", "SZ2"),
]
TEAMS_PER_WORKSHOP = {
    "SZ1-STAMP": 3,
    "SZ1-WELD": 4,
    "SZ1-ASSY": 4,
    "SZ2-MOLD": 3,
    "SZ2-PAINT": 3,
    "SZ2-QC": 3,
}
TEAM_NAMES = ["甲班", "乙班", "丙班", "丁班"]
#: (code, name, mandatory courses)
POSITIONS: list[tuple[str, str, tuple[str, ...]]] = [
    ("OP", "操作工", ("SAFE-101", "FIRE-102", "PPE-140")),
    ("WELDER", "焊工", ("SAFE-101", "FIRE-102", "PPE-140", "ROBOT-301")),
    ("FORK", "叉车司机", ("SAFE-101", "FORK-201")),
    ("QC", "质检员", ("SAFE-101", "QUAL-110", "ESD-220")),
    ("MAINT", "设备维修工", ("SAFE-101", "ELEC-130", "CHEM-120")),
    ("LEAD", "班组长", ("SAFE-101", "FIRE-102", "AID-150")),
]
#: (code, title, minutes, validity in days or None)
COURSES: list[tuple[str, str, int, int | None]] = [
    ("SAFE-101", "安全生产基础", 60, 365),
    ("FIRE-102", "消防安全与疏散演练", 45, 365),
    ("FORK-201", "叉车安全操作", 90, 730),
    ("ROBOT-301", "焊接机器人操作规范", 120, None),
    ("LEAN-5S", "精益生产 5S 管理", 60, None),
    ("QUAL-110", "质量意识与缺陷预防", 60, 730),
    ("CHEM-120", "危险化学品安全（MSDS）", 60, 365),
    ("ELEC-130", "电气安全与上锁挂牌", 90, 365),
    ("PPE-140", "个人防护用品正确使用", 30, 365),
    ("AID-150", "急救与心肺复苏", 120, 730),
    ("SOP-210", "标准作业程序 SOP", 45, None),
    ("ESD-220", "静电防护 ESD", 45, 730),
]
ROOMS = {
    "SZ1": ["一厂培训室A", "一厂培训室B", "一厂会议室", "冲压车间现场"],
    "SZ2": ["二厂培训室A", "二厂培训室B", "涂装车间现场"],
}
TRAINERS = ["陈老师", "刘工", "王主管", "赵工程师"]
#: how long ago (days) each mandatory course was held before today, per plant
HISTORY_DAYS_AGO = (420, 330, 200, 90, 20)


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text (UTF-8 when encoded) with `header` as its first line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue()


def teams() -> list[tuple[str, str, str]]:
    return [
        (f"{ws}-T{i + 1}", TEAM_NAMES[i], ws)
        for ws, n in TEAMS_PER_WORKSHOP.items()
        for i in range(n)
    ]


def org_csv() -> str:
    units = [*ORG, *((code, name, "team", ws) for code, name, ws in teams())]
    return to_csv(["code", "name", "kind", "parent_code"], units)


def positions_csv() -> str:
    return to_csv(
        ["code", "name", "mandatory_courses"], [(c, n, ";".join(m)) for c, n, m in POSITIONS]
    )


def courses_csv() -> str:
    return to_csv(
        ["code", "title", "duration_minutes", "validity_days"],
        [(c, t, m, v) for c, t, m, v in COURSES],
    )


def employees(count: int, seed: int = 7) -> list[dict[str, str]]:
    """`count` people spread over the teams; the first n of any count are the same people."""
    rng = random.Random(seed)
    all_teams = teams()
    people = []
    for n in range(count):
        team = all_teams[n % len(all_teams)]
        given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
        people.append(
            {
                "employee_no": f"E{10001 + n}",
                "name": rng.choice(SURNAMES) + given,
                "org_code": team[0],
                "position_code": rng.choice(POSITIONS)[0],
                "badge_uid": f"04{rng.getrandbits(48):012X}",
            }
        )
    return people


EMPLOYEE_COLUMNS = ["employee_no", "name", "org_code", "position_code", "badge_uid"]


def employees_csv(people: Sequence[dict[str, str]]) -> str:
    return to_csv(EMPLOYEE_COLUMNS, [[p[c] for c in EMPLOYEE_COLUMNS] for p in people])


def plant_of(person: dict[str, str]) -> str:
    return "SZ1" if person["org_code"].startswith("SZ1") else "SZ2"


SESSION_COLUMNS = [
    "code",
    "course_code",
    "plant_code",
    "room",
    "starts_at",
    "ends_at",
    "trainer",
    "roster",
    "capacity",
]


def history(people: Sequence[dict[str, str]], today: datetime, seed: int = 3) -> tuple[str, str]:
    """(sessions CSV, attendance CSV): each mandatory course held five times over the past
    fourteen months in each plant; most people attended one sitting, some none — so the
    compliance matrix shows people done, due soon, overdue and never trained."""
    rng = random.Random(seed)
    required = {code: set(courses) for code, _, courses in POSITIONS}
    minutes = {code: m for code, _, m, _ in COURSES}
    sessions, attendance = [], []
    for plant, rooms in ROOMS.items():
        pool = [p for p in people if plant_of(p) == plant]
        for index, (course, *_rest) in enumerate(COURSES):
            takers = [p for p in pool if course in required[p["position_code"]]]
            if not takers:
                continue
            sittings: dict[int, list[str]] = {days: [] for days in HISTORY_DAYS_AGO}
            for p in takers:
                if rng.random() < 0.12:
                    continue  # never trained
                sittings[rng.choice(HISTORY_DAYS_AGO)].append(p["employee_no"])
            for days, roster in sittings.items():
                if not roster:
                    continue
                day = (today - timedelta(days=days + index)).astimezone(PLANT_TZ)
                starts = day.replace(hour=8 + 2 * (index // len(rooms)), minute=0, second=0)
                starts = starts.replace(microsecond=0)
                ends = starts + timedelta(minutes=minutes[course])
                code = f"H-{plant}-{course}-{starts:%Y%m%d}"
                room = rooms[index % len(rooms)]
                sessions.append(
                    (
                        code,
                        course,
                        plant,
                        room,
                        starts.isoformat(),
                        ends.isoformat(),
                        TRAINERS[index % len(TRAINERS)],
                        ";".join(roster),
                        len(roster),
                    )
                )
                for no in roster:
                    arrived = starts + timedelta(minutes=rng.randint(-10, 5))
                    attendance.append((code, no, arrived.isoformat(), "paper", "纸质签到表"))
    return (
        to_csv(SESSION_COLUMNS, sessions),
        to_csv(["session_code", "employee_no", "checked_in_at", "method", "note"], attendance),
    )


def write_static() -> None:
    """Regenerate the committed files (run once when the demo organisation changes)."""
    DATA.mkdir(exist_ok=True)
    (DATA / "org.csv").write_text(org_csv(), encoding="utf-8")
    (DATA / "positions.csv").write_text(positions_csv(), encoding="utf-8")
    (DATA / "courses.csv").write_text(courses_csv(), encoding="utf-8")
    (DATA / "employees.csv").write_text(
        employees_csv(employees(STATIC_EMPLOYEES)), encoding="utf-8"
    )


if __name__ == "__main__":
    write_static()
