"""The vision engines and the clock that `app.bootstrap.build` wires in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.alerts.follower import Clock, system_clock
from app.services.vision_adapters import PooledRoomAnalyser, RoomAnalyser, VisionPool
from app.settings import Settings
from vision.identity.engine import SelfieMatcher


@dataclass(frozen=True)
class Adapters:
    """What the app reaches outside itself besides its stores: the vision ports and the
    clock. Real ones by default (`real_adapters`); tests pass fakes (``vision.fake``)."""

    #: room photos are analysed where this is set (``None``: stored, analysed elsewhere)
    analyser: RoomAnalyser | None
    #: the face engine, loaded when the first selfie arrives
    faces: Callable[[], SelfieMatcher]
    clock: Clock = system_clock


def real_adapters(settings: Settings) -> Adapters:
    """The dlib/OpenCV models: room photos in `settings.vision_processes` processes
    (started on the first photo; with none, this process analyses no room photo), selfies
    in this process."""
    analyser = None
    if settings.vision_processes > 0:
        analyser = PooledRoomAnalyser(VisionPool(settings.vision_processes))
    return Adapters(analyser=analyser, faces=_face_engine(settings))


def _face_engine(settings: Settings) -> Callable[[], SelfieMatcher]:
    """The dlib face engine with the configured selfie rules (its models load when the first
    selfie arrives)."""

    def load() -> SelfieMatcher:
        from vision.identity.engine import DlibFaceEngine, SelfieRules
        from vision.liveness import LivenessPolicy

        rules = SelfieRules(
            min_sharpness=settings.face_min_sharpness,
            min_face=settings.face_min_face_px,
            liveness=LivenessPolicy(
                spoof_below=settings.face_spoof_below,
                refuse_below=settings.face_spoof_refuse_below,
            ),
        )
        return DlibFaceEngine(rules=rules)

    return load
