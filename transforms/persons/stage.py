"""Beam stage: score shot frames for people in batches across videos, keep shots with people.

Shots and the frames to score come from the analysis pass (``transforms.analyze``), where a
ShotDetector and a ShotFrameSampler ride the one decode of each video. ``ScorePersons`` turns
ShotFrames (from every video) into per-shot max person scores keyed by ``(video_id,
shot_index)``, through RunInference (frames of many videos share a batch; the model loads once
per worker process and is shared by its threads). ``SelectPersonShots`` joins those scores
with each video's shots: kept time ranges for clip sampling, and a ``dropped``/``no_person``
Outcome for videos with no kept shot.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import apache_beam as beam
from apache_beam.ml.inference.base import KeyedModelHandler, PredictionResult, RunInference

from transforms.persons.sampling import PERSON_THRESHOLD, no_person_outcome, select_person_shots
from transforms.types import ShotFrame, Tag, TimeRange

ShotKey = tuple[str, int]
NAMESPACE = "persons"  # Beam Metrics namespace of the stage's counters


class PersonDetector(Protocol):
    """What the stage needs of a detector (``models.detectors.load_person_detector`` makes
    one, injected by the pipeline): a RunInference ``handler`` and ``prepare``, which turns a
    shot frame's JPEG bytes into the handler's input."""

    handler: Any
    prepare: Any


class _Prepare(beam.DoFn):
    """ShotFrame -> ((video_id, shot_index), model input); an undecodable JPEG is counted and
    skipped (its shot then has one frame fewer)."""

    def __init__(self, detector: PersonDetector):
        self._prepare = detector.prepare
        self._bad = beam.metrics.Metrics.counter(NAMESPACE, "frames_undecodable")
        self._frames = beam.metrics.Metrics.counter(NAMESPACE, "frames_scored")

    def process(self, frame: ShotFrame) -> Iterator[tuple[ShotKey, object]]:
        try:
            example = self._prepare(frame.jpeg)
        except ValueError:
            self._bad.inc()
            return
        self._frames.inc()
        yield (frame.video_id, frame.shot_index), example


def _score(keyed: tuple[ShotKey, PredictionResult]) -> tuple[ShotKey, float]:
    key, result = keyed
    return key, float(result.inference)


class ScorePersons(beam.PTransform):
    """PCollection[ShotFrame] -> PCollection[((video_id, shot_index), max person score 0..1)].

    ``detector`` comes from :func:`models.detectors.load_person_detector`, called by the
    pipeline before it is built; its handler sets the batch sizes and the device.
    """

    def __init__(self, detector: PersonDetector):
        super().__init__()
        self._detector = detector

    def expand(self, frames: beam.PCollection[ShotFrame]) -> beam.PCollection:
        return (frames
                | "Prepare" >> beam.ParDo(_Prepare(self._detector))
                | "Detect" >> RunInference(KeyedModelHandler(self._detector.handler))
                | "Score" >> beam.Map(_score)
                | "MaxPerShot" >> beam.CombinePerKey(max))


class _Select(beam.DoFn):
    """Per video: kept shots as TimeRanges (main output) or a no_person Outcome (tagged)."""

    def __init__(self, threshold: float):
        self._threshold = threshold
        self._kept = beam.metrics.Metrics.counter(NAMESPACE, "shots_kept")
        self._total = beam.metrics.Metrics.counter(NAMESPACE, "shots_total")
        self._dropped = beam.metrics.Metrics.counter(NAMESPACE, "videos_no_person")

    def process(self, element: tuple[str, dict[str, list]]
                ) -> Iterator[tuple[str, list[TimeRange]] | beam.pvalue.TaggedOutput]:
        video_id, joined = element
        scores = dict(joined["scores"])
        for uri, shots in joined["shots"]:
            kept = select_person_shots(shots, scores, self._threshold)
            self._total.inc(len(shots))
            self._kept.inc(len(kept))
            if kept:
                yield video_id, kept
            else:
                self._dropped.inc()
                yield beam.pvalue.TaggedOutput(Tag.NO_PERSON, no_person_outcome(
                    video_id, uri, shots, scores, self._threshold))


def _by_video(item: tuple[ShotKey, float]) -> tuple[str, tuple[int, float]]:
    (video_id, shot), score = item
    return video_id, (shot, score)


class SelectPersonShots(beam.PTransform):
    """Join shots with their scores, per video.

    Inputs: a dict ``{"shots": PCollection[(video_id, (uri, list[Shot]))], "scores":
    ScorePersons' output}``. Outputs (a DoOutputsTuple): main ``(video_id, list[TimeRange])``
    of kept shots; ``no_person``: Outcome of each video without a kept shot.
    """

    def __init__(self, threshold: float = PERSON_THRESHOLD):
        super().__init__()
        self._threshold = threshold

    def expand(self, inputs: dict[str, beam.PCollection]):
        scores = inputs["scores"] | "ByVideo" >> beam.Map(_by_video)
        return ({"shots": inputs["shots"], "scores": scores}
                | "Join" >> beam.CoGroupByKey()
                | "Decide" >> beam.ParDo(_Select(self._threshold)).with_outputs(
                    Tag.NO_PERSON, main=Tag.KEPT))
