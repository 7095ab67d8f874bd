"""Audit the locked dependencies against PyPI's vulnerability data; exit 1 on any finding.

pip-audit asks PyPI per release (`/pypi/NAME/VERSION/json`). Where that answers, its verdict is
the audit. Registries that only serve a project's document (`/pypi/NAME/json`, as ours does)
leave pip-audit with every dependency "not found", which it counts as a pass: those are checked
here instead, against the vulnerabilities PyPI lists for the project's newest release, which
are exactly ours when we lock that release. A dependency locked behind its newest release
cannot be judged that way and is listed as not audited (a warning, not a failure).

Usage: uv export --format requirements-txt --no-hashes --no-emit-project | python audit_deps.py
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import tomllib
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

#: vulnerability ids that do not concern us, each with the reason (none so far)
IGNORED: dict[str, str] = {}
TIMEOUT_S = 20  # per request; pip-audit gets the same, and the whole run is bounded by .ci/run


def locked(requirements: str) -> dict[str, str]:
    """name → version of every pinned line of a requirements file."""
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", requirements, re.M)
    return {name.lower(): version for name, version in pins}


def pip_audit(requirements: str) -> dict[str, list[str] | None]:
    """name → ids found by pip-audit, or None for a dependency it could not audit."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as file:
        file.write(requirements)
        file.flush()
        command = [
            *("pip-audit", "-r", file.name, "--vulnerability-service", "pypi"),
            *("--no-deps", "--disable-pip", "--progress-spinner", "off", "-f", "json"),
            *("--timeout", str(TIMEOUT_S)),
            *(arg for vuln in IGNORED for arg in ("--ignore-vuln", vuln)),
        ]
        run = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if run.returncode not in (0, 1):  # 1: findings; anything else: pip-audit itself failed
        sys.exit(f"pip-audit failed ({run.returncode}): {run.stderr.strip()[-2000:]}")
    found: dict[str, list[str] | None] = {}
    for dependency in json.loads(run.stdout)["dependencies"]:
        name = dependency["name"].lower()
        skipped = "skip_reason" in dependency
        found[name] = None if skipped else [vuln["id"] for vuln in dependency["vulns"]]
    return found


def registries(lock: Path) -> dict[str, str]:
    """name → the JSON API of the registry each locked package came from (`uv.lock`)."""
    packages = tomllib.loads(lock.read_text())["package"]
    return {
        p["name"].lower(): p["source"]["registry"].removesuffix("/simple").rstrip("/") + "/pypi"
        for p in packages
        if "registry" in p.get("source", {})
    }


def newest_release(api: str, name: str) -> tuple[str, list[str]]:
    """The project's newest version and the ids PyPI lists against it (withdrawn ones left out)."""
    with urllib.request.urlopen(f"{api}/{name}/json", timeout=TIMEOUT_S) as reply:
        document = json.load(reply)
    vulns = document.get("vulnerabilities") or []
    ids = [v["id"] for v in vulns if not v.get("withdrawn") and v["id"] not in IGNORED]
    return document["info"]["version"], ids


def main() -> int:
    requirements = sys.stdin.read()
    pins = locked(requirements)
    found = pip_audit(requirements)
    unaudited = sorted(name for name in pins if found.get(name) is None)
    apis = registries(Path(__file__).resolve().parent.parent / "uv.lock")
    with ThreadPoolExecutor(8) as pool:
        replies = pool.map(newest_release, [apis[name] for name in unaudited], unaudited)
        newest = dict(zip(unaudited, replies, strict=True))
    behind = []
    for name in unaudited:
        version, ids = newest[name]
        if version == pins[name]:
            found[name] = ids
        else:
            behind.append(f"{name} {pins[name]} (newest {version})")
    findings = {name: ids for name, ids in found.items() if ids}
    audited = len(pins) - len(behind)
    print(f"audited {audited} locked dependencies against PyPI; {len(findings)} with findings")
    if behind:
        print("not audited (locked behind the newest release, no per-release data here):")
        print("  " + ", ".join(behind))
    for name, ids in sorted(findings.items()):
        print(f"VULNERABLE {name} {pins.get(name, '?')}: {', '.join(ids)}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
