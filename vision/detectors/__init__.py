"""Face detectors, each behind the ``FaceDetector`` port: boxes with a score, nothing more.

What a face *is* for the headcount (how many detectors must agree, how sure one must be) is
decided by ``vision.headcount.count_faces``, not here. Models load from files installed with the
packages or shipped in ``data/``; nothing is ever downloaded.
"""

from vision.detectors.port import Detection, FaceDetector, Picture, detect_all

__all__ = ["Detection", "FaceDetector", "Picture", "detect_all"]
