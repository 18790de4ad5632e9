"""Decoding helpers for tests and benchmarks: frames of a video at a chosen rate and size.

The pipeline itself never needs a list of frames (its consumers ride one decode pass); tests
and benchmarks often do, so this lives beside them, not in the package.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import cv2
import numpy as np

from transforms.analyze.decode import RateGate, open_video, resize_short_side
from transforms.shots.histogram import shrink


@dataclass(frozen=True)
class Frame:
    """A decoded frame: ``image`` is BGR uint8; ``time`` in seconds from the decoder."""

    index: int
    time: float
    image: np.ndarray


def iter_frames(uri: str, fps: float | None = None,
                short_side: int | None = None) -> Iterator[Frame]:
    """Yield frames of ``uri`` at no more than ``fps`` per second (None: every frame),
    downscaled to ``short_side`` (None: the decoded size), each in its own array, while
    decoding (nothing is buffered)."""
    gate = RateGate(fps)
    with open_video(uri) as video:
        for index, time, frame in video.frames(lambda index, time: gate(time)):
            yield Frame(index, time, frame.bgr_short_side(short_side))


class ArrayFrame:
    """A BGR array in the shape of a decoded frame (``transforms.analyze.decode.DecodedFrame``),
    for feeding frame consumers with synthetic or edited images."""

    def __init__(self, image: np.ndarray):
        self.image = image
        self.height, self.width = image.shape[:2]

    def gray(self) -> np.ndarray:
        return cv2.cvtColor(self.image, cv2.COLOR_BGR2GRAY)

    def bgr(self, width: int | None = None, height: int | None = None) -> np.ndarray:
        if (width or self.width, height or self.height) == (self.width, self.height):
            return self.image.copy()
        return cv2.resize(self.image, (width, height), interpolation=cv2.INTER_AREA)

    def bgr_short_side(self, short_side: int | None) -> np.ndarray:
        return resize_short_side(self.image, short_side)

    def small_bgr(self, width: int) -> np.ndarray:
        return shrink(self.image, width).copy()


def encode_video(path: str, frames, fps: int = 10, times: list[float] | None = None,
                 rotation: int = 0, gop: int = 10) -> str:
    """Write BGR ``frames`` as an H.264 MP4 (libx264 in PyAV) at ``fps``; ``times`` gives each
    frame's presentation time in seconds instead (a variable frame rate); ``rotation`` writes
    a display matrix (degrees counter-clockwise); a keyframe every ``gop`` frames."""
    import av

    with av.open(path, "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        first = None
        for i, image in enumerate(frames):
            if first is None:
                first = image
                stream.height, stream.width = image.shape[:2]
                stream.pix_fmt = "yuv420p"
                stream.options = {"preset": "ultrafast", "g": str(gop), "bf": "0"}
                if times is not None:
                    stream.codec_context.time_base = Fraction(1, 1000)
                if rotation:
                    stream.set_display_rotation(rotation)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            if times is not None:
                frame.pts = round(times[i] * 1000)
                frame.time_base = Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
