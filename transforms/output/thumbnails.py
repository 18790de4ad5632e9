"""Small pictures of a video for the run's report, made in the one decode pass.

A ``Thumbnailer`` rides the analysis pass and keeps a small JPEG (``WIDTH`` pixels wide) of
the frames the fingerprints sample (the same rate gate, so a duplicate's matched frame
times have a picture), at most ``MAX_PER_VIDEO`` of them, evenly thinned. They go to the
video's result file (the work folder, removed after the run); the report copies those of
the few videos it shows into its own folder. No extra decode. Plain Python, no Beam.
"""

from __future__ import annotations

from transforms.analyze.decode import RateGate
from transforms.jpeg import encode_jpeg

WIDTH = 96
QUALITY = 75
FPS = 2.0
MAX_PER_VIDEO = 64


class Thumbnailer:
    """Frame consumer: ``(time, JPEG)`` thumbnails of frames at ``fps`` (every other one
    dropped, twice the spacing, whenever more than ``limit`` are held)."""

    def __init__(self, fps: float = FPS, width: int = WIDTH, limit: int = MAX_PER_VIDEO):
        self._gate = RateGate(fps)
        self._width = width
        self._limit = limit
        self._keep_every = 1
        self._seen = 0
        self.thumbs: list[tuple[float, bytes]] = []

    def wants(self, index: int, time: float) -> bool:
        return self._gate(time)

    def add(self, index: int, time: float, frame) -> None:
        self._seen += 1
        if (self._seen - 1) % self._keep_every:
            return  # thinned: not converted
        height = max(1, round(frame.height * self._width / frame.width))
        self.thumbs.append((time, encode_jpeg(frame.bgr(self._width, height), QUALITY)))
        if len(self.thumbs) > self._limit:
            self.thumbs = self.thumbs[::2]
            self._keep_every *= 2
