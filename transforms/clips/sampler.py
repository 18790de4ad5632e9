"""Cutting fixed-length clips out of time ranges while a video streams through the decoder.

Plain functions and a frame consumer; no Beam here. Defaults follow HACS Clips: 2-second clips
(Zhao et al., ICCV 2019, Sec. 3: "we sample 2-second clips").
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from transforms.analyze.decode import resize_short_side
from transforms.output.records import encode_jpeg
from transforms.types import TimeRange

CLIP_SECONDS = 2.0
CLIP_STRIDE = 2.0
FRAMES_PER_CLIP = 16
SHORT_SIDE = 128
JPEG_QUALITY = 90


@dataclass(frozen=True)
class ClipSpec:
    """A planned clip: its span in seconds and the source times of its frames."""

    start: float
    end: float
    targets: tuple[float, ...]
    shot_index: int = -1
    person_score: float = -1.0


@dataclass(frozen=True)
class SampledClip:
    """A finished clip: JPEG frames and the real source time of each."""

    spec: ClipSpec
    frames: tuple[bytes, ...]
    timestamps: tuple[float, ...]
    height: int
    width: int


def plan_clips(ranges: Sequence[TimeRange], clip_seconds: float = CLIP_SECONDS,
               stride: float = CLIP_STRIDE,
               frames_per_clip: int = FRAMES_PER_CLIP) -> Iterator[ClipSpec]:
    """Clips of ``clip_seconds`` every ``stride`` seconds inside each range, in time order.

    A range's end may be ``math.inf`` (the whole video: clips then stop where decoding
    stops). Frames are planned at ``start + i * clip_seconds / frames_per_clip``.
    """
    if clip_seconds <= 0 or stride <= 0 or frames_per_clip < 1:
        raise ValueError("clip_seconds, stride and frames_per_clip must be positive")
    step = clip_seconds / frames_per_clip
    for rng in sorted(ranges, key=lambda r: r.start):
        k = 0
        while True:
            start = rng.start + k * stride
            end = start + clip_seconds
            if end > rng.end + 1e-6:
                break
            yield ClipSpec(start=start, end=end,
                           targets=tuple(start + i * step for i in range(frames_per_clip)),
                           shot_index=rng.shot_index, person_score=rng.person_score)
            k += 1


class _OpenClip:
    __slots__ = ("spec", "frames", "times", "shape")

    def __init__(self, spec: ClipSpec):
        self.spec = spec
        self.frames: list[bytes] = []
        self.times: list[float] = []
        self.shape = (0, 0)

    @property
    def next_target(self) -> float:
        return self.spec.targets[len(self.frames)]

    @property
    def done(self) -> bool:
        return len(self.frames) == len(self.spec.targets)


def target_times(plan: Iterator[ClipSpec]) -> Iterator[float]:
    """All planned frame times of ``plan`` (clips in start order) merged in time order;
    a time shared by overlapping clips comes once per clip."""
    heap: list[tuple[float, int, int, ClipSpec]] = []
    pending = next(plan, None)
    seq = 0
    while heap or pending is not None:
        while pending is not None and (not heap or pending.targets[0] <= heap[0][0]):
            heapq.heappush(heap, (pending.targets[0], seq, 0, pending))
            seq += 1
            pending = next(plan, None)
        time, order, i, clip = heapq.heappop(heap)
        yield time
        if i + 1 < len(clip.targets):
            heapq.heappush(heap, (clip.targets[i + 1], order, i + 1, clip))


class ClipSampler:
    """Frame consumer that fills planned clips while the video streams past.

    Each planned frame time is served by the first decoded frame at or after it, less half a
    nominal frame period (so the nearest frame on a regular stream). Frames are downscaled to
    ``short_side`` and JPEG-encoded once, even when overlapping clips share them. Finished
    clips are collected by :meth:`drain`; clips the video ends before are discarded.

    ``wants`` keeps its own cursor over the planned times and never looks at what ``add``
    did, so a prefetching decoder may call it ahead of ``add``.
    """

    def __init__(self, ranges: Sequence[TimeRange], frame_period: float,
                 clip_seconds: float = CLIP_SECONDS, stride: float = CLIP_STRIDE,
                 frames_per_clip: int = FRAMES_PER_CLIP, short_side: int = SHORT_SIDE,
                 jpeg_quality: int = JPEG_QUALITY):
        def plan() -> Iterator[ClipSpec]:
            return plan_clips(ranges, clip_seconds, stride, frames_per_clip)

        self._plan = plan()
        self._pending = next(self._plan, None)
        self._targets = target_times(plan())
        self._next_target = next(self._targets, None)
        self._half = frame_period / 2.0
        self._short_side = short_side
        self._quality = jpeg_quality
        self._open: list[_OpenClip] = []
        self._ready: list[SampledClip] = []
        self._cache: tuple[int, bytes, tuple[int, int]] | None = None

    def wants(self, index: int, time: float) -> bool:
        wanted = False
        while self._next_target is not None and time >= self._next_target - self._half:
            wanted = True
            self._next_target = next(self._targets, None)
        return wanted

    @property
    def done(self) -> bool:
        """True once every planned clip is finished and handed to :meth:`drain`: the rest
        of the video is not needed (never, for an open-ended range)."""
        return self._pending is None and not self._open and not self._ready

    def add(self, index: int, time: float, image: np.ndarray) -> None:
        while self._pending is not None and self._pending.targets[0] - self._half <= time:
            self._open.append(_OpenClip(self._pending))
            self._pending = next(self._plan, None)
        for clip in self._open:
            while not clip.done and time >= clip.next_target - self._half:
                data, shape = self._encoded(index, image)
                clip.frames.append(data)
                clip.times.append(time)
                clip.shape = shape
        still_open = []
        for clip in self._open:
            if clip.done:
                self._ready.append(SampledClip(clip.spec, tuple(clip.frames), tuple(clip.times),
                                               clip.shape[0], clip.shape[1]))
            else:
                still_open.append(clip)
        self._open = still_open

    def _encoded(self, index: int, image: np.ndarray) -> tuple[bytes, tuple[int, int]]:
        if self._cache is None or self._cache[0] != index:
            small = resize_short_side(image, self._short_side)
            self._cache = (index, encode_jpeg(small, self._quality), small.shape[:2])
        return self._cache[1], self._cache[2]

    def drain(self) -> list[SampledClip]:
        """Clips finished since the last call, in completion order."""
        ready, self._ready = self._ready, []
        return ready
