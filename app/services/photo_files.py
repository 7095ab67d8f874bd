"""Content-addressed photo originals outside the event store: the event keeps the hash."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class PhotoFiles:
    """Content-addressed originals: `<root>/ab/abcdef…`; the same bytes are written once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, sha256: str, data: bytes) -> None:
        target = self.path(sha256)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def delete(self, sha256: str) -> bool:
        """Delete an original; False when it was not there (deleted before)."""
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True
