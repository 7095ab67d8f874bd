"""The demo plant: a group with two plants, 300 workers, 12 courses and today's sessions."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.bootstrap import Muster
from app.domain.ids import natural_id

ACTOR = "demo"
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
POSITIONS = [
    ("OP", "操作工"),
    ("WELDER", "焊工"),
    ("FORK", "叉车司机"),
    ("QC", "质检员"),
    ("MAINT", "设备维修工"),
    ("LEAD", "班组长"),
]
COURSES: list[tuple[str, str, str, int, int | None]] = [
    ("SAFE-101", "安全生产基础", "safety", 60, 12),
    ("FIRE-102", "消防安全与疏散演练", "safety", 45, 12),
    ("FORK-201", "叉车安全操作", "safety", 90, 24),
    ("ROBOT-301", "焊接机器人操作规范", "equipment", 120, None),
    ("LEAN-5S", "精益生产 5S 管理", "lean", 60, None),
    ("QUAL-110", "质量意识与缺陷预防", "quality", 60, 24),
    ("CHEM-120", "危险化学品安全（MSDS）", "safety", 60, 12),
    ("ELEC-130", "电气安全与上锁挂牌", "safety", 90, 12),
    ("PPE-140", "个人防护用品正确使用", "safety", 30, 12),
    ("AID-150", "急救与心肺复苏", "safety", 120, 24),
    ("SOP-210", "标准作业程序 SOP", "lean", 45, None),
    ("ESD-220", "静电防护 ESD", "quality", 45, 24),
]
ROOMS = {
    "SZ1": ["一厂培训室A", "一厂培训室B", "一厂会议室", "冲压车间现场"],
    "SZ2": ["二厂培训室A", "二厂培训室B", "涂装车间现场"],
}
DEMO_USERS = [
    ("admin", "admin", "XC", "muster-admin"),
    ("hr", "hr", "XC", "muster-hr"),
    ("sz1-hr", "hr", "SZ1", "muster-sz1"),
]


@dataclass
class DemoPlant:
    """What the simulator needs: device tokens per plant and the live sessions."""

    device_tokens: dict[str, str]
    sessions: list[dict[str, Any]]
    badges: dict[str, str]


def _teams() -> list[tuple[str, str, str]]:
    return [
        (f"{ws}-T{i + 1}", TEAM_NAMES[i], ws)
        for ws, n in TEAMS_PER_WORKSHOP.items()
        for i in range(n)
    ]


def _employees(count: int, rng: random.Random) -> list[dict[str, Any]]:
    teams = _teams()
    people = []
    for n in range(count):
        team = teams[n % len(teams)]
        given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
        people.append(
            {
                "employee_no": f"E{10001 + n}",
                "name": rng.choice(SURNAMES) + given,
                "org_unit": team[0],
                "position": rng.choice(POSITIONS)[0],
                "shift": rng.choice(["早班", "中班", "夜班"]),
                "badge_uid": f"04{rng.getrandbits(48):012X}",
            }
        )
    return people


def load(muster: Muster, employees: int = 300, seed: int = 7) -> DemoPlant:
    """Create the demo organisation once, then (re)issue devices and today's live sessions."""
    app = muster.app
    rng = random.Random(seed)
    people = _employees(employees, rng)
    if app.get_or_none(natural_id("org", "XC")) is None:
        for code, name, kind, parent in ORG:
            app.register_org_unit(code, name, kind, parent, ACTOR)
        for code, name, ws in _teams():
            app.register_org_unit(code, name, "team", ws, ACTOR)
        for code, name in POSITIONS:
            app.register_position(code, name, ACTOR)
        for code, name, kind, minutes, validity in COURSES:
            app.register_course(code, name, kind, minutes, validity, ACTOR)
        app.hire_employees(people, ACTOR)
    for login, role, scope, password in DEMO_USERS:
        app.add_user(login, role, scope, ACTOR, password=password)
    tokens = {}
    for plant, rooms in ROOMS.items():
        for i, room in enumerate(rooms):
            tokens[room] = app.register_device(
                f"{plant}-tablet-{i + 1}", room, plant, "tablet", ACTOR
            )
    sessions = _schedule_wave(muster, people, rng)
    return DemoPlant(tokens, sessions, {p["employee_no"]: p["badge_uid"] for p in people})


def _schedule_wave(
    muster: Muster, people: list[dict[str, Any]], rng: random.Random
) -> list[dict[str, Any]]:
    """Seven sessions starting around now (several running at once), plus the day's others."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    wave = now.strftime("%Y%m%d%H%M")
    by_plant: dict[str, list[dict[str, Any]]] = {"SZ1": [], "SZ2": []}
    for p in people:
        by_plant["SZ1" if p["org_unit"].startswith("SZ1") else "SZ2"].append(p)
    plan = [  # (plant, room index, course, start offset minutes, length minutes)
        ("SZ1", 0, "SAFE-101", -8, 60),
        ("SZ1", 1, "ROBOT-301", -4, 90),
        ("SZ1", 2, "LEAN-5S", 2, 60),
        ("SZ1", 3, "FORK-201", 6, 90),
        ("SZ2", 0, "CHEM-120", -6, 60),
        ("SZ2", 1, "QUAL-110", 0, 60),
        ("SZ2", 2, "PPE-140", 9, 45),
        ("SZ1", 0, "FIRE-102", 120, 45),
        ("SZ2", 0, "ESD-220", 150, 45),
        ("SZ1", 1, "AID-150", -180, 120),
    ]
    sessions = []
    for n, (plant, room_index, course, offset, length) in enumerate(plan):
        pool = by_plant[plant]
        size = rng.randint(24, 40)
        roster = rng.sample(pool, size)
        if n % 3 == 0:  # cross-plant trainees
            other = by_plant["SZ2" if plant == "SZ1" else "SZ1"]
            roster += rng.sample(other, 3)
        starts = now + timedelta(minutes=offset)
        code = f"{wave}-{n + 1:02d}"
        room = ROOMS[plant][room_index]
        trainer = rng.choice(["陈老师", "刘工", "王主管", "赵工程师"])
        sid = natural_id("session", code)
        # A restart within the same minute finds this wave already scheduled: reuse it.
        if muster.app.get_or_none(sid) is None:
            muster.app.schedule_session(
                code,
                course,
                plant,
                room,
                trainer,
                starts,
                starts + timedelta(minutes=length),
                [p["employee_no"] for p in roster],
                ACTOR,
            )
            if offset <= 0:
                muster.app.start_session(sid, ACTOR)
            if offset + length <= 0:
                muster.app.end_session(sid, ACTOR)
        sessions.append(
            {
                "id": str(sid),
                "plant": plant,
                "room": room,
                "starts_at": starts,
                "ends_at": starts + timedelta(minutes=length),
                "roster": [p["employee_no"] for p in roster],
            }
        )
    return sessions
