"""Shot segmentation while a video streams through the decoder: colour histograms and picture
structure must agree.

Each wanted frame is shrunk to ``width`` pixels (:meth:`DecodedFrame.small_bgr`); three small
things survive it: a normalised joint H-S-V histogram, the cell patterns of its grey image
(:mod:`transforms.shots.structure`) and the grey image itself while a gradual transition may
still need it. A hard cut is declared where the histogram distance between consecutive frames
passes ``threshold`` *and* their cell patterns differ by ``structure_threshold``, standing out
``local_ratio`` times from the pattern changes of the frames around it. Lighting changes
(exposure steps, flashes, flicker, flares) move the histogram but not the patterns; motion
changes patterns in a minority of cells, or steadily over many frames, and seldom the
histogram. A gradual transition (dissolve, fade) is found where frames ``gradual_frames``
apart differ in both ways and the frame halfway is their average (``gradual_linearity``).
Of two boundaries closer than ``min_shot_seconds`` the stronger wins.

Decisions are made online with a bounded lag, so a :class:`HistogramShotDetector` (a
``transforms.shots.detector.ShotDetector``) can tell other consumers of the same decode pass
(:class:`transforms.persons.sampling.ShotFrameSampler`) which cuts are final;
:attr:`HistogramShotDetector.final_transitions` says for each whether it was a hard cut or a
gradual transition.
Plain numpy and OpenCV; no Beam here.

Defaults were chosen with ``benchmarks/bench_shots.py`` (see ``docs/shots.md``).
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from transforms.analyze.decode import DecodedFrame, DecodeStats, RateGate
from transforms.shots.structure import Cells, cell_distance, cells, linearity
from transforms.types import Shot, Transition

WIDTH = 64
BINS = (16, 16, 16)
DISTANCE = "l1"
THRESHOLD = 0.3
STRUCTURE_THRESHOLD = 0.3
LOCAL_RATIO = 2.0
LOCAL_WINDOW = 4
MIN_SHOT_SECONDS = 0.25
ADAPTIVE_RATIO = 3.0
ADAPTIVE_WINDOW = 8
GRADUAL_FRAMES = 16
GRADUAL_THRESHOLD = 0.3
GRADUAL_LINEARITY = 0.3
# Mean grey level (0..255) at or below which a frame is black: a hard cut out of or into one,
# next to a steady brightness ramp, is the end of a fade through black.
DARK = 16.0


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
    hist = cv2.calcHist([hsv], [0, 1, 2], None, bins, [0, 180, 0, 256, 0, 256]).ravel()
    # The ranges hold every pixel (8-bit hue is 0..179), so the counts sum to the pixel count;
    # dividing in place spares a sum and a new array per frame.
    return np.divide(hist, max(hsv.shape[0] * hsv.shape[1], 1), out=hist)


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
class HistogramConfig:
    """Shot detection settings.

    ``threshold``: histogram distance (0..1) between consecutive frames that a hard cut must
    reach. ``structure_threshold``: cell-pattern distance (0..2,
    :func:`transforms.shots.structure.cell_distance`) it must reach as well, and
    ``local_ratio`` times the pattern changes around it (the larger of their medians over the
    ``local_window`` frames before and after); 0 turns the pattern check off (colour alone,
    the detector before). ``adaptive``: cut only where the histogram distance is also
    ``adaptive_ratio`` times its local level, the larger of its means over the
    ``adaptive_window`` frames before and after. ``min_shot_seconds``: shortest shot; of two
    boundaries closer than this the stronger wins. ``gradual_frames``: span of the frames
    compared for dissolves and fades (0: off); a transition is centred where the frames that
    far apart differ by ``gradual_threshold`` in histogram and ``structure_threshold`` in
    pattern, the middle frame is their average within ``gradual_linearity``
    (:func:`transforms.shots.structure.linearity`) and no hard cut lies between. ``fps``:
    look at most this many frames per second (None: every frame; frame counts above are in
    frames looked at).
    """

    bins: tuple[int, int, int] = BINS
    width: int = WIDTH
    distance: str = DISTANCE
    threshold: float = THRESHOLD
    structure_threshold: float = STRUCTURE_THRESHOLD
    local_ratio: float = LOCAL_RATIO
    local_window: int = LOCAL_WINDOW
    min_shot_seconds: float = MIN_SHOT_SECONDS
    adaptive: bool = False
    adaptive_ratio: float = ADAPTIVE_RATIO
    adaptive_window: int = ADAPTIVE_WINDOW
    gradual_frames: int = GRADUAL_FRAMES
    gradual_threshold: float = GRADUAL_THRESHOLD
    gradual_linearity: float = GRADUAL_LINEARITY
    fps: float | None = None

    def __post_init__(self) -> None:
        if self.distance not in DISTANCES:
            raise ValueError(f"distance must be one of {sorted(DISTANCES)}, not {self.distance}")
        if min(self.bins) < 1 or self.width < 8:
            raise ValueError("bins must be >= 1 and width >= 8")
        if self.gradual_frames < 0 or self.gradual_frames % 2:
            raise ValueError(f"gradual_frames must be even and >= 0, not {self.gradual_frames}")

    @property
    def structure(self) -> bool:
        """Whether hard cuts need the cell patterns to change too."""
        return self.structure_threshold > 0


def _median(values: array) -> float:
    """Median of a few numbers (0 for none)."""
    v = sorted(values)
    n = len(v)
    return 0.0 if not n else (v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2]))


def tile_shots(cuts: Sequence[tuple[int, float, Transition]], stats: DecodeStats) -> list[Shot]:
    """The shots a detector's final cuts make of a decoded video (at least one frame):
    ``cuts`` are ``(decode index, time, how the shot began)`` of each new shot's first frame,
    in order; the first shot starts at frame 0 and ``stats.first_time``, the last ends at
    ``stats.frames_decoded`` and ``stats.duration`` seconds past the first frame."""
    starts = [(0, stats.first_time, Transition.START), *cuts]
    ends = [(frame, time) for frame, time, _ in cuts]
    ends.append((stats.frames_decoded, stats.first_time + stats.duration))
    return [Shot(index=n, start_frame=frame, end_frame=end_frame, start=time, end=end_time,
                 transition=Transition(kind))
            for n, ((frame, time, kind), (end_frame, end_time))
            in enumerate(zip(starts, ends, strict=True))]


class HistogramShotDetector:
    """Frame consumer that cuts a video into shots during a decode pass.

    Memory is 32 bytes per frame looked at, plus the histograms, cell patterns and small grey
    images of the last ``gradual_frames + 1`` frames. A boundary is decided ``lag`` frames
    after it happens and final once the minimum shot length has passed with no stronger one;
    :attr:`final_cuts` lists final boundaries (decode indices where a new shot starts),
    :attr:`final_transitions` how each came (``"cut"`` or ``"gradual"``) and
    :attr:`settled_before` how far shots are final, for consumers that follow shot boundaries.
    """

    def __init__(self, params: HistogramConfig | None = None):
        self.params = p = params or HistogramConfig()
        self._distance = DISTANCES[p.distance]
        self._gate = RateGate(p.fps)
        self._half = p.gradual_frames // 2
        # (histogram, cells, small grey) of the last gradual_frames + 1 frames
        self._recent: deque[tuple[np.ndarray, Cells | None, np.ndarray | None]] = deque(
            maxlen=p.gradual_frames + 1)
        # Per frame looked at, in compact arrays (32 bytes a frame: 3.5 MB for an hour at
        # 30 fps): decode index, time, histogram and pattern distances to the previous frame
        # (0 for the first), mean grey level, and the histogram distance across a gradual
        # transition centred there (0 where there is none).
        self._indices = array("q")
        self._times = array("d")
        self._dist = array("f")
        self._struct = array("f")
        self._mean = array("f")
        self._gradual = array("f")
        self._decided = 0                 # positions whose boundary decision is final
        # (position, strength, transition), not yet final
        self._candidate: tuple[int, float, str] | None = None
        self._cuts: list[int] = []        # positions of final boundaries
        self.final_cuts: list[int] = []   # decode indices of final boundaries
        self.final_transitions: list[Transition] = []  # CUT or GRADUAL, one per final boundary
        self._shots: list[Shot] | None = None

    @property
    def lag(self) -> int:
        """Frames looked at after which a position's boundary decision is final."""
        p = self.params
        after = max(p.adaptive_window if p.adaptive else 1,
                    p.local_window if p.structure else 1, 2)
        return max(after + self._half, 2 * self._half) + 1

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
        p = self.params
        small = frame.small_bgr(p.width)
        hist = hsv_histogram(small, p.bins, p.width)
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if p.structure else None
        pattern = cells(grey) if grey is not None else None
        recent = self._recent
        if recent:
            last_hist, last_cells, _ = recent[-1]
            self._dist.append(self._distance(hist, last_hist))
            self._struct.append(cell_distance(last_cells, pattern) if pattern is not None else 0.0)
        else:
            self._dist.append(0.0)
            self._struct.append(0.0)
        # the exact sum of the grey levels over the pixel count: grey.mean()'s value, at a
        # fraction of its cost
        self._mean.append(cv2.sumElems(grey)[0] / grey.size if grey is not None else 0.0)
        self._gradual.append(0.0)
        recent.append((hist, pattern, grey if self._half else None))
        if self._half and len(recent) == recent.maxlen:
            self._gradual[-1 - self._half] = self._transition(hist, pattern, grey)
        self._indices.append(index)
        self._times.append(time)
        self._decide(len(self._dist) - self.lag)

    def _transition(self, hist: np.ndarray, pattern: Cells | None,
                    grey: np.ndarray | None) -> float:
        """The histogram distance across the span of recent frames when its middle frame
        looks like a gradual transition between its ends, else 0."""
        p = self.params
        first_hist, first_cells, first_grey = self._recent[0]
        d = self._distance(first_hist, hist)
        if d < p.gradual_threshold:
            return 0.0
        if pattern is not None:
            if cell_distance(first_cells, pattern) < p.structure_threshold:
                return 0.0
            middle = self._recent[self._half][2]
            if linearity(first_grey, middle, grey) > p.gradual_linearity:
                return 0.0
        return d

    def _hard(self, i: int) -> bool:
        """Whether the step into position ``i`` is a hard cut."""
        p = self.params
        d = self._dist[i]
        if i == 0 or d < p.threshold:
            return False
        if p.structure:
            s = self._struct[i]
            if s < p.structure_threshold:
                return False
            w = p.local_window
            # the busier side sets the level; the median lets one more cut near by pass
            local = max(_median(self._struct[max(1, i - w):i]),
                        _median(self._struct[i + 1:i + w + 1]))
            if s < p.local_ratio * local:
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

    def _fade_edge(self, i: int) -> bool:
        """Whether the hard step into ``i`` leaves or enters black next to a steady brightness
        ramp (the black middle of a fade through black)."""
        m = self._mean
        if not self.params.structure or i < 3 or i + 2 >= len(m):
            return False
        if m[i - 1] <= DARK and m[i] < m[i + 1] < m[i + 2]:
            return True
        return m[i] <= DARK and m[i - 3] > m[i - 2] > m[i - 1]

    def _boundary(self, i: int) -> tuple[float, str]:
        """How strongly position ``i`` is a boundary (> 0) or not (0), and of which kind."""
        if self._hard(i):
            return self._dist[i], Transition.GRADUAL if self._fade_edge(i) else Transition.CUT
        return self._gradual_strength(i), Transition.GRADUAL

    def _gradual_strength(self, i: int) -> float:
        """A gradual transition centred at ``i``: its span-wide distance peaks there (the
        first of equal peaks) and no step inside the span is a hard cut."""
        h = self._half
        g = self._gradual[i] if h and i < len(self._gradual) else 0.0
        if g <= 0:
            return 0.0
        lo, hi = max(0, i - h), min(len(self._gradual), i + h + 1)
        if any(self._gradual[m] >= g for m in range(lo, i)) or \
                any(self._gradual[m] > g for m in range(i + 1, hi)):
            return 0.0
        if any(self._hard(m) for m in range(i - h + 1, min(i + h + 1, len(self._dist)))):
            return 0.0
        return g * self.params.threshold / self.params.gradual_threshold

    def _min_gap(self) -> int:
        """Shortest shot in frames looked at."""
        if len(self._times) < 2:
            return 1
        period = (self._times[-1] - self._times[0]) / (len(self._times) - 1)
        return max(1, int(round(self.params.min_shot_seconds / period))) if period > 0 else 1

    def _decide(self, upto: int) -> None:
        """Make positions before ``upto`` final: the strongest boundary candidate wins over
        weaker ones closer than the minimum shot length, and is final once that much has
        passed."""
        gap = self._min_gap()
        while self._decided < upto:
            i = self._decided
            self._decided += 1
            if self._candidate is not None and i - self._candidate[0] >= gap:
                self._accept()
            s, kind = self._boundary(i)
            if s <= 0 or i - (self._cuts[-1] if self._cuts else 0) < gap:
                continue
            if self._candidate is None or s > self._candidate[1]:
                self._candidate = (i, s, kind)

    def _accept(self) -> None:
        """Make the candidate boundary final."""
        pos, _, kind = self._candidate  # type: ignore[misc]
        self._candidate = None
        self._cuts.append(pos)
        self.final_cuts.append(self._indices[pos])
        self.final_transitions.append(kind)

    def result(self, stats: DecodeStats) -> list[Shot]:
        """Finish the pass and return the shots covering the whole decoded video (idempotent).

        The last shot ends at ``stats.frames_decoded`` / ``stats.duration`` seconds past the
        first frame; a video with no frame has no shot. Shot ``n`` (from 1) began with
        ``final_transitions[n - 1]``.
        """
        if self._shots is not None:
            return self._shots
        self._decide(len(self._dist))
        if self._candidate is not None and len(self._dist) - self._candidate[0] >= self._min_gap():
            self._accept()
        if not self._indices:
            self._shots = []
            return self._shots
        self._shots = tile_shots([(self._indices[pos], self._times[pos], kind)
                                  for pos, kind in zip(self._cuts, self.final_transitions,
                                                       strict=True)], stats)
        return self._shots
