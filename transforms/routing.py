"""Beam joins that carry each video from one filter to the next, keyed by ``video_id``.

They move small things only (analyses, shot frames, time ranges, outcomes), never video.
"""

from __future__ import annotations

import json
from dataclasses import replace

import apache_beam as beam

from transforms.analyze.stage import VideoAnalysis
from transforms.clips.stage import OUTCOMES, ClipJob
from transforms.persons.stage import kept_shots_record

SHOTS = "shots"
FRAMES = "frames"
KEPT_SHOTS = "kept_shots"


def by_id(label: str, pcoll, key=lambda x: x.video_id):
    """``(video_id, element)`` pairs of ``pcoll``."""
    return pcoll | label >> beam.Map(lambda x: (key(x), x))


def _with_stats(outcome, analysis: VideoAnalysis):
    return replace(outcome, duration=analysis.duration, frames=analysis.frames,
                   size_bytes=analysis.size_bytes)


class _FillStats(beam.DoFn):
    def process(self, element):
        _, joined = element
        analyses = joined["analysis"]
        for outcome in joined["outcome"]:
            yield _with_stats(outcome, analyses[0]) if analyses else outcome


class FillVideoStats(beam.PTransform):
    """Outcomes decided from small data (dedup) get the decoded facts of their video
    (duration, frames, bytes) from its analysis, so the report adds them up."""

    def __init__(self, analyses):
        super().__init__()
        self._analyses = analyses

    def expand(self, outcomes):
        return ({"outcome": by_id("KeyOutcomes", outcomes), "analysis": self._analyses}
                | "Join" >> beam.CoGroupByKey()
                | "Fill" >> beam.ParDo(_FillStats()))


class _Route(beam.DoFn):
    """Per surviving video: its shots (for the person decision), its shot frames (for the
    detector) and its analysis (main output, for clip jobs)."""

    def process(self, element):
        video_id, joined = element
        if not joined["kept"] or not joined["analysis"]:
            return
        analysis: VideoAnalysis = joined["analysis"][0]
        yield video_id, analysis
        yield beam.pvalue.TaggedOutput(SHOTS, (video_id, (analysis.ref.uri,
                                                          list(analysis.shots or ()))))
        for frame in joined["frames"]:
            yield beam.pvalue.TaggedOutput(FRAMES, frame)


class RouteSurvivors(beam.PTransform):
    """{"analyses": (id, VideoAnalysis), "kept": (id, anything), "frames": ShotFrame} ->
    outputs main (id, VideoAnalysis), ``shots`` (id, (uri, [Shot])) and ``frames`` of the
    videos in ``kept`` only, so the detector never sees frames of dropped duplicates."""

    def expand(self, inputs):
        return ({"analysis": inputs["analyses"], "kept": inputs["kept"],
                 "frames": by_id("KeyFrames", inputs["frames"])}
                | "Join" >> beam.CoGroupByKey()
                | "Route" >> beam.ParDo(_Route()).with_outputs(SHOTS, FRAMES, main="analyses"))


class _Jobs(beam.DoFn):
    def process(self, element):
        video_id, joined = element
        if not joined["analysis"]:
            return
        analysis: VideoAnalysis = joined["analysis"][0]
        kept = joined["kept"][0] if joined["kept"] else []
        outcome = None
        if joined["no_person"]:
            outcome = _with_stats(joined["no_person"][0], analysis)
            yield beam.pvalue.TaggedOutput(OUTCOMES, outcome)
        if analysis.shots is not None:
            yield beam.pvalue.TaggedOutput(KEPT_SHOTS, json.dumps(
                kept_shots_record(video_id, analysis.shots, kept, outcome), sort_keys=True))
        if kept:
            yield ClipJob(analysis.ref, tuple(kept),
                          decoded=(analysis.duration, analysis.frames, analysis.size_bytes))


class MakeClipJobs(beam.PTransform):
    """{"analyses": (id, VideoAnalysis), "kept": (id, [TimeRange]), "no_person": Outcome} ->
    ClipJob per video with kept shots (main), its ``outcomes`` (no_person drops, with decoded
    facts) and ``kept_shots`` JSON lines (docs/shots.md) for the person-recall tool."""

    def expand(self, inputs):
        return ({"analysis": inputs["analyses"], "kept": inputs["kept"],
                 "no_person": by_id("KeyNoPerson", inputs["no_person"])}
                | "Join" >> beam.CoGroupByKey()
                | "Jobs" >> beam.ParDo(_Jobs()).with_outputs(OUTCOMES, KEPT_SHOTS,
                                                               main="jobs"))
