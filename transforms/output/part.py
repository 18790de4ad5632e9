"""The report's part of the decode pass: small thumbnails of each video for report.html's
galleries (``transforms.output.thumbnails``), written to the video's results when its pass
ends (``transforms.analyze.part``). No Beam."""

from __future__ import annotations

from dataclasses import dataclass

from transforms.analyze.part import AnalysisPart, VideoPass
from transforms.output.thumbnails import FPS, Thumbnailer


@dataclass(frozen=True)
class ThumbnailConfig:
    """``fps``: thumbnails sampled per second (the fingerprint rate when fingerprints are
    made, so a duplicate's matched frame times have a picture)."""

    fps: float = FPS


class _Run:
    def __init__(self, thumbnailer: Thumbnailer):
        self.consumer = thumbnailer
        self._done = False

    def drain(self, writer) -> None:
        # Thumbnails are thinned while the video streams past: written once, when it ends.
        if self._done:
            for time, jpeg in self.consumer.thumbs:
                writer.add_thumbnail(time, jpeg)
            self.consumer.thumbs = []

    def finish(self, stats) -> dict:
        self._done = True
        return {}


class ThumbnailPart(AnalysisPart):
    """Writes up to ``thumbnails.MAX_PER_VIDEO`` thumbnails per video to its results."""

    name = "thumbnails"
    config: ThumbnailConfig

    def start(self, video: VideoPass) -> _Run:
        return _Run(Thumbnailer(self.config.fps))
