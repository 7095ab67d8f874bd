"""Safe decoding, EXIF facts, perceptual hashes, the duplicate index and QR decoding."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray
from PIL import Image
from skimage import data

from app.demo.synthetic import make_room, room_background
from vision.decode import decode_image, encode_jpeg, encode_png
from vision.errors import ImageRejected
from vision.forensics.exif import (
    IFD_EXIF,
    IFD_GPS,
    TAG_DATETIME_ORIGINAL,
    TAG_MAKE,
    TAG_MODEL,
    TAG_OFFSET_TIME_ORIGINAL,
    parse_exif_datetime,
    parse_exif_offset,
    read_exif,
)
from vision.forensics.facts import draft_size, photo_facts
from vision.forensics.hashes import DuplicateIndex, PhotoHashes, hamming, photo_hashes
from vision.forensics.qr import decode_qr, decode_qr_pixels


def test_decodes_a_jpeg_to_rgb(astronaut_jpeg: bytes) -> None:
    image = decode_image(astronaut_jpeg)
    assert (image.width, image.height, image.format) == (512, 512, "JPEG")
    assert image.rgb.shape == (512, 512, 3)
    assert image.gray.shape == (512, 512)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "image_empty"),
        (b"definitely not an image", "image_corrupt"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image_corrupt"),
        (b"GIF89a" + b"\x00" * 40, "image_corrupt"),
    ],
)
def test_refuses_bytes_that_are_not_a_photo(payload: bytes, reason: str) -> None:
    with pytest.raises(ImageRejected) as refused:
        decode_image(payload)
    assert refused.value.reason == reason


def test_refuses_a_truncated_jpeg(astronaut_jpeg: bytes) -> None:
    with pytest.raises(ImageRejected) as refused:
        decode_image(astronaut_jpeg[: len(astronaut_jpeg) // 2])
    assert refused.value.reason == "image_corrupt"


def test_refuses_files_over_the_size_limit(astronaut_jpeg: bytes) -> None:
    with pytest.raises(ImageRejected) as refused:
        decode_image(astronaut_jpeg, max_bytes=len(astronaut_jpeg) - 1)
    assert refused.value.reason == "image_too_large"
    with pytest.raises(ImageRejected):
        decode_image(b"\xff" * (15 * 1024 * 1024 + 1))


def test_refuses_a_decompression_bomb_before_decoding_it() -> None:
    # 12,000 × 12,000 one-bit pixels: a few kB of PNG, 144 megapixels once decoded.
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, format="PNG")
    bomb = out.getvalue()
    assert len(bomb) < 100_000
    with pytest.raises(ImageRejected) as refused:
        decode_image(bomb)
    assert refused.value.reason == "image_too_many_pixels"


def _jpeg_with_exif(when: str | None, offset: str | None = None, gps: bool = False) -> bytes:
    exif = Image.Exif()
    exif[TAG_MAKE] = "Huawei"
    exif[TAG_MODEL] = "MatePad 11"
    sub = exif.get_ifd(IFD_EXIF)
    if when is not None:
        sub[TAG_DATETIME_ORIGINAL] = when
    if offset is not None:
        sub[TAG_OFFSET_TIME_ORIGINAL] = offset
    if gps:
        exif.get_ifd(IFD_GPS).update(
            {
                1: "N",
                2: (Fraction(31), Fraction(14), Fraction(15)),
                3: "E",
                4: (Fraction(121), Fraction(28), Fraction(30)),
            }
        )
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 130, 140)).save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_reads_capture_time_with_offset_camera_and_gps() -> None:
    facts = read_exif(_jpeg_with_exif("2026:11:24 08:59:30", "+08:00", gps=True))
    assert facts.captured_at == datetime(
        2026, 11, 24, 8, 59, 30, tzinfo=timezone(timedelta(hours=8))
    )
    assert facts.has_offset
    assert (facts.camera_make, facts.camera_model) == ("Huawei", "MatePad 11")
    assert facts.gps is not None
    assert facts.gps.latitude == pytest.approx(31.2375)
    assert facts.gps.longitude == pytest.approx(121.475)


def test_capture_time_without_offset_is_naive_camera_time() -> None:
    facts = read_exif(_jpeg_with_exif("2026:11:24 08:59:30"))
    assert facts.captured_at == datetime(2026, 11, 24, 8, 59, 30)
    assert not facts.has_offset
    assert facts.gps is None


def test_a_photo_without_exif_has_no_capture_time(astronaut_jpeg: bytes) -> None:
    facts = read_exif(astronaut_jpeg)
    assert facts.captured_at is None
    assert facts.camera_model is None


@pytest.mark.parametrize(
    ("value", "offset", "expected"),
    [
        ("2026:01:02 03:04:05", None, datetime(2026, 1, 2, 3, 4, 5)),
        (
            "2026:01:02 03:04:05",
            "-05:30",
            datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(-timedelta(hours=5, minutes=30))),
        ),
        (
            "2026:01:02 03:04:05\x00",
            "+08:00",
            datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=8))),
        ),
        ("2026:01:02 03:04:05", "garbage", datetime(2026, 1, 2, 3, 4, 5)),
        ("    :  :     :  :  ", None, None),
        ("2026:02:30 10:00:00", None, None),
        ("", None, None),
        (None, None, None),
        (20260102, None, None),
    ],
)
def test_exif_datetime_table(value: object, offset: object, expected: datetime | None) -> None:
    assert parse_exif_datetime(value, offset) == expected


@given(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(-12 * 60, 14 * 60),
)
def test_exif_datetime_round_trips(moment: datetime, minutes: int) -> None:
    moment = moment.replace(microsecond=0)
    sign = "-" if minutes < 0 else "+"
    text = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    parsed = parse_exif_datetime(moment.strftime("%Y:%m:%d %H:%M:%S"), text)
    assert parsed is not None
    assert parsed.replace(tzinfo=None) == moment
    assert parsed.utcoffset() == timedelta(minutes=minutes)


@given(st.text(max_size=12))
def test_exif_offset_parser_never_raises(text: str) -> None:
    tz = parse_exif_offset(text)
    assert tz is None or isinstance(tz, timezone)


def _variants(rgb: NDArray[np.uint8]) -> dict[str, NDArray[np.uint8]]:
    h, w = rgb.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), 2.0, 1.0)
    return {
        "resized": cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA),
        "recompressed": decode_image(encode_jpeg(rgb, 35)).rgb,
        "cropped 5%": np.ascontiguousarray(rgb[int(h * 0.05) :, int(w * 0.05) :]),
        "rotated 2°": cv2.warpAffine(rgb, turn, (w, h), borderMode=cv2.BORDER_REFLECT),
    }


def test_reused_copies_are_found_and_other_photos_are_not(astronaut: NDArray[np.uint8]) -> None:
    index = DuplicateIndex()
    others = {"camera": data.camera(), "coffee": data.coffee(), "chelsea": data.chelsea()}
    index.add("astronaut", photo_facts(encode_jpeg(astronaut)).hashes)
    for name, img in others.items():
        rgb = np.dstack([img] * 3) if img.ndim == 2 else img
        index.add(name, photo_facts(encode_png(rgb)).hashes)
    for name, variant in _variants(astronaut).items():
        hits = index.find(photo_facts(encode_jpeg(np.ascontiguousarray(variant))).hashes)
        assert [h.photo_id for h in hits] == ["astronaut"], name
    rocket = photo_facts(encode_jpeg(data.rocket())).hashes
    assert index.find(rocket) == []


def test_the_index_skips_the_photo_itself() -> None:
    hashes = photo_hashes(data.camera())
    index = DuplicateIndex()
    index.add("p1", hashes)
    assert index.find(hashes, exclude="p1") == []
    assert [h.distance for h in index.find(hashes)] == [0]


def test_hashes_are_stable_and_serialise_as_fixed_width_hex() -> None:
    a, b = photo_hashes(data.camera()), photo_hashes(data.camera())
    assert a == b
    payload = a.to_payload()
    assert len(payload["phash"]) == 16
    assert len(payload["detail_hash"]) == 64
    assert len(payload["fine_hash"]) == 144
    assert len(payload["crop_hashes"]) == 9
    assert hamming(int(payload["phash"], 16), a.phash) == 0


def _qr(text: str) -> NDArray[np.uint8]:
    code = cv2.QRCodeEncoder.create().encode(text)
    code = cv2.resize(code, None, fx=8, fy=8, interpolation=cv2.INTER_NEAREST)
    return np.asarray(cv2.copyMakeBorder(code, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=255))


def test_decodes_a_qr_code_from_a_photo() -> None:
    qr = _qr("muster:session:42:token:abc")
    assert decode_qr(encode_png(qr)) == ("muster:session:42:token:abc",)


def test_decodes_a_qr_code_seen_at_an_angle() -> None:
    qr = _qr("muster:session:7")
    h, w = qr.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[30, 10], [w - 10, 40], [w - 40, h - 20], [10, h - 5]])
    warped = cv2.warpPerspective(qr, cv2.getPerspectiveTransform(src, dst), (w, h), borderValue=255)
    assert decode_qr_pixels(warped) == ("muster:session:7",)


def test_a_photo_without_a_qr_code_decodes_to_nothing() -> None:
    assert decode_qr_pixels(data.camera()) == ()


def test_hashes_survive_the_event_payload_and_old_payloads_still_match() -> None:
    hashes = photo_hashes(data.camera())
    payload = json.loads(json.dumps(hashes.to_payload()))
    assert PhotoHashes.from_payload(payload) == hashes
    old = PhotoHashes.from_payload(
        {"phash": payload["phash"], "detail_hash": payload["detail_hash"]}
    )
    index = DuplicateIndex()
    index.add("before-crops-existed", old)
    assert [h.photo_id for h in index.find(hashes)] == ["before-crops-existed"]


def test_the_same_room_with_other_people_is_not_a_reused_photo(
    astronaut_head: NDArray[np.uint8], lfw: list[NDArray[np.uint8]]
) -> None:
    rng = np.random.default_rng(21)
    textures = [data.brick(), data.text(), data.coffee()]
    backdrop = room_background(rng, textures, (1920, 1080))
    faces = [astronaut_head, *lfw[:20]]
    # Few people, small in the frame: the two photos agree down to the 256-bit hash.
    monday = make_room(rng, faces, textures, 4, background=backdrop).rgb
    tuesday = make_room(rng, faces, textures, 4, background=backdrop).rgb
    index = DuplicateIndex()
    index.add("monday", photo_facts(encode_jpeg(monday)).hashes)
    tuesday_hashes = photo_facts(encode_jpeg(tuesday)).hashes
    without_veto = DuplicateIndex(fine_threshold=10_000)
    without_veto.add("monday", photo_facts(encode_jpeg(monday)).hashes)
    assert [d.photo_id for d in without_veto.find(tuesday_hashes)] == ["monday"]
    assert index.find(tuesday_hashes) == []
    h, w = monday.shape[:2]
    cropped = np.ascontiguousarray(monday[int(h * 0.03) : int(h * 0.98), int(w * 0.05) :])
    assert [d.photo_id for d in index.find(photo_facts(encode_jpeg(cropped, 70)).hashes)] == [
        "monday"
    ]


def _large(name: str, size: tuple[int, int]) -> NDArray[np.uint8]:
    image = np.asarray(getattr(data, name)(), dtype=np.uint8)
    rgb = np.dstack([image] * 3) if image.ndim == 2 else np.ascontiguousarray(image[..., :3])
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BICUBIC))


#: hashes stored by the code of 2026-12-06 (a copy at least 512 px a side, each view resized
#: three times) for these photos, as `PhotoStored` events carry them
BEFORE = Path(__file__).parent.parent / "fixtures" / "forensics" / "hashes-before-2026-12-07.json"


def test_photos_stored_with_the_earlier_hashes_still_find_their_copies() -> None:
    stored = json.loads(BEFORE.read_text())
    index = DuplicateIndex()
    for name, payload in stored.items():
        index.add(name, PhotoHashes.from_payload(payload))
    for name in stored:
        picture, size = name.split("-")
        width, height = (int(n) for n in size.split("x"))
        rgb = _large(picture, (width, height))
        again = photo_facts(encode_jpeg(rgb, 88)).hashes
        old = PhotoHashes.from_payload(stored[name])
        # the same photo hashed now differs from what was stored by a few bits at most
        assert hamming(again.phash, old.phash) <= 4, name
        assert hamming(again.detail, old.detail) <= 12, name
        half = cv2.resize(rgb, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        for variant in (rgb, half, rgb[height // 20 :, width // 20 :]):
            copy = photo_facts(encode_jpeg(np.ascontiguousarray(variant), 60)).hashes
            assert [h.photo_id for h in index.find(copy)] == [name], name
    for other in (data.rocket(), data.horse()):
        unrelated = photo_facts(encode_jpeg(_large_from(other))).hashes
        assert index.find(unrelated) == []


def _large_from(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    image = np.asarray(image, dtype=np.uint8)
    rgb = np.dstack([image] * 3) if image.ndim == 2 else np.ascontiguousarray(image[..., :3])
    return np.asarray(Image.fromarray(rgb).resize((4000, 3000), Image.Resampling.BICUBIC))


def test_a_large_jpeg_is_decoded_small_for_its_hashes() -> None:
    assert draft_size(4000, 3000) == (500, 375)
    assert draft_size(3000, 4000) == (375, 500)
    assert draft_size(400, 300) == (400, 300)
    photo = Image.open(io.BytesIO(encode_jpeg(_large("coffee", (4000, 3000)))))
    photo.draft("L", draft_size(*photo.size))
    assert photo.size == (500, 375)  # libjpeg's 1/8 scale: the long side stays ≥ 500
