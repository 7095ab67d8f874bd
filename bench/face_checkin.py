"""Face check-in latency: a kiosk uploads a selfie and checks in by face, against a plant
gallery of N enrolled people (default 2,000). Prints p50/p95/max of selfie upload → 签到成功.

The embedded system (SQLite) runs under uvicorn on loopback in this process; the kiosk is an
httpx client doing what kiosk.js does: `POST /api/v1/photos` (kind `selfie`), then
`POST /api/v1/checkins` with the photo id and no employee id. One person (the astronaut from
scikit-image) is enrolled from real selfies; the rest of the gallery are random templates, which
cost the same to search. Each check-in is into its own session (the same room, one after the
other), so every one is a first check-in.

    nice uv run python bench/face_checkin.py --gallery 2000 --checkins 40
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.bootstrap import build
from app.settings import Settings
from app.web.app import create_app
from tests import faces
from vision.decode import encode_jpeg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gallery", type=int, default=2000)
    parser.add_argument("--checkins", type=int, default=40)
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="muster-face-bench-"))
    settings = Settings(
        store=f"sqlite:///{var / 'muster.db'}",
        var_dir=var,
        secret_key="bench-secret",
        vision_processes=0,
    )
    muster = build(settings)
    app = muster.app
    app.register_org_unit("G", "集团", "group", None, "bench")
    app.register_org_unit("C", "公司", "company", "G", "bench")
    app.register_org_unit("P1", "一厂", "plant", "C", "bench")
    app.register_org_unit("W1", "车间", "workshop", "P1", "bench")
    app.register_course("SAFE", "安全生产基础", "safety", 60, 12, "bench")
    people = [f"E{n:05d}" for n in range(args.gallery)]
    app.hire_employees(
        [{"employee_no": no, "name": f"员工{no}", "org_unit": "W1"} for no in people], "bench"
    )
    start = datetime.now(UTC) - timedelta(minutes=5)
    sessions = [
        str(
            app.schedule_session(
                f"S{i}",
                "SAFE",
                "P1",
                "培训室A",
                "讲师",
                start,
                start + timedelta(hours=1),
                people[:40],
                "bench",
            )
        )
        for i in range(args.checkins)
    ]
    token = app.register_device("kiosk-1", "培训室A", "P1", "tablet", "bench")
    assert muster.runner.wait_until_caught_up(120)

    t0 = time.perf_counter()
    muster.faces.enrol(people[7], faces.astronaut_selfies(), True, "bench", "bench")
    rng = np.random.default_rng(7)
    for no in people:
        if no != people[7]:
            vector = rng.normal(0, 0.09, 128)  # dlib embeddings: ~unit norm, spread like these
            muster.faces.templates.enrol_in_plant(no, "P1", [vector], "bench-consent")
    print(f"gallery of {args.gallery} enrolled in {time.perf_counter() - t0:.1f} s")

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(muster), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    portrait = faces.astronaut()
    timings: list[float] = []
    with httpx.Client(timeout=60) as client:
        for i, session_id in enumerate(sessions):
            # the same person, a little brighter or darker each time, as kiosk cameras are
            shade = 0.85 + 0.3 * (i % 7) / 6
            jpeg = encode_jpeg(np.clip(portrait * shade, 0, 255).astype(np.uint8))
            began = time.perf_counter()
            photo = client.post(
                f"{url}/api/v1/photos",
                headers=auth,
                data={
                    "session_id": session_id,
                    "kind": "selfie",
                    "client_event_id": str(uuid.uuid4()),
                },
                files={"file": ("selfie.jpg", jpeg, "image/jpeg")},
            )
            reply = client.post(
                f"{url}/api/v1/checkins",
                headers=auth,
                json={
                    "client_event_id": str(uuid.uuid4()),
                    "session_id": session_id,
                    "method": "face",
                    "face_photo_id": photo.json()["photo_id"],
                },
            )
            elapsed = time.perf_counter() - began
            body = reply.json()
            assert reply.status_code == 201 and body["message"] == "签到成功", body
            assert body["employee"]["id"] == people[7]
            if i > 0:  # the first loads the face models
                timings.append(elapsed)
            else:
                print(f"first check-in (models load): {elapsed * 1000:.0f} ms")
    server.should_exit = True
    thread.join(timeout=10)
    muster.close()
    timings.sort()
    p95 = timings[max(0, round(0.95 * len(timings)) - 1)]
    print(
        f"face check-in, selfie upload → 签到成功, gallery {args.gallery}, "
        f"{len(timings)} check-ins: p50 {statistics.median(timings) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {timings[-1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
