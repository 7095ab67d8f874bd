"""Face templates (embeddings) encrypted at rest, stored only with recorded consent.

Templates never go into events. Each employee's templates are one AES-256-GCM blob whose
associated data is the employee id, so a blob copied onto another employee does not decrypt.
Withdrawing consent deletes the blob.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vision.errors import VisionError
from vision.identity.matching import Embedding

FORMAT_VERSION: Final = b"\x01"
NONCE_BYTES: Final = 12
EMBEDDING_DIM: Final = 128


class ConsentMissing(VisionError):
    """Enrolment was attempted without a recorded consent reference."""

    reason = "no_consent"


class TemplateUnreadable(VisionError):
    """A stored blob failed to decrypt: wrong key, wrong employee, or tampered bytes."""

    reason = "template_unreadable"


def new_template_key() -> bytes:
    """A fresh random 256-bit key (keep it in a secret store, never beside the data)."""
    return AESGCM.generate_key(bit_length=256)


@dataclass(frozen=True)
class EnrolledTemplates:
    """One employee's decrypted templates and the consent they were stored under."""

    employee_id: str
    embeddings: tuple[Embedding, ...]
    consent_ref: str
    enrolled_at: datetime


def encrypt_templates(
    key: bytes,
    employee_id: str,
    embeddings: Sequence[Embedding],
    consent_ref: str,
    enrolled_at: datetime | None = None,
) -> bytes:
    """Encrypt one employee's embeddings (AES-256-GCM, employee id as associated data)."""
    matrix = np.asarray(embeddings, dtype=np.float32).reshape(len(embeddings), EMBEDDING_DIM)
    header = json.dumps(
        {
            "consent_ref": consent_ref,
            "enrolled_at": (enrolled_at or datetime.now(UTC)).isoformat(),
            "count": len(embeddings),
        }
    ).encode()
    plaintext = header + b"\n" + matrix.tobytes()
    nonce = secrets.token_bytes(NONCE_BYTES)
    return FORMAT_VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, employee_id.encode())


def decrypt_templates(key: bytes, employee_id: str, blob: bytes) -> EnrolledTemplates:
    """Decrypt a blob made by ``encrypt_templates``; raises ``TemplateUnreadable`` if it fails."""
    if blob[:1] != FORMAT_VERSION:
        raise TemplateUnreadable(detail="unknown template format")
    nonce, ciphertext = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        plaintext = AESGCM(key).decrypt(nonce, ciphertext, employee_id.encode())
    except (InvalidTag, ValueError) as e:
        raise TemplateUnreadable(detail="wrong key, wrong employee or tampered") from e
    header_bytes, _, body = plaintext.partition(b"\n")
    header = json.loads(header_bytes)
    matrix = np.frombuffer(body, dtype=np.float32).reshape(int(header["count"]), EMBEDDING_DIM)
    return EnrolledTemplates(
        employee_id=employee_id,
        embeddings=tuple(row.astype(np.float64) for row in matrix),
        consent_ref=str(header["consent_ref"]),
        enrolled_at=datetime.fromisoformat(header["enrolled_at"]),
    )


class TemplateStore(ABC):
    """Port: encrypted, consent-aware template storage. Subclasses only move opaque blobs."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("template key must be 32 bytes (AES-256)")
        self._key = key

    @abstractmethod
    def _put(self, employee_id: str, blob: bytes) -> None: ...

    @abstractmethod
    def _get(self, employee_id: str) -> bytes | None: ...

    @abstractmethod
    def _delete(self, employee_id: str) -> bool: ...

    @abstractmethod
    def _employee_ids(self) -> list[str]: ...

    def enrol(self, employee_id: str, embeddings: Sequence[Embedding], consent_ref: str) -> None:
        """Store (replace) an employee's 1–5 templates. ``consent_ref`` names the recorded consent
        (e.g. the id of the consent event); without it nothing is stored (``ConsentMissing``)."""
        if not consent_ref.strip():
            raise ConsentMissing(detail=employee_id)
        if not 1 <= len(embeddings) <= 5:
            raise ValueError("enrol 1 to 5 templates")
        self._put(employee_id, encrypt_templates(self._key, employee_id, embeddings, consent_ref))

    def load(self, employee_id: str) -> EnrolledTemplates | None:
        """An employee's templates, or ``None`` when none are stored."""
        blob = self._get(employee_id)
        return None if blob is None else decrypt_templates(self._key, employee_id, blob)

    def withdraw_consent(self, employee_id: str) -> bool:
        """Delete everything stored for an employee; ``True`` if something was deleted."""
        return self._delete(employee_id)

    def employee_ids(self) -> list[str]:
        """Employees with stored templates, sorted."""
        return sorted(self._employee_ids())

    def gallery(self, employee_ids: Iterable[str] | None = None) -> dict[str, list[Embedding]]:
        """Decrypted templates of ``employee_ids`` (all when ``None``) for ``identify``."""
        wanted = self.employee_ids() if employee_ids is None else list(employee_ids)
        out: dict[str, list[Embedding]] = {}
        for emp in wanted:
            enrolled = self.load(emp)
            if enrolled is not None:
                out[emp] = list(enrolled.embeddings)
        return out


class InMemoryTemplateStore(TemplateStore):
    """Templates in a dict (tests, demo). Still encrypted, so the code path is the real one."""

    def __init__(self, key: bytes) -> None:
        super().__init__(key)
        self._blobs: dict[str, bytes] = {}

    def _put(self, employee_id: str, blob: bytes) -> None:
        self._blobs[employee_id] = blob

    def _get(self, employee_id: str) -> bytes | None:
        return self._blobs.get(employee_id)

    def _delete(self, employee_id: str) -> bool:
        return self._blobs.pop(employee_id, None) is not None

    def _employee_ids(self) -> list[str]:
        return list(self._blobs)

    def raw_blob(self, employee_id: str) -> bytes | None:
        """The stored ciphertext (lets tests prove nothing is kept in the clear)."""
        return self._blobs.get(employee_id)


class DirectoryTemplateStore(TemplateStore):
    """One file per employee in a directory (file name: SHA-256 of the id)."""

    def __init__(self, key: bytes, directory: Path) -> None:
        super().__init__(key)
        self._dir = directory
        self._dir.mkdir(parents=True, exist_ok=True)

    def _path(self, employee_id: str) -> Path:
        return self._dir / (hashlib.sha256(employee_id.encode()).hexdigest() + ".tpl")

    def _put(self, employee_id: str, blob: bytes) -> None:
        # Write-then-rename: a crash never leaves half a template behind.
        name_bytes = employee_id.encode()
        record = len(name_bytes).to_bytes(2, "big") + name_bytes + blob
        fd, tmp = tempfile.mkstemp(dir=self._dir, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(record)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._path(employee_id))

    def _read(self, path: Path) -> tuple[str, bytes]:
        record = path.read_bytes()
        n = int.from_bytes(record[:2], "big")
        return record[2 : 2 + n].decode(), record[2 + n :]

    def _get(self, employee_id: str) -> bytes | None:
        path = self._path(employee_id)
        return self._read(path)[1] if path.exists() else None

    def _delete(self, employee_id: str) -> bool:
        try:
            self._path(employee_id).unlink()
        except FileNotFoundError:
            return False
        return True

    def _employee_ids(self) -> list[str]:
        return [self._read(p)[0] for p in self._dir.glob("*.tpl")]
