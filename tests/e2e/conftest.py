"""Browser fixtures for the page tests: one chromium per module, one fresh context per test.

A module sets `VIEWPORT = {"width": ..., "height": ...}` for another window size; a module
that needs chromium started differently (a fake camera) defines its own `browser`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.support.browser import chromium

DEFAULT_VIEWPORT = {"width": 1600, "height": 900}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    viewport = getattr(request.module, "VIEWPORT", DEFAULT_VIEWPORT)
    context = browser.new_context(viewport=viewport)
    yield context.new_page()
    context.close()


@pytest.fixture
def rooms(tmp_path: Path) -> Path:
    """Where a scenario writes its room photos and the fake analyser's answers beside them
    (`anomaly_support.room_photo`)."""
    folder = tmp_path / "rooms"
    folder.mkdir()
    return folder
