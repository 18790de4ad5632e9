"""The plug-in shape of the one decode pass: every stage that rides it exports an
:class:`AnalysisPart`, and the pass (``transforms.analyze.stage.AnalyzeVideos``) loops over the
parts the job gives it, importing none of them.

A part holds:

- ``config``: its frozen config dataclass, which holds exactly the settings that change what
  the part writes into a video's results (the work folder's key is computed from these, see
  :func:`settings`; settings that only change later decisions live elsewhere);
- :meth:`AnalysisPart.setup`: load what a worker needs once (a network), called from
  ``DoFn.setup``;
- :meth:`AnalysisPart.start`: a :class:`PartRun` for one video's pass: the frame consumer fed
  by the decoder, how its results are drained into the video's result files
  (``transforms.analyze.results.ResultWriter``) and what it adds to the ``VideoAnalysis``.

Parts run in the order given; a part that follows shot boundaries reads the shot detector an
earlier part put in :attr:`VideoPass.shots`. Plain Python, no Beam.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Protocol

from transforms.analyze.decode import DecodeStats, FrameConsumer
from transforms.types import VideoRef


@dataclass
class VideoPass:
    """One video's pass as its parts see it: the video, the nominal seconds between its
    frames, and (once the part that finds shots has started) ``shots``, the pass's shot
    detector (a ``transforms.shots.detector.ShotDetector``) for the parts that follow shot
    boundaries."""

    ref: VideoRef
    frame_period: float
    shots: Any = None

    def boundaries(self, part: AnalysisPart):
        """The pass's shot detector, for ``part``, which follows shot boundaries (ValueError
        when no earlier part put one in :attr:`shots`)."""
        if self.shots is None:
            raise ValueError(f"{type(part).__name__} follows shot boundaries: put ShotsPart "
                             "before it")
        return self.shots


class PartRun(Protocol):
    """One part's work on one video: ``consumer`` is fed the frames it wants by the decoder
    (a ``transforms.analyze.decode.FrameConsumer``)."""

    consumer: FrameConsumer

    def drain(self, writer) -> None:
        """Write the results made since the last call to ``writer`` (the video's
        ``ResultWriter``)."""

    def finish(self, stats: DecodeStats) -> dict:
        """The pass is over: settle what is left (drained after) and return the fields the
        part adds to the video's ``VideoAnalysis`` (``{"shots": ...}``; empty for none)."""


class ResultRun:
    """A run that writes nothing to the result files and adds its consumer's
    ``result(stats)`` (made into ``kind``, e.g. ``tuple``) to the analysis as ``field``."""

    def __init__(self, consumer, field: str, kind: Callable = lambda result: result):
        self.consumer = consumer
        self._field = field
        self._kind = kind

    def drain(self, writer) -> None:
        pass

    def finish(self, stats: DecodeStats) -> dict:
        return {self._field: self._kind(self.consumer.result(stats))}


class AnalysisPart:
    """A stage's part of the decode pass (see the module docstring). ``name`` keys its
    settings in the work folder's key."""

    name: ClassVar[str]

    def __init__(self, config):
        self.config = config

    def setup(self, acquire: Callable[[Callable[[], object]], object]) -> None:
        """Load what this worker needs (called from ``DoFn.setup``): ``acquire(load)``
        returns the object ``load()`` makes, made once per worker process and shared by its
        threads (a network)."""

    def start(self, video: VideoPass) -> PartRun:
        raise NotImplementedError


def settings(parts: Sequence[AnalysisPart]) -> dict:
    """``{part name: asdict(part config)}``: every setting that changes a video's results
    (what the work folder's key is computed from: ``results.work_folder``)."""
    return {part.name: asdict(part.config) for part in parts}
