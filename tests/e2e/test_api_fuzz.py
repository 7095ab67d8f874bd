"""Schemathesis over every `/api/v1` route of the published OpenAPI document: whatever a
staff login or a device sends, valid or not, the answer is never a 5xx."""

from __future__ import annotations

from contextlib import suppress

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.conftest import LiveServer, Plant

EXAMPLES = 8  # per route, mode and caller: enough to find the 500s, quick enough for CI


def test_no_api_route_answers_a_server_error(server: LiveServer, plant: Plant) -> None:
    staff = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"login": "hr", "password": "hr-password"}
    ).json()["token"]
    auditor = httpx.post(
        f"{server.url}/api/v1/auth/token",
        json={"login": "auditor", "password": "auditor-password"},
    ).json()["token"]
    # the auditor reaches the event log and the audit trail's routes, which staff may not
    callers = {"staff": staff, "device": plant.p1_token, "auditor": auditor}
    schema = schemathesis.openapi.from_url(f"{server.url}/schema/openapi.json").include(
        path_regex="^/api/v1/"
    )
    failures: list[str] = []
    answers: list[int] = []
    routes = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        routes += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case) -> None:
                for who, token in callers.items():
                    reply = case.call(
                        base_url=server.url,
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=30,
                    )
                    answers.append(reply.status_code)
                    if reply.status_code >= 500:
                        failures.append(
                            f"{who} {case.method} {case.formatted_path} → {reply.status_code}: "
                            f"{reply.text[:200]}"
                        )

            with suppress(Unsatisfiable):  # a route with nothing to vary in this mode
                call()
    assert routes >= 10 and len(answers) >= routes * len(callers)
    print(f"{routes} routes, {len(answers)} calls: {sorted(set(answers))}")
    assert failures == []
