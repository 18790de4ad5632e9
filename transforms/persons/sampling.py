"""Frames to score per shot, and the keep/drop decision from person scores.

:class:`ShotFrameSampler` rides in the same decode pass as a
:class:`transforms.shots.detector.ShotDetector` (and fingerprints, clips...). Shots are only
final a few frames after their cut, so the sampler keeps a small reservoir of downscaled frames
for the
shot in progress (every ``step``-th frame; when full it drops every other one and doubles
``step``) plus every frame the detector has not settled yet (its decision lag and, with a
cut pending, the minimum shot length: so the start of a shot whose cut is not final yet is not
lost to decimation), and when the detector makes a cut final
it keeps, for the shot that closed, the frames nearest 1/3 and 2/3 of its span as JPEG bytes.
Memory: one reservoir, a short tail and two JPEGs per shot, whatever the video's length.

HACS (Zhao et al., ICCV 2019, Sec. 3.1) keeps a shot when a person detector fires on it
(max person score >= 0.5) and drops a video with no such shot; it kept 49.7% of shots.
Plain functions; no Beam here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

from transforms.analyze.decode import DecodedFrame, DecodeStats
from transforms.jpeg import encode_jpeg
from transforms.shots.detector import ShotDetector
from transforms.types import Outcome, Reason, Shot, ShotFrame, Stage, Status, TimeRange

POSITIONS = (1 / 3, 2 / 3)
SHORT_SIDE = 320
RESERVOIR = 16
JPEG_QUALITY = 85
PERSON_THRESHOLD = 0.5


class ShotFrameSampler:
    """Frame consumer that picks frames to score for every shot a ShotDetector finds.

    Put it AFTER ``detector`` in the consumer list of the same ``decode_pass``; it wants every
    frame (a frame between a cut and its decision may be needed). ``positions``
    are fractions of a shot's span (default 1/3 and 2/3); frames are downscaled to
    ``short_side`` pixels and JPEG-encoded at ``jpeg_quality``; ``reservoir`` frames at most
    are held for the shot in progress.
    """

    def __init__(self, detector: ShotDetector, video_id: str,
                 positions: Sequence[float] = POSITIONS, short_side: int = SHORT_SIDE,
                 reservoir: int = RESERVOIR, jpeg_quality: int = JPEG_QUALITY):
        if reservoir < 2 * len(positions) or not positions:
            raise ValueError("reservoir must hold at least two frames per position")
        if any(not 0.0 <= p <= 1.0 for p in positions):
            raise ValueError("positions are fractions of a shot, in 0..1")
        self._detector = detector
        self.video_id = video_id
        self._positions = tuple(positions)
        self._short_side = short_side
        self._capacity = reservoir
        self._quality = jpeg_quality
        # (index, time, frame): decoded frames are kept as they are and only the chosen two
        # per shot are converted, at detector size.
        self._held: list[tuple[int, float, DecodedFrame]] = []
        self._tail: deque[tuple[int, float, DecodedFrame]] = deque()
        self._step = 1
        self._shot_start = 0       # decode index where the shot in progress starts
        self._closed = 0           # final cuts already applied
        self._shot_index = 0
        self._frames: list[ShotFrame] = []   # finished shots' frames not yet drained
        self._done = False

    def wants(self, index: int, time: float) -> bool:
        return True

    def add(self, index: int, time: float, frame: DecodedFrame) -> None:
        self._apply_cuts()
        self._tail.append((index, time, frame))
        self._settle(min(self._detector.settled_before, index + 1))

    def _settle(self, upto: int) -> None:
        """Frames before decode index ``upto`` are in the shot in progress for good: move
        them from the tail to the reservoir (on its grid), decimating it when full."""
        while self._tail and self._tail[0][0] < upto:
            frame = self._tail.popleft()
            if (frame[0] - self._shot_start) % self._step:
                continue
            self._held.append(frame)
            while len(self._held) > self._capacity:
                self._step *= 2
                self._held = [h for h in self._held
                              if (h[0] - self._shot_start) % self._step == 0]

    def _apply_cuts(self) -> None:
        cuts = self._detector.final_cuts
        while self._closed < len(cuts):
            cut = cuts[self._closed]
            self._closed += 1
            self._close(cut)

    def _close(self, end: int) -> None:
        """Close the shot in progress at decode index ``end`` (exclusive)."""
        pool = [*self._held, *self._tail]
        inside = [h for h in pool if h[0] < end]
        rest = [h for h in pool if h[0] >= end]
        span = end - self._shot_start
        chosen: list[tuple[int, float, DecodedFrame]] = []
        for p in self._positions:
            target = self._shot_start + p * span
            free = [h for h in inside if all(h[0] != c[0] for c in chosen)] or inside
            if free:
                chosen.append(min(free, key=lambda h: abs(h[0] - target)))
        for _, time, frame in sorted({c[0]: c for c in chosen}.values(), key=lambda c: c[0]):
            small = frame.bgr_short_side(self._short_side)
            self._frames.append(ShotFrame(self.video_id, self._shot_index, time,
                                          encode_jpeg(small, self._quality)))
        self._shot_index += 1
        self._shot_start = end
        self._step = 1
        self._held = []
        self._tail = deque(rest)

    def drain(self) -> list[ShotFrame]:
        """Frames of the shots finished since the last call, in shot order (a shot gets one
        frame per position, fewer when it has fewer frames)."""
        ready, self._frames = self._frames, []
        return ready

    def finish(self, stats: DecodeStats) -> None:
        """Finish the pass (finishing the detector too): the last shot's frames are ready."""
        if not self._done:
            self._detector.result(stats)
            self._apply_cuts()
            self._close(stats.frames_decoded)
            self._held = []
            self._tail.clear()
            self._done = True

    def result(self, stats: DecodeStats) -> list[ShotFrame]:
        """Finish the pass and return the frames of the shots not drained yet (all of them
        when :meth:`drain` was never called)."""
        self.finish(stats)
        return self.drain()


def select_person_shots(shots: Sequence[Shot], scores: Mapping[int, float],
                        threshold: float = PERSON_THRESHOLD) -> list[TimeRange]:
    """Shots whose person score reaches ``threshold``, as time ranges for clip sampling.
    A shot with no score (no frame scored) is not kept."""
    return [TimeRange(s.start, s.end, s.index, scores[s.index]) for s in shots
            if scores.get(s.index, -1.0) >= threshold]


def no_person_outcome(video_id: str, uri: str, shots: Sequence[Shot],
                      scores: Mapping[int, float], threshold: float = PERSON_THRESHOLD,
                      stats: DecodeStats | None = None) -> Outcome | None:
    """The ``dropped``/``no_person`` Outcome of a video with no kept shot, or None when some
    shot is kept. Evidence: shot count, best score, the threshold and each shot's score (0
    for a shot with no frame scored), for the report's gallery."""
    if select_person_shots(shots, scores, threshold):
        return None
    best = max(scores.values(), default=0.0)
    return Outcome(
        video_id=video_id, uri=uri, status=Status.DROPPED, stage=Stage.PERSONS,
        reason=Reason.NO_PERSON,
        message=f"no shot reaches person score {threshold:g} (best {best:.2f} over "
                f"{len(shots)} shots)",
        duration=stats.duration if stats else 0.0,
        frames=stats.frames_decoded if stats else 0,
        size_bytes=stats.size_bytes if stats else 0,
        evidence={"shots": len(shots), "best_score": round(best, 4), "threshold": threshold,
                  "shot_scores": [round(scores.get(shot.index, 0.0), 4) for shot in shots]})
