"""Is the face in a selfie a live person, or a photo of a photo (a print or a phone screen held
up to the kiosk)? ``FaceLiveness`` scores a face with two small anti-spoofing networks; the
``LivenessPolicy`` says when that score makes the selfie a suspected spoof."""

from vision.liveness.model import FaceLiveness, Liveness, LivenessPolicy, liveness_crop

__all__ = ["FaceLiveness", "Liveness", "LivenessPolicy", "liveness_crop"]
