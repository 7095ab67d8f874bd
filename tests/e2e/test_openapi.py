"""The published OpenAPI document describes the device check-in API and its problems."""

from __future__ import annotations

import httpx

from tests.conftest import LiveServer


def test_openapi_documents_checkins_with_their_problems(server: LiveServer) -> None:
    doc = httpx.get(f"{server.url}/schema/openapi.json").json()
    single = doc["paths"]["/api/v1/checkins"]["post"]
    batch = doc["paths"]["/api/v1/checkins/batch"]["post"]
    assert {"200", "201", "401", "404", "409", "422", "429", "503"} <= set(single["responses"])
    assert {"200", "401", "413", "429", "503"} <= set(batch["responses"])
    body = single["requestBody"]["content"]["application/json"]["schema"]
    schema = doc["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert {"client_event_id", "session_id", "method"} <= set(schema["required"])
    # a check-in the rules refuse is a reply like an accepted one, first time and again
    for status in ("201", "200"):
        shapes = single["responses"][status]["content"]["application/json"]["schema"]["oneOf"]
        assert {s["$ref"].rsplit("/", 1)[-1] for s in shapes} == {
            "CheckInReply",
            "CheckInRejectedReply",
        }
    rejected = doc["components"]["schemas"]["CheckInRejectedReply"]
    assert rejected["properties"]["status"]["const"] == "rejected"
    assert "type" not in rejected["properties"]
