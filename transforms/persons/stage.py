"""Beam stage: score shot frames for people in batches across videos, keep shots with people.

Shots and the frames to score come from the analysis pass (``transforms.analyze``), where a
shot detector and a ShotFrameSampler ride the one decode of each video. ``ScorePersons`` turns
ShotFrames (from every video) into per-shot max person scores keyed by ``(video_id,
shot_index)``, and each frame's best person (score and box, for the report), through
RunInference (frames of many videos share a batch; the model loads once
per worker process and is shared by its threads). A batch the detector raises on (a CUDA
error, a frame it cannot take) fails the videos of its frames, not the job. ``SelectPersonShots``
joins those scores with each video's shots: kept time ranges for clip sampling, a
``dropped``/``no_person`` Outcome for videos with no kept shot, a ``failed``/``detector_error``
Outcome for videos whose frames were in a failed batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import apache_beam as beam

from transforms.inference import KeyedModelHandler, PredictionResult, RunInference
from transforms.persons.detector import BestPerson, PersonDetector
from transforms.persons.sampling import PERSON_THRESHOLD, no_person_outcome, select_person_shots
from transforms.types import (
    FramePerson,
    Outcome,
    Reason,
    ShotFrame,
    Stage,
    Status,
    Tag,
    TimeRange,
)

ShotKey = tuple[str, int]
FrameKey = tuple[str, int, float]  # video_id, shot_index, the frame's time (seconds)
NAMESPACE = "persons"  # Beam Metrics namespace of the stage's counters


class _Prepare(beam.DoFn):
    """ShotFrame -> ((video_id, shot_index, time), model input); an undecodable JPEG is
    counted and skipped (its shot then has one frame fewer)."""

    def __init__(self, detector: PersonDetector):
        self._prepare = detector.prepare
        self._bad = beam.metrics.Metrics.counter(NAMESPACE, "frames_undecodable")
        self._frames = beam.metrics.Metrics.counter(NAMESPACE, "frames_scored")

    def process(self, frame: ShotFrame) -> Iterator[tuple[FrameKey, object]]:
        try:
            example = self._prepare(frame.jpeg)
        except ValueError:
            self._bad.inc()
            return
        self._frames.inc()
        yield (frame.video_id, frame.shot_index, frame.time), example


def _frame_person(keyed: tuple[FrameKey, PredictionResult]) -> tuple[ShotKey, FramePerson]:
    """A result -> ((video_id, shot_index), FramePerson). The handler's inference is a
    BestPerson, or a plain score from a handler that gives no box."""
    (video_id, shot, time), result = keyed
    found = result.inference
    if isinstance(found, BestPerson):
        return (video_id, shot), FramePerson(time, found.score, found.box)
    return (video_id, shot), FramePerson(time, float(found))


def _score(keyed: tuple[ShotKey, FramePerson]) -> tuple[ShotKey, float]:
    key, frame = keyed
    return key, frame.score


class _FailedVideos(beam.DoFn):
    """A failed batch (RunInference's dead letter: the keyed frames and the error) -> one
    ``(video_id, message)`` per video with a frame in it."""

    def __init__(self):
        self._batches = beam.metrics.Metrics.counter(NAMESPACE, "batches_failed")

    def process(self, failed: tuple[list[tuple[FrameKey, object]], tuple]
                ) -> Iterator[tuple[str, str]]:
        batch, (_, error, _) = failed
        self._batches.inc()
        for video_id in sorted({key[0] for key, _ in batch}):
            yield video_id, (f"the person detector failed on a batch of {len(batch)} frames: "
                             f"{error}")


class Scored(NamedTuple):
    """ScorePersons' outputs: ``scores`` ((video_id, shot_index), max person score 0..1),
    ``failed`` ((video_id, message) of each video with a frame in a batch the detector
    raised on) and ``frames`` ((video_id, shot_index), FramePerson) of every scored frame."""

    scores: beam.PCollection
    failed: beam.PCollection
    frames: beam.PCollection


class PersonInputs(NamedTuple):
    """SelectPersonShots' inputs: ``shots`` (video_id, (uri, [Shot])) and ScorePersons'
    ``scores`` and ``failed``."""

    shots: beam.PCollection
    scores: beam.PCollection
    failed: beam.PCollection


class PersonShots(NamedTuple):
    """SelectPersonShots' outputs: ``kept_shots`` (video_id, [TimeRange]) of each video with
    a kept shot; ``no_person``: Outcome of each video without one; ``failed``: Outcome of
    each video the detector failed on. Each video with shots ends in exactly one."""

    kept_shots: beam.PCollection
    no_person: beam.PCollection
    failed: beam.PCollection


class ScorePersons(beam.PTransform):
    """PCollection[ShotFrame] -> Scored: per-shot max person scores, and the videos with a
    frame in a batch the detector raised on (their other shots may have scores).

    ``detector`` comes from :func:`models.detectors.load_person_detector`, called by the
    pipeline before it is built; its handler sets the batch sizes and the device.
    """

    def __init__(self, detector: PersonDetector):
        super().__init__()
        self._detector = detector

    def expand(self, frames):
        results, dead = (frames
                         | "Prepare" >> beam.ParDo(_Prepare(self._detector))
                         | "Detect" >> RunInference(KeyedModelHandler(
                             self._detector.handler)).with_exception_handling())
        frames = results | "BestPerson" >> beam.Map(_frame_person)
        scores = (frames
                  | "Score" >> beam.Map(_score)
                  | "MaxPerShot" >> beam.CombinePerKey(max))
        failed = dead.failed_inferences | "FailedVideos" >> beam.ParDo(_FailedVideos())
        return Scored(scores, failed, frames)


class _Select(beam.DoFn):
    """Per video: kept shots as TimeRanges (main output), a no_person Outcome or, when the
    detector failed on some of its frames, a detector_error Outcome (tagged)."""

    def __init__(self, threshold: float):
        self._threshold = threshold
        self._kept = beam.metrics.Metrics.counter(NAMESPACE, "shots_kept")
        self._total = beam.metrics.Metrics.counter(NAMESPACE, "shots_total")
        self._dropped = beam.metrics.Metrics.counter(NAMESPACE, "videos_no_person")
        self._failed = beam.metrics.Metrics.counter(NAMESPACE, "videos_detector_failed")

    def process(self, element: tuple[str, dict[str, list]]
                ) -> Iterator[tuple[str, list[TimeRange]] | beam.pvalue.TaggedOutput]:
        video_id, joined = element
        scores = dict(joined["scores"])
        errors = sorted(joined["failed"])
        for uri, shots in joined["shots"]:
            if errors:
                self._failed.inc()
                yield beam.pvalue.TaggedOutput(Tag.FAILED, Outcome(
                    video_id, uri, Status.FAILED, Stage.PERSONS, Reason.DETECTOR_ERROR,
                    errors[0]))
                continue
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
    """PersonInputs -> PersonShots: shots joined with their scores, per video, and the
    keep/drop decision (``sampling.select_person_shots``, ``no_person_outcome``)."""

    def __init__(self, threshold: float = PERSON_THRESHOLD):
        super().__init__()
        self._threshold = threshold

    def expand(self, inputs):
        scores = inputs.scores | "ByVideo" >> beam.Map(_by_video)
        out = ({"shots": inputs.shots, "scores": scores, "failed": inputs.failed}
               | "Join" >> beam.CoGroupByKey()
               | "Decide" >> beam.ParDo(_Select(self._threshold)).with_outputs(
                   Tag.NO_PERSON, Tag.FAILED, main=Tag.KEPT_SHOTS))
        return PersonShots(out[Tag.KEPT_SHOTS], out[Tag.NO_PERSON], out[Tag.FAILED])
