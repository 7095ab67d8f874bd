"""The custom report builder: counts by the chosen dimensions, saved with a schedule."""

from __future__ import annotations

import httpx

from tests.conftest import LiveServer, Plant


def test_a_report_by_workshop_and_course_is_built_saved_and_scheduled(
    server: LiveServer, plant: Plant
) -> None:
    client = httpx.Client(base_url=server.url, timeout=30)
    token = client.post("/api/v1/auth/token", json={"login": "hr", "password": "hr-password"})
    hr = {"Authorization": f"Bearer {token.json()['token']}"}
    params = [("dim", "workshop"), ("dim", "course"), ("measure", "expected"), ("lang", "en")]
    page = client.get("/reports/custom", params=params, headers=hr)
    assert page.status_code == 200
    # the plant's rosters: W1 (8 people on two sessions), W2 (4 of 6), W3 (E15 twice, E16 once)
    assert "<td>W1</td><td>SAFE</td>" in page.text.replace("\n", "").replace(" ", "")

    saved = client.post(
        "/reports/custom",
        data={
            "name": "weekly by workshop",
            "dim": ["workshop", "course"],
            "measure": ["expected", "participation"],
            "schedule": "weekly",
            "recipients": "hr, sz1",
            "org": "G",
        },
        headers=hr,
        follow_redirects=False,
    )
    assert saved.status_code in (302, 303), saved.text
    listed = client.get("/reports/custom", params={"lang": "en"}, headers=hr).text
    assert "weekly by workshop" in listed and "weekly" in listed and "hr, sz1" in listed
    events = [
        e.topic for e in server.muster.app.recorder.select_notifications(start=1, limit=10_000)
    ]
    assert any(t.endswith("SavedReport.ReportSaved") for t in events)
    assert any(t.endswith("SavedReport.ReportScheduled") for t in events)

    refused = client.post(
        "/reports/custom",
        data={"name": "x", "dim": ["nonsense"], "measure": ["expected"], "schedule": "weekly"},
        headers=hr,
        follow_redirects=False,
    )
    assert refused.status_code == 422
