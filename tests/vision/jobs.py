"""Module-level jobs for the worker tests (worker processes import them by name)."""

from __future__ import annotations

import os
import time


def add(a: int, b: int) -> int:
    """A job that works."""
    return a + b


def crash() -> None:
    """A job that kills its process the way a segfault in native code would."""
    os._exit(139)


def sleep(seconds: float) -> float:
    """A job that takes its time."""
    time.sleep(seconds)
    return seconds


def pid() -> int:
    """Which process ran the job."""
    return os.getpid()


def fail() -> None:
    """A job that raises."""
    raise ValueError("bad input")


def model_loads() -> tuple[int, int]:
    """Which process this is and how many times it has loaded the models."""
    from vision.detectors.models import load_models

    return os.getpid(), load_models.cache_info().misses
