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

import numpy as np

from app.stores.base import ReadStore, iso
from vision.identity.matching import Embedding
from vision.identity.templates import EMBEDDING_DIM, TemplateStore, decrypt_templates

TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS face_templates (employee_no TEXT PRIMARY KEY, "
    "plant TEXT, consent_ref TEXT NOT NULL, blob TEXT NOT NULL, updated_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS face_templates_plant ON face_templates (plant)",
)


def template_key(secret: bytes) -> bytes:
    """The 256-bit template key, derived from the deployment's secret."""
    return hmac.new(secret, b"muster-face-templates-v1", hashlib.sha256).digest()


class PlantGallery:
    """A plant's decrypted templates, stacked into one matrix so a probe's distance to all of
    them is one numpy operation."""

    def __init__(self, templates: dict[str, list[Embedding]]) -> None:
        self.templates = templates
        self.owners = [no for no, vectors in templates.items() for _ in vectors]
        rows = [v for vectors in templates.values() for v in vectors]
        self.matrix = np.asarray(rows, dtype=np.float64).reshape(len(rows), EMBEDDING_DIM)

    def nearest(
        self,
        probe: Embedding,
        among: set[str] | None = None,
        exclude: set[str] = frozenset(),
        k: int = 2,
    ) -> dict[str, list[Embedding]]:
        """The templates of the `k` people nearest to `probe` (within `among`, if given, and
        not in `exclude`): all that a 1:N decision looks at is the best and the runner-up."""
        if not self.owners:
            return {}
        distances = np.linalg.norm(self.matrix - probe, axis=1)
        picked: dict[str, list[Embedding]] = {}
        for index in np.argsort(distances):
            owner = self.owners[int(index)]
            if owner in picked or owner in exclude or (among is not None and owner not in among):
                continue
            picked[owner] = self.templates[owner]
            if len(picked) == k:
                break
        return picked


@dataclass
class _Cached:
    version: tuple[int, str]
    gallery: PlantGallery


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

    def plant_gallery(self, plant: str | None) -> PlantGallery:
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
        rows = self.store.fetch(f"SELECT employee_no, blob FROM face_templates {where}", params)
        gallery = PlantGallery(
            {
                r["employee_no"]: list(
                    decrypt_templates(
                        self._key, r["employee_no"], base64.b64decode(r["blob"])
                    ).embeddings
                )
                for r in rows
            }
        )
        with self._lock:
            self._cache[plant] = _Cached(version, gallery)
        return gallery

    def consent_ref(self, employee_no: str) -> str | None:
        """The consent a person's stored templates were enrolled under (`None`: none stored)."""
        row = self.store.fetch_one(
            "SELECT consent_ref FROM face_templates WHERE employee_no = :no", {"no": employee_no}
        )
        return str(row["consent_ref"]) if row else None
