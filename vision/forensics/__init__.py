"""What a photo's bytes say about where it came from: its hashes (SHA-256, perceptual hashes and
the near-duplicate index that finds resized, recompressed or cropped copies), its EXIF facts
(time taken, camera) and any QR code in it. Pure functions of the bytes; no models."""

from vision.forensics.facts import PhotoFacts, facts_of, photo_facts
from vision.forensics.hashes import DuplicateIndex, PhotoHashes

__all__ = ["DuplicateIndex", "PhotoFacts", "PhotoHashes", "facts_of", "photo_facts"]
