"""Errors raised by the vision package, each with a stable machine reason code."""

from __future__ import annotations


class VisionError(Exception):
    """Base class: every vision error carries a stable ``reason`` code (see ``vision.messages``)."""

    reason: str = "vision_error"

    def __init__(self, reason: str | None = None, detail: str = "") -> None:
        if reason is not None:
            self.reason = reason
        self.detail = detail
        super().__init__(f"{self.reason}: {detail}" if detail else self.reason)


class ImageRejected(VisionError):
    """The bytes are not an image we accept: too large, corrupt, a decompression bomb."""

    reason = "image_corrupt"
