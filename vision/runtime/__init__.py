"""Where vision work runs: a small pool of worker processes (``VisionRunner``) that load the
models once and take jobs off the event loop.

How the app asks for a room analysis, and what comes back::

    runner = VisionRunner(processes=1, queue_size=32, timeout=30.0)
    runner.start()                       # or ``with VisionRunner(...) as runner:``
    outcome = await runner.analyse_room(jpeg_bytes, kit=None, earlier=[other_day_bytes, ...])

* ``earlier``: photos of the same room from *other* sessions, at least
  ``vision.headcount.STATIC_GAP`` apart from this one (at most ``EARLIER_PHOTOS``, nearest
  first). A face found unchanged in them is a picture on the wall, not a person. Empty is fine.
* ``kit``: the course's ``vision.room.materials.CourseKit`` (marker id → material), or ``None``.
* ``submit``/``analyse_room`` raise ``RunnerBusy`` at once when the queue is full (answer 503).
* The outcome is a ``JobOutcome``, never an exception: ``ok`` and ``value`` (a
  ``vision.room.analysis.RoomAnalysis``), or ``reason`` (a code: ``timeout``,
  ``worker_crashed``, ``image_rejected`` reasons, ``job_failed``) and ``detail`` (for logs);
  ``elapsed_ms`` is the time in the worker.
* ``value.to_payload()`` is the JSON-ready ``PhotoAnalysed`` result: ``headcount`` (the count),
  ``headcount_min``/``headcount_max`` (the range the count is sure of; equal when sure),
  ``attention_share`` (share of counted people looking at the front, or ``None``), ``faces``
  (each ``box`` [x, y, w, h] in the photo's pixels, ``detectors`` that saw it, ``confirmed``:
  counted, and ``reason``: a ``vision.headcount.Reason`` code the web layer puts in words),
  ``materials`` (present, missing, markers) and ``photo`` (forensic facts).

Selfies go the same way: ``check_selfie``, ``verify``, ``identify`` (values from
``vision.identity``), and ``photo_facts`` for hashes and EXIF.
"""

from vision.runtime.runner import JobOutcome, RunnerBusy, VisionRunner

__all__ = ["JobOutcome", "RunnerBusy", "VisionRunner"]
