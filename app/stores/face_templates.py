"""Face templates in their own table of the read-model database, encrypted (AES-256-GCM by
`vision.identity`, the employee number as associated data). Not a projection: templates are
secrets, never events, so nothing can rebuild them — withdrawing consent deletes the row.

Identification reads a whole plant's templates for every face check-in; the decrypted gallery
is kept in memory and reloaded when the table changes (count or latest change differ)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from app.stores.base import ReadStore, iso
from vision.identity.matching import Embedding
from vision.identity.templates import TemplateStore

TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS face_templates (employee_no TEXT PRIMARY KEY, "
    "plant TEXT, consent_ref TEXT NOT NULL, blob TEXT NOT NULL, updated_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS face_templates_plant ON face_templates (plant)",
)


def template_key(secret: bytes) -> bytes:
    """The 256-bit template key, derived from the deployment's secret."""
    return hmac.new(secret, b"muster-face-templates-v1", hashlib.sha256).digest()


@dataclass
class _Cached:
    version: tuple[int, str]
    gallery: dict[str, list[Embedding]]


class SqlTemplateStore(TemplateStore):
    """`TemplateStore` over the `face_templates` table (SQLite or PostgreSQL)."""

    def __init__(self, key: bytes, store: ReadStore) -> None:
        super().__init__(key)
        self.store = store
        with store.transaction() as tx:
            for statement in TABLE_DDL:
                tx.execute(statement)
        self._meta: dict[str, tuple[str | None, str]] = {}
        self._cache: dict[str | None, _Cached] = {}
        self._lock = threading.Lock()

    def enrol_in_plant(
        self, employee_no: str, plant: str | None, embeddings: list[Embedding], consent_ref: str
    ) -> None:
        """Store (replace) a person's templates, remembering their plant for identification."""
        self._meta[employee_no] = (plant, consent_ref)
        self.enrol(employee_no, embeddings, consent_ref)

    def _put(self, employee_id: str, blob: bytes) -> None:
        plant, consent_ref = self._meta.pop(employee_id, (None, ""))
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO face_templates (employee_no, plant, consent_ref, blob, updated_at) "
                "VALUES (:no, :plant, :ref, :blob, :at) ON CONFLICT (employee_no) DO UPDATE SET "
                "plant = :plant, consent_ref = :ref, blob = :blob, updated_at = :at",
                {
                    "no": employee_id,
                    "plant": plant,
                    "ref": consent_ref,
                    "blob": base64.b64encode(blob).decode(),
                    "at": iso(datetime.now(UTC)),
                },
            )

    def _get(self, employee_id: str) -> bytes | None:
        row = self.store.fetch_one(
            "SELECT blob FROM face_templates WHERE employee_no = :no", {"no": employee_id}
        )
        return base64.b64decode(row["blob"]) if row else None

    def _delete(self, employee_id: str) -> bool:
        with self.store.transaction() as tx:
            found = tx.fetch(
                "SELECT employee_no FROM face_templates WHERE employee_no = :no",
                {"no": employee_id},
            )
            tx.execute("DELETE FROM face_templates WHERE employee_no = :no", {"no": employee_id})
        return bool(found)

    def _employee_ids(self) -> list[str]:
        return [
            r["employee_no"] for r in self.store.fetch("SELECT employee_no FROM face_templates")
        ]

    def plant_gallery(self, plant: str | None) -> dict[str, list[Embedding]]:
        """Everyone enrolled in `plant` (everyone when `None`), decrypted; cached until the
        table changes."""
        where, params = ("WHERE plant = :plant", {"plant": plant}) if plant else ("", {})
        row = self.store.fetch_one(
            f"SELECT COUNT(*) AS n, MAX(updated_at) AS last FROM face_templates {where}", params
        )
        version = (int(row["n"]) if row else 0, str(row["last"]) if row else "")
        with self._lock:
            cached = self._cache.get(plant)
            if cached is not None and cached.version == version:
                return cached.gallery
        rows = self.store.fetch(f"SELECT employee_no FROM face_templates {where}", params)
        gallery = self.gallery(r["employee_no"] for r in rows)
        with self._lock:
            self._cache[plant] = _Cached(version, gallery)
        return gallery

    def consent_ref(self, employee_no: str) -> str | None:
        """The consent a person's stored templates were enrolled under (`None`: none stored)."""
        row = self.store.fetch_one(
            "SELECT consent_ref FROM face_templates WHERE employee_no = :no", {"no": employee_no}
        )
        return str(row["consent_ref"]) if row else None
