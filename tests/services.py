"""Make sure the PostgreSQL and NATS services the suite talks to are up (start them if not).

Never skips: a suite that silently skipped its PostgreSQL half would prove nothing.
"""

from __future__ import annotations

import glob
import os
import socket
import subprocess
import time

PG_DSN = os.environ.get("MUSTER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait(host: str, port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _port_open(host, port):
            return True
        time.sleep(0.2)
    return False


def ensure_postgres() -> None:
    if _port_open("127.0.0.1", 5432):
        return
    versions = [os.path.basename(p) for p in glob.glob("/etc/postgresql/*")]
    for version in versions:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False
        )
    if not _wait("127.0.0.1", 5432, 30):
        raise RuntimeError("PostgreSQL is not running on 127.0.0.1:5432 and could not be started")


def ensure_nats() -> None:
    if _port_open("127.0.0.1", 4222):
        return
    subprocess.run(
        [
            "start-stop-daemon",
            "--start",
            "--oknodo",
            "--background",
            "--exec",
            "/usr/sbin/nats-server",
            "--",
            "-a",
            "127.0.0.1",
            "-p",
            "4222",
            "-js",
            "-sd",
            "/var/lib/nats-server",
            "-l",
            "/var/log/nats-server.log",
        ],
        check=False,
    )
    if not _wait("127.0.0.1", 4222, 30):
        raise RuntimeError("NATS is not running on 127.0.0.1:4222 and could not be started")


class NatsServer:
    """A NATS JetStream server of one test's own (its own port and storage under `store`):
    stopping and starting it disturbs no other test, and no stream of an earlier test is in
    it."""

    def __init__(self, store: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.store = store
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start it (again, on the same port and storage); returns once it accepts clients."""
        args = ["-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", self.store]
        os.makedirs(self.store, exist_ok=True)
        args += ["-l", os.path.join(self.store, "nats.log")]
        self.proc = subprocess.Popen(["/usr/sbin/nats-server", *args])
        if not _wait("127.0.0.1", self.port, 30):
            raise RuntimeError(f"a NATS server of our own did not start on {self.port}")

    def stop(self) -> None:
        """Stop it (as an operator's restart does); its clients see the connection go."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=15)
            self.proc = None
