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
        if not self.path(sha256).exists():
            self.keep(self.stage(data), sha256)

    def stage(self, data: bytes) -> Path:
        """Write ``data`` to a temporary file beside the originals, synced to disk; `keep` or
        `discard` it. Lets an upload write while its forensics still run."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Path(tmp)

    def keep(self, staged: Path, sha256: str) -> None:
        """A staged file becomes the original of ``sha256`` (one rename; the same bytes
        stored before are kept as they are)."""
        target = self.path(sha256)
        if target.exists():
            staged.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)

    @staticmethod
    def discard(staged: Path) -> None:
        """A staged file that is not kept (the image was refused)."""
        staged.unlink(missing_ok=True)

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def delete(self, sha256: str) -> bool:
        """Delete an original; False when it was not there (deleted before)."""
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True
