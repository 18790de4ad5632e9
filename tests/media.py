"""Decoding helpers for tests and benchmarks: frames of a video at a chosen rate and size.

The pipeline itself never needs a list of frames (its consumers ride one decode pass); tests
and benchmarks often do, so this lives beside them, not in the package.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from transforms.analyze.decode import RateGate, open_video, resize_short_side


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
        for index, time, image in video.frames(lambda index, time: gate(time)):
            yield Frame(index, time, resize_short_side(image, short_side))
