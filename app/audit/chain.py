"""Hash-chained JSON lines: each line carries the hash of the line before it and its own, so
changing, removing or reordering anything breaks the chain at the first line touched."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

GENESIS = "0" * 64


def canonical(value: dict[str, Any]) -> str:
    """The one text form of a line: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest(prev: str, body: dict[str, Any]) -> str:
    return hashlib.sha256((prev + canonical(body)).encode()).hexdigest()


def chain(entries: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The lines (without newline) for `entries`, each chained to the one before."""
    prev = GENESIS
    for entry in entries:
        body = {**entry, "prev": prev}
        line = {**body, "hash": _digest(prev, body)}
        prev = line["hash"]
        yield canonical(line)


def first_bad_line(lines: Iterable[bytes]) -> tuple[int, str] | None:
    """(line number from 1, what is wrong) for the first line that breaks the chain, or None
    when every line is intact and the file ends with its closing line."""
    prev = GENESIS
    number = 0
    last: dict[str, Any] = {}
    for number, raw in enumerate(lines, start=1):
        text = raw.rstrip(b"\n")
        try:
            line = json.loads(text.decode())
        except (UnicodeDecodeError, ValueError):
            return number, "not a JSON line"
        if not isinstance(line, dict) or canonical(line).encode() != text:
            return number, "changed (not as written)"
        body = {k: v for k, v in line.items() if k != "hash"}
        if line.get("prev") != prev:
            return number, "does not follow the line before"
        if line.get("hash") != _digest(prev, body):
            return number, "changed (hash does not match)"
        prev, last = line["hash"], line
    if last.get("kind") != "end" or last.get("lines") != number:
        return number + 1, "missing: the file was cut short"
    return None
