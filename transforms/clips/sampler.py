"""Cutting fixed-length clips inside every shot while a video streams through the decoder.

A frame consumer; no Beam here. Defaults follow HACS Clips: 2-second clips (Zhao et al., ICCV
2019, Sec. 3: "we sample 2-second clips").

Clips of a shot start at the shot's start and every ``stride`` seconds after it, and must end
inside the shot: a clip that a cut interrupts is discarded. Shots are found in the same pass
(a ``transforms.shots.detector.ShotDetector``), whose cut decisions come a few frames late, so
the cutter holds the frames not yet settled (references, a few dozen at most) and cuts clips
from settled frames only. Every shot gets its clips before anyone knows whether it has people
in it: the person filter later keeps the clips of kept shots and discards the rest.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from transforms.clips.codec import CLIP_CRF, H264, JPEG, encode_h264
from transforms.jpeg import encode_jpeg
from transforms.shots.detector import ShotBoundaries
from transforms.types import Outcome, Reason, Stage, Status, VideoRef

CLIP_SECONDS = 2.0
CLIP_STRIDE = 2.0
FRAMES_PER_CLIP = 16
SHORT_SIDE = 128
JPEG_QUALITY = 90


@dataclass(frozen=True)
class ClipSpec:
    """A planned clip: its span in seconds and the source times of its frames (none: every
    decoded frame of the span)."""

    start: float
    end: float
    targets: tuple[float, ...]
    shot_index: int = -1
    person_score: float = -1.0


@dataclass(frozen=True)
class SampledClip:
    """A finished clip: the real source time of each frame and the frames, as JPEG images
    (``frames``) or one H.264 video (``video``, ``codec`` "h264")."""

    spec: ClipSpec
    frames: tuple[bytes, ...]
    timestamps: tuple[float, ...]
    height: int
    width: int
    codec: str = JPEG
    video: bytes = b""


def clips_outcome(ref: VideoRef, clips: int, kept_shots: int, duration: float,
                  clip_seconds: float = CLIP_SECONDS) -> Outcome:
    """Where a video ends once the clips of its ``kept_shots`` (a count) are written: kept
    with its ``clips`` (a count), or, with none, dropped ``too_short``: no whole
    ``clip_seconds`` clip fits in a kept shot of its ``duration`` seconds of decoded video."""
    if clips:
        return Outcome(ref.video_id, ref.uri, Status.KEPT, Stage.CLIPS, clips=clips)
    return Outcome(ref.video_id, ref.uri, Status.DROPPED, Stage.CLIPS, Reason.TOO_SHORT,
                   f"no {clip_seconds:g} s clip fits in the {kept_shots} kept shots of "
                   f"{duration:.2f} s of decoded video")


class _OpenClip:
    """A clip being filled: its frames as decoded (index, frame), converted only once the
    clip is known to lie inside its shot."""

    __slots__ = ("spec", "frames", "times")

    def __init__(self, spec: ClipSpec):
        self.spec = spec
        self.frames: list[tuple[int, object]] = []
        self.times: list[float] = []

    @property
    def next_target(self) -> float:
        return self.spec.targets[len(self.frames)]

    @property
    def done(self) -> bool:
        return bool(self.spec.targets) and len(self.frames) == len(self.spec.targets)


class ClipCutter:
    """Frame consumer that cuts clips inside every shot of ``boundaries`` while the video
    streams past.

    Each planned frame time is served by the first decoded frame at or after it, less half a
    nominal frame period ``frame_period`` (so the nearest frame on a regular stream); with
    ``frames_per_clip`` None a clip holds every decoded frame of its span (from its start to
    its end, each less half a period). A clip holds its frames as decoded until the shot is
    known to last until its end; only then are they converted to ``short_side`` pixels and
    encoded (once, even when overlapping clips share them): JPEG images, or with ``codec``
    "h264" one H.264 video of quality ``crf`` (``transforms.clips.codec``), so clips that a
    cut interrupts cost no conversion. Finished clips are
    collected by :meth:`drain`; call :meth:`finish` when the pass ends. Put it after the shot
    detector in the pass's consumer list; it wants every frame (the start of a shot is only
    known a few frames later).
    """

    def __init__(self, boundaries: ShotBoundaries, frame_period: float,
                 clip_seconds: float = CLIP_SECONDS, stride: float = CLIP_STRIDE,
                 frames_per_clip: int | None = FRAMES_PER_CLIP, short_side: int = SHORT_SIDE,
                 jpeg_quality: int = JPEG_QUALITY, codec: str = JPEG, crf: int = CLIP_CRF):
        if clip_seconds <= 0 or stride <= 0 or (frames_per_clip is not None
                                                 and frames_per_clip < 1):
            raise ValueError("clip_seconds, stride and frames_per_clip must be positive")
        self._bounds = boundaries
        self._half = frame_period / 2.0
        self._seconds = clip_seconds
        self._stride = stride
        self._count = frames_per_clip or 0
        self._step = clip_seconds / self._count if self._count else 0.0
        self._short_side = short_side
        self._quality = jpeg_quality
        self._codec, self._crf = codec, crf
        self._fifo: deque[tuple[int, float, object]] = deque()   # frames not yet settled
        self._cuts_applied = 0
        self._shot = -1
        self._shot_start = 0.0
        self._k = 0                                 # next clip of the shot to open
        self._spec: ClipSpec | None = None          # its spec, made once (not per frame)
        self._open: list[_OpenClip] = []
        self._finished: list[_OpenClip] = []        # complete, waiting for the shot to last
        self._ready: list[SampledClip] = []
        self._cache: dict[int, tuple[object, tuple[int, int]]] = {}  # index -> image, shape

    def wants(self, index: int, time: float) -> bool:
        return True

    def add(self, index: int, time: float, frame) -> None:
        self._fifo.append((index, time, frame))
        self._settle(self._bounds.settled_before)

    def finish(self, end_time: float) -> None:
        """The pass is over (and the boundaries final): cut from the frames still held, keep
        the clips that end by ``end_time`` (seconds, the end of the last frame) and drop the
        clips the video ends before."""
        self._settle(math.inf)
        self._close_shot(end_time)

    def drain(self) -> list[SampledClip]:
        """Clips finished since the last call, in completion order."""
        ready, self._ready = self._ready, []
        return ready

    def _settle(self, upto: float) -> None:
        cuts = self._bounds.final_cuts
        while self._fifo and self._fifo[0][0] < upto:
            index, time, frame = self._fifo.popleft()
            if self._shot < 0:
                self._start_shot(time)
            elif self._cuts_applied < len(cuts) and cuts[self._cuts_applied] == index:
                self._cuts_applied += 1
                self._close_shot(time)
                self._start_shot(time)
            self._feed(index, time, frame)

    def _start_shot(self, time: float) -> None:
        self._shot += 1
        self._shot_start = time
        self._k = 0
        self._spec = None

    def _close_shot(self, end: float) -> None:
        """The shot in progress ends at ``end`` seconds: its clips that end by then are good,
        the others (and every unfinished one) are discarded. A clip of every frame is
        complete once its span has passed."""
        spanned = [c for c in self._open if not c.spec.targets and c.frames]
        self._confirm([c for c in (*self._finished, *spanned) if c.spec.end <= end + 1e-6])
        self._finished = []
        self._open = []

    def _next_spec(self) -> ClipSpec:
        start = self._shot_start + self._k * self._stride
        return ClipSpec(start=start, end=start + self._seconds,
                        targets=tuple(start + i * self._step for i in range(self._count)),
                        shot_index=self._shot)

    def _feed(self, index: int, time: float, frame) -> None:
        if self._finished:  # the shot lasts at least until this frame
            self._confirm([c for c in self._finished if c.spec.end <= time + 1e-6])
            self._finished = [c for c in self._finished if c.spec.end > time + 1e-6]
        if self._spec is None:
            self._spec = self._next_spec()
        while self._spec.start - self._half <= time:
            self._open.append(_OpenClip(self._spec))
            self._k += 1
            self._spec = self._next_spec()
        still_open = []
        for clip in self._open:
            if not clip.spec.targets:   # every frame of the span
                if time < clip.spec.end - self._half:
                    clip.frames.append((index, frame))
                    clip.times.append(time)
                    still_open.append(clip)
                elif clip.frames:
                    self._finished.append(clip)
                continue
            while not clip.done and time >= clip.next_target - self._half:
                clip.frames.append((index, frame))
                clip.times.append(time)
            if clip.done:
                self._finished.append(clip)
            else:
                still_open.append(clip)
        self._open = still_open

    def _confirm(self, clips: list[_OpenClip]) -> None:
        """Convert and encode the frames of clips that lie inside their shot."""
        for clip in clips:
            encoded = [self._encoded(index, frame) for index, frame in clip.frames]
            height, width = encoded[-1][1]
            if self._codec == H264:
                video = encode_h264([e[0] for e in encoded], clip.times, self._crf)
                self._ready.append(SampledClip(clip.spec, (), tuple(clip.times), height, width,
                                               H264, video))
                continue
            self._ready.append(SampledClip(clip.spec, tuple(e[0] for e in encoded),
                                           tuple(clip.times), height, width))
        # Overlapping clips share frames; a frame before the earliest one still held is
        # needed by no clip any more.
        held = [i for c in (*self._finished, *self._open) for i, _ in c.frames[:1]]
        oldest = min(held, default=None)
        self._cache = {i: v for i, v in self._cache.items() if oldest is not None and i >= oldest}

    def _encoded(self, index: int, frame) -> tuple[object, tuple[int, int]]:
        """The frame as stored: JPEG bytes, or the small yuv420p picture H.264 takes."""
        if index not in self._cache:
            if self._codec == H264:
                small = frame.i420_even_short_side(self._short_side)
                self._cache[index] = (small, (small.shape[0] * 2 // 3, small.shape[1]))
            else:
                small = frame.bgr_short_side(self._short_side)
                self._cache[index] = (encode_jpeg(small, self._quality), small.shape[:2])
        return self._cache[index]
