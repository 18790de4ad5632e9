"""Beam joins that carry each video from one filter to the next, keyed by ``video_id``.

They move small things only (analyses, shot frames, time ranges, outcomes), never video.
"""

from __future__ import annotations

import json

import apache_beam as beam

from transforms.output.shot_rows import shot_row
from transforms.types import ClipJob, Status, Tag, TimeRange, VideoAnalysis


def by_id(label: str, pcoll, key=lambda x: x.video_id):
    """``(video_id, element)`` pairs of ``pcoll``."""
    return pcoll | label >> beam.Map(lambda x: (key(x), x))


class _FillStats(beam.DoFn):
    def process(self, element):
        _, joined = element
        analyses = joined["analysis"]
        for outcome in joined["outcome"]:
            yield outcome.with_facts(analyses[0].facts) if analyses else outcome


class FillVideoStats(beam.PTransform):
    """Outcomes decided from small data (dedup; one PCollection or a tuple of them) get the
    decoded facts of their video (duration, frames, bytes) from its analysis, so the report
    adds them up."""

    def __init__(self, analyses):
        super().__init__()
        self._analyses = analyses

    def expand(self, outcomes):
        if isinstance(outcomes, tuple):
            outcomes = outcomes | "AllOutcomes" >> beam.Flatten()
        return ({"outcome": by_id("KeyOutcomes", outcomes), "analysis": self._analyses}
                | "Join" >> beam.CoGroupByKey()
                | "Fill" >> beam.ParDo(_FillStats()))


class _KeptFingerprint(beam.DoFn):
    def process(self, element):
        _, joined = element
        if joined["kept"]:
            yield from joined["fingerprint"]


class KeptFingerprints(beam.PTransform):
    """{"fingerprints": (id, VideoFingerprint), "outcomes": Outcome of the clip stage} -> the
    VideoFingerprint of every video kept in the end (status kept: it has clips), for the
    run's fingerprint index (what a later run's ``--previous`` matches against)."""

    def expand(self, inputs):
        kept = inputs["outcomes"] | "KeptOnly" >> beam.Filter(
            lambda o: o.status == Status.KEPT)
        return ({"fingerprint": inputs["fingerprints"], "kept": by_id("KeyKept", kept)}
                | "Join" >> beam.CoGroupByKey()
                | "Kept" >> beam.ParDo(_KeptFingerprint()))


class _Route(beam.DoFn):
    """Per surviving video: its shots (for the person decision), its shot frames (for the
    detector) and its analysis (main output, for clip jobs)."""

    def process(self, element):
        video_id, joined = element
        if not joined["kept"] or not joined["analysis"]:
            return
        analysis: VideoAnalysis = joined["analysis"][0]
        yield video_id, analysis
        yield beam.pvalue.TaggedOutput(Tag.SHOTS, (video_id, (analysis.ref.uri,
                                                          list(analysis.shots or ()))))
        for frame in joined["frames"]:
            yield beam.pvalue.TaggedOutput(Tag.FRAMES, frame)


class RouteSurvivors(beam.PTransform):
    """{"analyses": (id, VideoAnalysis), "kept": (id, anything), "frames": ShotFrame} ->
    outputs main (id, VideoAnalysis), ``shots`` (id, (uri, [Shot])) and ``frames`` of the
    videos in ``kept`` only, so the detector never sees frames of dropped duplicates."""

    def expand(self, inputs):
        return ({"analysis": inputs["analyses"], "kept": inputs["kept"],
                 "frames": by_id("KeyFrames", inputs["frames"])}
                | "Join" >> beam.CoGroupByKey()
                | "Route" >> beam.ParDo(_Route()).with_outputs(Tag.SHOTS, Tag.FRAMES,
                                                                 main=Tag.ANALYSES))


class _Jobs(beam.DoFn):
    def process(self, element):
        _, joined = element
        if not joined["analysis"]:
            return
        analysis: VideoAnalysis = joined["analysis"][0]
        kept = joined["kept"][0] if joined["kept"] else []
        decided = joined["no_person"] + joined["failed"]  # one at most: SelectPersonShots
        if decided:
            yield beam.pvalue.TaggedOutput(Tag.OUTCOMES, decided[0].with_facts(analysis.facts))
        if kept:
            yield job_for(analysis, kept)


def job_for(analysis: VideoAnalysis, kept) -> ClipJob:
    """The ClipJob that keeps the candidate clips of ``kept`` (TimeRanges of shots)."""
    return ClipJob(analysis.ref, tuple(kept), analysis.facts, analysis.clips_path)


def all_shots(analysis: VideoAnalysis) -> list[TimeRange]:
    """Every shot of a video as a kept range (no person filter: score -1)."""
    return [TimeRange(s.start, s.end, s.index) for s in analysis.shots or ()]


class _AllShotJobs(beam.DoFn):
    def process(self, element):
        _, joined = element
        if joined["kept"] and joined["analysis"]:
            analysis = joined["analysis"][0]
            yield job_for(analysis, all_shots(analysis))


class MakeAllShotJobs(beam.PTransform):
    """{"analyses": (id, VideoAnalysis), "kept": (id, anything)} -> a ClipJob keeping the
    clips of every shot, per video in ``kept`` (the job without the person filter)."""

    def expand(self, inputs):
        return ({"analysis": inputs["analyses"], "kept": inputs["kept"]}
                | "Join" >> beam.CoGroupByKey()
                | "Jobs" >> beam.ParDo(_AllShotJobs()))


class MakeClipJobs(beam.PTransform):
    """{"analyses": (id, VideoAnalysis), "kept": (id, [TimeRange]), "no_person": Outcome,
    "failed": Outcome} -> ClipJob per video with kept shots (main) and its ``outcomes``
    (no_person drops and detector failures, with decoded facts)."""

    def expand(self, inputs):
        return ({"analysis": inputs["analyses"], "kept": inputs["kept"],
                 "no_person": by_id("KeyNoPerson", inputs["no_person"]),
                 "failed": by_id("KeyFailed", inputs["failed"])}
                | "Join" >> beam.CoGroupByKey()
                | "Jobs" >> beam.ParDo(_Jobs()).with_outputs(Tag.OUTCOMES, main=Tag.JOBS))


class _ShotRows(beam.DoFn):
    def __init__(self, filtered: bool):
        self._filtered = filtered

    def process(self, element):
        video_id, joined = element
        if not joined["analysis"] or joined["analysis"][0].shots is None:
            return
        shots = joined["analysis"][0].shots
        survived = bool(joined["survived"])
        scores = dict(joined.get("scores", ()))
        if self._filtered:
            kept = {r.shot_index for ranges in joined.get("kept", ()) for r in ranges}
            if survived:
                yield beam.pvalue.TaggedOutput(Tag.SHOT_TOTALS, (len(shots), len(kept)))
        else:
            kept = {s.index for s in shots} if survived else set()
        for shot in shots:
            row = shot_row(video_id, shot, scores.get(shot.index), shot.index in kept)
            yield (video_id, shot.index), json.dumps(row, sort_keys=True)


class ShotRows(beam.PTransform):
    """The lines of ``shots.jsonl``: one per shot of every analysed video (each video whose
    decode pass gave shots, duplicates dropped later included).

    Inputs: ``{"analyses": (id, VideoAnalysis), "survived": (id, anything)}`` (the videos
    that reached the shot filters) and, with the person filter, ``"scores": ((id, shot),
    score)`` and ``"kept": (id, [TimeRange])``. Without the person filter every shot of a
    survivor is kept. Outputs: main ``((video_id, shot_index), JSON line)`` and
    ``shot_totals``: ``(shots, kept shots)`` per video that reached the person filter (none
    without it).
    """

    def expand(self, inputs):
        filtered = "kept" in inputs
        joined = {"analysis": inputs["analyses"], "survived": inputs["survived"]}
        if filtered:
            joined["scores"] = inputs["scores"] | "ScoresByVideo" >> beam.Map(
                lambda item: (item[0][0], (item[0][1], item[1])))
            joined["kept"] = inputs["kept"]
        return (joined
                | "Join" >> beam.CoGroupByKey()
                | "Rows" >> beam.ParDo(_ShotRows(filtered)).with_outputs(
                    Tag.SHOT_TOTALS, main=Tag.SHOT_ROWS))
