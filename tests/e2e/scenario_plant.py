"""A plant set up the way plant IT sets one up, for the cheating scenarios: the org, courses
and people imported with `muster import`, logins and tablets added with `muster users add` and
`muster devices add` (their one-time passwords and tokens read from what the commands print),
then the server started on that store and the sessions imported over HTTP. Everything after
that goes through CONTRACT.md: device tokens, employees' own tokens, `GET /api/v1/anomalies`."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from app.cli import main

ORG = """code,name,kind,parent_code,head_employee_no
G,演练集团,group,,
P1,一厂,plant,G,
P2,二厂,plant,G,
W1,冲压车间,workshop,P1,
W2,注塑车间,workshop,P2,
"""
COURSES = """code,title,duration_minutes,validity_days,materials
SAFE,安全生产基础,60,365,
"""
#: ten people of plant 1 with badges, two of plant 2
EMPLOYEES = "employee_no,name,org_code,position_code,badge_uid\n" + "".join(
    f"E{n:02d},员工{n:02d},{'W1' if n <= 10 else 'W2'},,BADGE-{n:02d}\n" for n in range(1, 13)
)
#: tablets: two rooms of plant 1, one of plant 2; room A's second tablet was registered
#: with its name typed in full-width characters and an ideographic space
DEVICES = {
    "tablet-a": ("培训室A", "P1"),
    "tablet-a-wide": ("培训室\u3000Ａ", "P1"),
    "tablet-b": ("培训室B", "P1"),
    "tablet-p2": ("二厂培训室", "P2"),
}
#: employees with a login of their own (phones)
PHONE_PEOPLE = ("E01", "E02", "E03", "E04")


def cli(*args: str) -> str:
    """`muster ARGS…` in this process, against the store the environment names."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def printed(pattern: str, output: str) -> str:
    found = re.search(pattern, output)
    assert found is not None, output
    return found.group(1)


@dataclass
class SetUp:
    """What the commands printed: passwords of the logins, tokens of the tablets."""

    passwords: dict[str, str] = field(default_factory=dict)
    devices: dict[str, str] = field(default_factory=dict)


def set_up_with_cli(tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> SetUp:
    """Import the org, courses and people and add the logins and tablets, before any server
    runs (the commands build their own system on the store ``env`` names)."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    files = tmp_path / "import"
    files.mkdir()
    for kind, text in (("org", ORG), ("courses", COURSES), ("employees", EMPLOYEES)):
        path = files / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        assert "applied" in cli("import", kind, str(path))
    done = SetUp()
    out = cli("users", "add", "hr", "--role", "hr", "--scope", "G")
    done.passwords["hr"] = printed(r"one-time password: (\S+)", out)
    for no in PHONE_PEOPLE:
        login = no.lower()
        out = cli("users", "add", login, "--role", "employee", "--scope", "W1", "--employee", no)
        done.passwords[login] = printed(r"one-time password: (\S+)", out)
    for name, (room, plant) in DEVICES.items():
        out = cli("devices", "add", name, "--room", room, "--plant", plant)
        done.devices[name] = printed(r"token \(shown once\): (\S+)", out)
    return done


def token(url: str, login: str, password: str) -> str:
    reply = httpx.post(f"{url}/api/v1/auth/token", json={"login": login, "password": password})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["token"])


def sessions_csv(now: datetime) -> str:
    """Sessions around ``now``: one running in room A, one about to start in room B (its
    check-in open), one in three hours and one that ended an hour ago (room A), one in
    plant 2."""

    def at(minutes: int) -> str:
        return (now + timedelta(minutes=minutes)).isoformat(timespec="seconds")

    rows = [
        ("S-NOW", "P1", "培训室A", -5, 55, "W1"),
        ("S-SOON", "P1", "培训室B", 10, 70, "W1"),
        ("S-LATER", "P1", "培训室A", 180, 240, "W1"),
        ("S-DONE", "P1", "培训室A", -120, -60, "W1"),
        ("S-P2", "P2", "二厂培训室", -5, 55, "W2"),
    ]
    lines = ["code,course_code,plant_code,room,starts_at,ends_at,trainer,roster,capacity"]
    for code, plant, room, start, end, roster in rows:
        lines.append(f"{code},SAFE,{plant},{room},{at(start)},{at(end)},陈老师,{roster},40")
    return "\n".join(lines) + "\n"


class Plant:
    """The running plant as a script sees it: session ids by code, tokens by name."""

    def __init__(self, url: str, setup: SetUp) -> None:
        self.url = url
        self.hr = token(url, "hr", setup.passwords["hr"])
        self.devices = setup.devices
        self.import_sessions(sessions_csv(datetime.now(UTC)))
        self.sessions = {
            code: self.session_id(code) for code in ("S-NOW", "S-SOON", "S-LATER", "S-DONE", "S-P2")
        }
        self.phones = {
            no: token(url, no.lower(), setup.passwords[no.lower()]) for no in PHONE_PEOPLE
        }

    @staticmethod
    def auth(bearer: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {bearer}"}

    def session_id(self, code: str) -> str:
        """`GET /api/v1/sessions?code=`, as a script finds a session it imported."""
        for _ in range(100):
            reply = httpx.get(
                f"{self.url}/api/v1/sessions", params={"code": code}, headers=self.auth(self.hr)
            )
            assert reply.status_code == 200, reply.text
            found = reply.json()["sessions"]
            if found:
                return str(found[0]["id"])
            time.sleep(0.1)
        raise AssertionError(f"session {code} not found after its import")

    def import_sessions(self, csv: str) -> dict[str, Any]:
        """`POST /api/v1/imports/sessions` with a CSV, as plant IT's scripts do."""
        reply = httpx.post(
            f"{self.url}/api/v1/imports/sessions",
            headers=self.auth(self.hr),
            files={"file": ("sessions.csv", csv.encode(), "text/csv")},
            timeout=60,
        )
        assert reply.status_code == 200 and reply.json()["applied"] is True, reply.text
        return dict(reply.json())

    def check_in(
        self, device: str, session: str, body: dict[str, Any], *, at: datetime | None = None
    ) -> httpx.Response:
        """One check-in by a tablet (``device``: its name) for session ``session`` (a code)."""
        item = {
            "client_event_id": str(uuid.uuid4()),
            "session_id": self.sessions[session],
            "device_time": (at or datetime.now(UTC)).isoformat(),
            **body,
        }
        return httpx.post(
            f"{self.url}/api/v1/checkins",
            headers=self.auth(self.devices[device]),
            json=item,
            timeout=60,
        )

    def badge(self, device: str, session: str, no: str, **extra: Any) -> httpx.Response:
        return self.check_in(
            device, session, {"method": "badge", "badge_uid": f"BADGE-{no[1:]}", **extra}
        )

    def batch(self, device: str, items: list[dict[str, Any]], **extra: Any) -> list[dict[str, Any]]:
        """An offline tablet's queue, synced at once."""
        reply = httpx.post(
            f"{self.url}/api/v1/checkins/batch",
            headers=self.auth(self.devices[device]),
            json={"items": items, **extra},
            timeout=60,
        )
        assert reply.status_code == 200, reply.text
        return list(reply.json()["results"])

    def queued(self, session: str, no: str, device_time: datetime) -> dict[str, Any]:
        return {
            "client_event_id": str(uuid.uuid4()),
            "session_id": self.sessions[session],
            "method": "badge",
            "badge_uid": f"BADGE-{no[1:]}",
            "device_time": device_time.isoformat(),
        }

    def room_qr(self, device: str, session: str) -> str:
        """What the QR on the room screen encodes now (the room's own tablet may ask)."""
        reply = httpx.get(
            f"{self.url}/api/v1/sessions/{self.sessions[session]}/qr",
            headers=self.auth(self.devices[device]),
        )
        assert reply.status_code == 200, reply.text
        return str(reply.json()["qr_token"])

    def phone(self, no: str, session: str, qr_token: str, phone_id: str) -> httpx.Response:
        """A phone check-in: the employee's own token, the scanned QR, the phone's id."""
        return httpx.post(
            f"{self.url}/api/v1/checkins",
            headers=self.auth(self.phones[no]),
            json={
                "client_event_id": str(uuid.uuid4()),
                "session_id": self.sessions[session],
                "method": "qr",
                "qr_token": qr_token,
                "phone_id": phone_id,
                "device_time": datetime.now(UTC).isoformat(),
            },
            timeout=30,
        )

    def photo(self, device: str, session: str, data: bytes, device_time: datetime | None) -> str:
        """A room photo uploaded by a tablet (``device_time`` None: the device says none)."""
        form = {
            "session_id": self.sessions[session],
            "kind": "room",
            "client_event_id": str(uuid.uuid4()),
        }
        if device_time is not None:
            form["device_time"] = device_time.isoformat()
        reply = httpx.post(
            f"{self.url}/api/v1/photos",
            headers=self.auth(self.devices[device]),
            data=form,
            files={"file": ("room.jpg", data, "image/jpeg")},
            timeout=60,
        )
        assert reply.status_code == 201, reply.text
        return str(reply.json()["photo_id"])
