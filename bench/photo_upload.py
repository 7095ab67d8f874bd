"""Photo upload benchmark: `POST /api/v1/photos` of a ~3 MB room JPEG, from the request to
`已存储` (bytes on disk, forensics, the `PhotoStored` event), with the analysis after the
reply; and the forensics alone (EXIF, SHA-256, perceptual hashes, look-alike lookup).

    uv run python bench/photo_upload.py                  # 200 uploads, embedded SQLite
    uv run python bench/photo_upload.py --uploads 50 --analyse

Each upload is a different photo (its EXIF time differs), so every one goes the whole way;
uploads are sent one after another from one tablet (latency, not throughput). With
`--analyse` the fake analyser runs after each reply in the same process, as the process
manager does; without it nothing competes with the upload. Nothing asserts: it prints.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import uvicorn
from PIL import Image
from skimage import data as skimage_data

from app.bootstrap import Adapters, build, real_adapters
from app.services.vision_adapters import InlineRoomAnalyser
from app.settings import Settings
from vision.fake import FakeRoomAnalyzer, FixtureIndex
from vision.forensics import photo_facts


def room_jpegs(count: int) -> list[bytes]:
    """``count`` JPEGs of a 4000×3000 picture of about 3 MB, each with another EXIF time
    (so another SHA-256)."""
    rng = np.random.default_rng(7)
    base = np.asarray(Image.fromarray(skimage_data.astronaut()).resize((4000, 3000)))
    noisy = np.clip(base + rng.normal(0, 9, base.shape), 0, 255).astype(np.uint8)
    image = Image.fromarray(noisy)
    quality = 88  # about 3 MB for this picture
    out: list[bytes] = []
    for n in range(count):
        exif = Image.Exif()
        exif[0x0110] = "TabletCam 3"
        taken = datetime(2026, 11, 24, 8, 0) + timedelta(seconds=n)
        exif.get_ifd(0x8769)[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality, exif=exif)
        out.append(buffer.getvalue())
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def line(name: str, ms: list[float]) -> str:
    return (
        f"{name:<28} n={len(ms):<4} p50 {percentile(ms, 50):6.1f} ms   "
        f"p95 {percentile(ms, 95):6.1f} ms   p99 {percentile(ms, 99):6.1f} ms   "
        f"max {max(ms):6.1f} ms   mean {statistics.fmean(ms):6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--analyse", action="store_true", help="run the fake analyser too")
    args = parser.parse_args()
    photos = room_jpegs(args.uploads + 5)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"photo: {len(photos[0]) / 1e6:.2f} MB JPEG, 4000×3000")

    forensics = []
    for data in photos[:50]:
        started = time.perf_counter()
        photo_facts(data)
        forensics.append((time.perf_counter() - started) * 1000)
    print(line("forensics alone", forensics))

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            store=f"sqlite:///{tmp}/bench.db",
            var_dir=Path(tmp),
            secret_key="bench",
            vision_processes=1 if args.analyse else 0,
        )
        adapters: Adapters = real_adapters(settings)
        if args.analyse:
            fake = FakeRoomAnalyzer(FixtureIndex(Path(tmp)))
            adapters = replace(adapters, analyser=InlineRoomAnalyser(fake))
        muster = build(settings, adapters)
        app = muster.app
        app.register_org_unit("G", "集团", "group", None, "bench")
        app.register_org_unit("C", "公司", "company", "G", "bench")
        app.register_org_unit("P1", "一厂", "plant", "C", "bench")
        app.register_course("SAFE", "安全", "safety", 60, 12, "bench")
        now = datetime.now(UTC)
        session = app.schedule_session(
            "S", "SAFE", "P1", "A", "陈", now, now + timedelta(hours=1), [], "bench"
        )
        token = app.register_device("tablet", "A", "P1", "tablet", "bench")
        assert muster.runner.wait_until_caught_up(30)

        from app.web.app import create_app

        server = uvicorn.Server(
            uvicorn.Config(
                create_app(muster), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
            )
        )
        thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}/api/v1/photos"
        took = []
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            for n, data in enumerate(photos):
                form = {
                    "session_id": str(session),
                    "kind": "room",
                    "client_event_id": str(uuid.uuid4()),
                    "device_time": datetime.now(UTC).isoformat(),
                }
                started = time.perf_counter()
                reply = client.post(url, data=form, files={"file": ("r.jpg", data, "image/jpeg")})
                elapsed = (time.perf_counter() - started) * 1000
                assert reply.status_code == 201, reply.text
                if n >= 5:  # the first few warm the caches
                    took.append(elapsed)
        print(line("upload to 已存储 (HTTP)", took))
        server.should_exit = True
        thread.join(timeout=30)
        muster.close()


if __name__ == "__main__":
    main()
