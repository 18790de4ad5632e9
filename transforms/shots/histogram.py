"""Shot segmentation by colour-histogram distance, while a video streams through the decoder.

Each wanted frame is shrunk to ``width`` pixels (:func:`shrink`), converted to HSV and reduced to a
normalised joint H-S-V histogram; only the histogram survives the frame. The distance between
consecutive histograms jumps at a hard cut. A cut is declared where the distance passes
``threshold`` (and, adaptively, ``adaptive_ratio`` times its local mean as well, which keeps
fast motion from reading as cuts), with at least ``min_shot_seconds`` between cuts. Gradual
transitions (dissolves, fades) change consecutive frames only a little each; they are found by
comparing each frame with the one ``gradual_frames`` earlier.

Decisions are made online with a bounded lag, so a :class:`ShotDetector` can tell other consumers
of the same decode pass (:class:`transforms.persons.sampling.ShotFrameSampler`) which cuts are
final.
Plain numpy and OpenCV; no Beam here.

Defaults were chosen with ``benchmarks/bench_shots.py`` (see ``docs/shots.md``).
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from transforms.analyze.decode import DecodedFrame, DecodeStats, RateGate
from transforms.types import Shot, Transition

WIDTH = 64
BINS = (16, 16, 16)
DISTANCE = "l1"
THRESHOLD = 0.3
MIN_SHOT_SECONDS = 0.5
ADAPTIVE_RATIO = 3.0
ADAPTIVE_WINDOW = 8
GRADUAL_FRAMES = 8
GRADUAL_THRESHOLD = 0.45


def shrink(image: np.ndarray, width: int = WIDTH) -> np.ndarray:
    """Shrink a BGR image to ``width`` pixels wide (never enlarges): nearest-neighbour sampling
    to twice the width, then 2x2 averaging. Colour statistics survive; this costs a tenth of
    a direct INTER_AREA resize of a full frame, which dominated the detector's time."""
    h, w = image.shape[:2]
    if w <= width:
        return image
    height = max(1, round(h * width / w))
    if w > 2 * width:
        image = cv2.resize(image, (2 * width, 2 * height), interpolation=cv2.INTER_NEAREST)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def hsv_histogram(image: np.ndarray, bins: tuple[int, int, int] = BINS,
                  width: int = WIDTH) -> np.ndarray:
    """Joint H-S-V histogram of a BGR uint8 image shrunk to ``width`` pixels wide (an image
    already that small is used as it is).

    Returns float32 of ``bins[0] * bins[1] * bins[2]`` entries summing to 1 (OpenCV hue spans
    0..180, saturation and value 0..256).
    """
    hsv = cv2.cvtColor(shrink(image, width), cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, list(bins), [0, 180, 0, 256, 0, 256])
    hist = hist.ravel()
    return hist / max(float(hist.sum()), 1.0)


def l1_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Half the L1 distance of two normalised histograms: 0 (same) .. 1 (disjoint)."""
    return 0.5 * float(cv2.norm(p, q, cv2.NORM_L1))


def chi2_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Symmetric chi-square distance of two normalised histograms, sum (p-q)^2 / (p+q) / 2:
    0 (same) .. 1 (disjoint)."""
    return 0.25 * float(cv2.compareHist(p, q, cv2.HISTCMP_CHISQR_ALT))


def bhattacharyya_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Hellinger form of the Bhattacharyya distance, sqrt(1 - sum sqrt(p q)): 0 (same) ..
    1 (disjoint)."""
    bc = float(np.sqrt(p * q).sum())
    return float(np.sqrt(max(0.0, 1.0 - bc)))


DISTANCES: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "chi2": chi2_distance,
    "bhattacharyya": bhattacharyya_distance,
    "l1": l1_distance,
}


@dataclass(frozen=True)
class ShotParams:
    """Shot detection settings.

    ``threshold``: consecutive-frame distance (0..1) that marks a hard cut. ``adaptive``: cut
    only where the distance is also ``adaptive_ratio`` times its local level, the larger of
    its means over the ``adaptive_window`` frames before and after (those are waited for).
    ``min_shot_seconds``: shortest shot; of two cuts closer than this the stronger wins.
    ``gradual_frames``: compare each frame with the one this many frames back to find
    dissolves and fades (0: off), cut where that distance peaks above ``gradual_threshold``.
    ``fps``: histogram at most this many frames per second (None: every frame; frame counts
    above are in histogrammed frames).
    """

    bins: tuple[int, int, int] = BINS
    width: int = WIDTH
    distance: str = DISTANCE
    threshold: float = THRESHOLD
    min_shot_seconds: float = MIN_SHOT_SECONDS
    adaptive: bool = False
    adaptive_ratio: float = ADAPTIVE_RATIO
    adaptive_window: int = ADAPTIVE_WINDOW
    gradual_frames: int = GRADUAL_FRAMES
    gradual_threshold: float = GRADUAL_THRESHOLD
    fps: float | None = None

    def __post_init__(self) -> None:
        if self.distance not in DISTANCES:
            raise ValueError(f"distance must be one of {sorted(DISTANCES)}, not {self.distance}")
        if min(self.bins) < 1 or self.width < 8:
            raise ValueError("bins must be >= 1 and width >= 8")


class ShotDetector:
    """Frame consumer that cuts a video into shots during a decode pass.

    Memory is 24 bytes per histogrammed frame plus ``gradual_frames`` histograms. A cut is
    decided ``lag`` histogrammed frames after it happens and final once the minimum shot
    length has passed with no stronger cut; :attr:`final_cuts` lists final cuts (decode frame
    indices where a new shot starts) and :attr:`settled_before` how far shots are final, for
    consumers that follow shot boundaries.
    """

    def __init__(self, params: ShotParams | None = None):
        self.params = p = params or ShotParams()
        self._distance = DISTANCES[p.distance]
        self._gate = RateGate(p.fps)
        self._recent: deque[np.ndarray] = deque(maxlen=max(1, p.gradual_frames))
        # Per histogrammed frame, in compact arrays (24 bytes a frame: 2.6 MB for an hour at
        # 30 fps): decode index, time, distance to the previous frame (0 for the first) and to
        # the frame gradual_frames back (0 before that).
        self._indices = array("q")
        self._times = array("d")
        self._dist = array("f")
        self._gradual = array("f")
        self._decided = 0                 # positions whose cut decision is final
        self._candidate: tuple[int, float] | None = None   # (position, strength), not yet final
        self._cuts: list[int] = []        # positions of final cuts
        self.final_cuts: list[int] = []   # decode indices of final cuts
        self._shots: list[Shot] | None = None

    @property
    def lag(self) -> int:
        """Histogrammed frames after which a position's cut decision is final."""
        p = self.params
        return max(p.adaptive_window if p.adaptive else 1, p.gradual_frames) + 1

    @property
    def settled_before(self) -> int:
        """Decode index before which every frame's shot is final (later frames may still go
        to a new shot: a cut not yet decided, or decided but not yet final)."""
        if self._candidate is not None:
            return self._indices[self._candidate[0]]
        if self._decided < len(self._indices):
            return self._indices[self._decided]
        return self._indices[-1] + 1 if self._indices else 0

    def wants(self, index: int, time: float) -> bool:
        return self._gate(time)

    def add(self, index: int, time: float, frame: DecodedFrame) -> None:
        width = self.params.width
        hist = hsv_histogram(frame.small_bgr(width), self.params.bins, width)
        recent = self._recent
        self._dist.append(self._distance(hist, recent[-1]) if recent else 0.0)
        full = len(recent) == recent.maxlen and self.params.gradual_frames > 0
        self._gradual.append(self._distance(hist, recent[0]) if full else 0.0)
        recent.append(hist)
        self._indices.append(index)
        self._times.append(time)
        self._decide(len(self._dist) - self.lag)

    def _hard(self, i: int) -> bool:
        """Whether the step into position ``i`` is a hard cut."""
        p = self.params
        d = self._dist[i]
        if i == 0 or d < p.threshold:
            return False
        if not p.adaptive:
            return True
        w = p.adaptive_window
        before = self._dist[max(1, i - w):i]
        after = self._dist[i + 1:i + w + 1]
        # The busier side sets the level: motion on one side of a cut still counts.
        local = max(sum(before) / len(before) if before else 0.0,
                    sum(after) / len(after) if after else 0.0)
        return d >= p.adaptive_ratio * local

    def _strength(self, i: int) -> float:
        """How far position ``i`` is a cut (> 0) or not (0), from the distances around it."""
        if self._hard(i):
            return self._dist[i]
        return self._gradual_strength(i)

    def _gradual_strength(self, i: int) -> float:
        """A gradual transition centred at ``i``: the ``k``-back distance peaks at ``i + k/2``
        (pure old shot against pure new shot) and no single step there is a hard cut."""
        p = self.params
        k = p.gradual_frames
        j = i + k // 2
        if k <= 0 or j >= len(self._gradual) or j < k:
            return 0.0
        g = self._gradual[j]
        if g < p.gradual_threshold:
            return 0.0
        lo, hi = max(k, j - k // 2), min(len(self._gradual), j + k // 2 + 1)
        if any(self._gradual[m] > g for m in range(lo, hi)) or \
                any(self._gradual[m] == g for m in range(lo, j)):
            return 0.0
        if any(self._hard(m) for m in range(j - k + 1, j + 1)):
            return 0.0
        return g * p.threshold / p.gradual_threshold

    def _min_gap(self) -> int:
        """Shortest shot in histogrammed frames."""
        if len(self._times) < 2:
            return 1
        period = (self._times[-1] - self._times[0]) / (len(self._times) - 1)
        return max(1, int(round(self.params.min_shot_seconds / period))) if period > 0 else 1

    def _decide(self, upto: int) -> None:
        """Make positions before ``upto`` final: the strongest cut candidate wins over weaker
        ones closer than the minimum shot length, and is final once that much has passed."""
        gap = self._min_gap()
        while self._decided < upto:
            i = self._decided
            self._decided += 1
            if self._candidate is not None and i - self._candidate[0] >= gap:
                self._accept()
            s = self._strength(i)
            if s <= 0 or i - (self._cuts[-1] if self._cuts else 0) < gap:
                continue
            if self._candidate is None or s > self._candidate[1]:
                self._candidate = (i, s)

    def _accept(self) -> None:
        """Make the candidate cut final."""
        pos, _ = self._candidate  # type: ignore[misc]
        self._candidate = None
        self._cuts.append(pos)
        self.final_cuts.append(self._indices[pos])

    def result(self, stats: DecodeStats) -> list[Shot]:
        """Finish the pass and return the shots covering the whole decoded video (idempotent).

        The last shot ends at ``stats.frames_decoded`` / ``stats.duration`` seconds past the
        first frame; a video with no frame has no shot.
        """
        if self._shots is not None:
            return self._shots
        self._decide(len(self._dist))
        if self._candidate is not None and len(self._dist) - self._candidate[0] >= self._min_gap():
            self._accept()
        if not self._indices:
            self._shots = []
            return self._shots
        end_time = stats.first_time + stats.duration
        bounds = [0, *self._cuts]
        shots = []
        for n, pos in enumerate(bounds):
            nxt = bounds[n + 1] if n + 1 < len(bounds) else None
            start_frame = self._indices[pos] if n else 0
            start = self._times[pos] if n else stats.first_time
            shots.append(Shot(
                index=n, start_frame=start_frame,
                end_frame=self._indices[nxt] if nxt is not None else stats.frames_decoded,
                start=start, end=self._times[nxt] if nxt is not None else end_time,
                # shots.jsonl: a cut that is no hard cut was found as a gradual transition
                transition=(Transition.CUT if self._hard(pos) else Transition.GRADUAL)
                if n else Transition.START))
        self._shots = shots
        return shots

    @property
    def distances(self) -> np.ndarray:
        """Consecutive-frame distances so far, one per histogrammed frame (first is 0)."""
        return np.asarray(self._dist, dtype=np.float64)
