"""Decoding helpers for tests and benchmarks: frames of a video at a chosen rate and size.

The pipeline itself never needs a list of frames (its consumers ride one decode pass); tests
and benchmarks often do, so this lives beside them, not in the package.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import cv2
import numpy as np

from transforms.analyze.decode import RateGate, even_size, open_video
from transforms.dedup.fingerprint import HASHERS
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

    def i420_even_short_side(self, short_side: int | None) -> np.ndarray:
        image = resize_short_side(self.image, short_side)
        height, width = image.shape[:2]
        if width % 2 or height % 2:
            image = cv2.resize(image, even_size(width, height), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)

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


def resize_short_side(image: np.ndarray, short_side: int | None) -> np.ndarray:
    """Downscale so the shorter side is ``short_side`` pixels (never upscales; None keeps the
    size). Always returns a new array, so it is safe on the decoder's reused buffer.

    Area interpolation, computed as exact 2x2 box halvings while at least 4x too large, then
    one area resize for the rest: OpenCV's integer-factor area path is several times faster
    than its general one, and the result is within ~1 grey level of a single area resize.
    """
    if not short_side:
        return image.copy()
    h, w = image.shape[:2]
    scale = short_side / min(h, w)
    if scale >= 1.0:
        return image.copy()
    while min(h, w) >= 4 * short_side:
        h, w = h // 2, w // 2
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    size = (max(1, round(image.shape[1] * short_side / min(h, w))),
            max(1, round(image.shape[0] * short_side / min(h, w))))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def to_gray(image: np.ndarray) -> np.ndarray:
    """BGR uint8 (or already grey) image -> grey uint8."""
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def hash_frame(image: np.ndarray, kind: str = "phash256") -> tuple[bytes, int]:
    """Hash of one BGR (or grey) uint8 frame: ``(hash bytes, quality 0..100)``."""
    return HASHERS[kind](to_gray(image))


def looped_footage(uris: tuple[str, ...], seconds: float, fps: int = 25,
                   size: tuple[int, int] = (160, 120),
                   segment: float = 15.0) -> Iterator[np.ndarray]:
    """``seconds`` of real footage as BGR frames of ``size`` (width, height) at ``fps``:
    ``segment``-second excerpts of ``uris`` in turn, each source going on (looped) from where
    its last excerpt ended, so there is a hard cut every ``segment`` seconds. The sources are
    decoded once; their frames are repeated or skipped to ``fps``."""
    sources = []
    for uri in uris:
        frames = [(f.time, cv2.resize(f.image, size, interpolation=cv2.INTER_AREA))
                  for f in iter_frames(uri)]
        times = [t for t, _ in frames]
        resampled = []
        for k in range(max(1, int((times[-1] - times[0]) * fps))):
            j = min(bisect.bisect_left(times, times[0] + k / fps), len(times) - 1)
            resampled.append(frames[j][1])
        sources.append(resampled)
    per_segment = round(segment * fps)
    used = [0] * len(sources)
    for i in range(round(seconds * fps)):
        which = (i // per_segment) % len(sources)
        frames = sources[which]
        yield frames[used[which] % len(frames)]
        used[which] += 1
