"""Consent and templates: stored only with consent, encrypted on disk, deleted on withdrawal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from vision.decode import encode_jpeg
from vision.identity.engine import DlibFaceEngine
from vision.identity.matching import Embedding
from vision.identity.templates import (
    ConsentMissing,
    DirectoryTemplateStore,
    InMemoryTemplateStore,
    TemplateUnreadable,
    new_template_key,
)


@pytest.fixture(scope="module")
def collins(face_engine: DlibFaceEngine, astronaut_jpeg: bytes) -> tuple[Embedding, ...]:
    """Her real templates."""
    enrolment = face_engine.enrol([astronaut_jpeg])
    assert enrolment.accepted
    return enrolment.embeddings


def _plain_forms(embeddings: tuple[Embedding, ...]) -> list[bytes]:
    """Byte runs that would show up if a template were written unencrypted."""
    out = []
    for e in embeddings:
        for dtype in (np.float32, np.float64):
            raw = np.asarray(e, dtype=dtype).tobytes()
            out += [raw[:16], raw[len(raw) // 2 : len(raw) // 2 + 16]]
        out.append(",".join(f"{v:.4f}" for v in e[:4]).encode())
    return out


def test_templates_on_disk_are_encrypted_and_still_verify(
    tmp_path: Path,
    face_engine: DlibFaceEngine,
    collins: tuple[Embedding, ...],
    astronaut: NDArray[np.uint8],
) -> None:
    store = DirectoryTemplateStore(new_template_key(), tmp_path / "templates")
    store.enrol("emp-collins", collins, consent_ref="consent-event-17")
    files = list((tmp_path / "templates").iterdir())
    assert len(files) == 1
    on_disk = files[0].read_bytes()
    for plain in _plain_forms(collins):
        assert plain not in on_disk
    assert b"consent-event-17" not in on_disk
    loaded = store.load("emp-collins")
    assert loaded is not None and loaded.consent_ref == "consent-event-17"
    probe = encode_jpeg(np.asarray(np.clip(astronaut * 0.8, 0, 255), dtype=np.uint8))
    assert face_engine.verify(probe, loaded.embeddings).decision == "match"
    # A second process with the same key reads the same templates.
    again = DirectoryTemplateStore(store._key, tmp_path / "templates")
    assert again.employee_ids() == ["emp-collins"]


def test_withdrawing_consent_deletes_the_templates(
    tmp_path: Path,
    face_engine: DlibFaceEngine,
    collins: tuple[Embedding, ...],
    astronaut_jpeg: bytes,
) -> None:
    store = DirectoryTemplateStore(new_template_key(), tmp_path)
    store.enrol("emp-collins", collins, consent_ref="consent-1")
    store.enrol("emp-other", [np.ones(128)], consent_ref="consent-2")
    assert store.withdraw_consent("emp-collins") is True
    assert store.load("emp-collins") is None
    assert store.employee_ids() == ["emp-other"]
    assert len(list(tmp_path.glob("*.tpl"))) == 1
    assert "emp-collins" not in store.gallery()
    templates = store.load("emp-collins")
    check = face_engine.verify(astronaut_jpeg, templates.embeddings if templates else [])
    assert check.decision == "not_enrolled"
    assert store.withdraw_consent("emp-collins") is False


def test_nothing_is_stored_without_recorded_consent(
    tmp_path: Path, collins: tuple[Embedding, ...]
) -> None:
    store = DirectoryTemplateStore(new_template_key(), tmp_path)
    with pytest.raises(ConsentMissing) as refused:
        store.enrol("emp-collins", collins, consent_ref="  ")
    assert refused.value.reason == "no_consent"
    assert list(tmp_path.iterdir()) == []


def test_a_template_copied_to_another_employee_or_tampered_does_not_load(
    collins: tuple[Embedding, ...],
) -> None:
    key = new_template_key()
    store = InMemoryTemplateStore(key)
    store.enrol("emp-collins", collins, consent_ref="consent-1")
    blob = store.raw_blob("emp-collins")
    assert blob is not None
    store._blobs["emp-intruder"] = blob
    with pytest.raises(TemplateUnreadable):
        store.load("emp-intruder")
    store._blobs["emp-collins"] = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(TemplateUnreadable):
        store.load("emp-collins")
    other_key = InMemoryTemplateStore(new_template_key())
    other_key._blobs["emp-collins"] = blob
    with pytest.raises(TemplateUnreadable):
        other_key.load("emp-collins")
