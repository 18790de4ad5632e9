"""The one interface every shot detector of the decode pass implements, and that the
consumers which follow shot boundaries (the clip cutter, the shot-frame sampler) read.

A detector is a frame consumer (``wants``/``add``) whose cut decisions come ``lag`` frames
late: :attr:`final_cuts` lists the decode indices where a new shot starts, final for good;
every frame before :attr:`settled_before` is in its shot for good; :meth:`result` finishes the
pass and returns the shots covering the decoded video (idempotent). The histogram detector
(``histogram.HistogramShotDetector``) and TransNetV2 (``transnet.TransNetDetector``) implement
it; a third detector implements it too and nothing else changes. No Beam here.
"""

from __future__ import annotations

from typing import Protocol

from transforms.analyze.decode import DecodedFrame, DecodeStats
from transforms.types import Shot


class ShotBoundaries(Protocol):
    """What a consumer that follows shot boundaries reads while the video streams past."""

    final_cuts: list[int]

    @property
    def settled_before(self) -> int:
        """Decode index before which every frame's shot is final."""


class ShotDetector(ShotBoundaries, Protocol):
    """A shot detector riding the decode pass (see the module docstring)."""

    @property
    def lag(self) -> int:
        """Frames after which a frame's shot is final, at most."""

    def wants(self, index: int, time: float) -> bool:
        """Whether the frame at decode ``index`` and ``time`` seconds is needed."""

    def add(self, index: int, time: float, frame: DecodedFrame) -> None:
        """Receive a wanted frame."""

    def result(self, stats: DecodeStats) -> list[Shot]:
        """Finish the pass; the shots covering the whole decoded video (idempotent)."""
