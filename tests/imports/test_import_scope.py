"""A login scoped to one plant imports rows of its own plant only: a file with a row of
another plant is refused whole (403 problem details naming the line), nothing applied."""

from __future__ import annotations

import pytest

from tests.conftest import LiveServer
from tests.e2e.test_api import assert_problem, login
from tests.imports.files import day
from tests.imports.test_import_api import hr_client, load_over_http, post


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_plant_scoped_login_cannot_import_rows_of_another_plant(server: LiveServer) -> None:
    with hr_client(server) as hr:
        load_over_http(hr)
    server.muster.app.add_user("p1-hr", "hr", "P1", "test", password="p1-password")
    assert server.muster.runner.wait_until_caught_up(30)
    with login(server, "p1-hr", "p1-password") as p1:
        hire = "employee_no,name,org_code\nE7,新人,T1\nE8,外厂新人,W3\n"
        reply = post(p1, "employees", hire)
        body = assert_problem(reply, 403, "forbidden")
        assert body["detail"].startswith("line 3: org_code: ")
        assert [(e["line"], e["column"]) for e in body["errors"]] == [(3, "org_code")]
        assert body["applied"] is False
        assert server.muster.store.fetch("SELECT 1 FROM employees WHERE employee_no = 'E7'") == []

        # taking another plant's person into one's own unit is refused on the person
        steal = "employee_no,name,org_code\nE4,赵六,T1\n"
        body = assert_problem(post(p1, "employees", steal), 403, "forbidden")
        assert [(e["line"], e["column"]) for e in body["errors"]] == [(2, "employee_no")]

        plan = (
            "code,course_code,plant_code,room,starts_at,ends_at\n"
            f"S7,SAFE,P1,培训室A,{day(13)}T09:00:00+08:00,{day(13)}T10:00:00+08:00\n"
            f"S8,SAFE,P2,二厂培训室,{day(13)}T09:00:00+08:00,{day(13)}T10:00:00+08:00\n"
        )
        body = assert_problem(post(p1, "sessions", plan), 403, "forbidden")
        assert [(e["line"], e["column"]) for e in body["errors"]] == [(3, "plant_code")]
        assert body["detail"].startswith("line 3: plant_code: ")

        # its own rows go in
        own = post(p1, "employees", "employee_no,name,org_code\nE7,新人,T1\n")
        assert own.status_code == 200 and own.json()["applied"] is True
        mine = post(p1, "sessions", plan.rsplit("S8", 1)[0])
        assert mine.status_code == 200 and mine.json()["created"] == 1
