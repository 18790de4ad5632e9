"""Beam joins that carry each video from one filter to the next, keyed by ``video_id``.

Each join takes a NamedTuple of PCollections (its inputs, by name) and returns one PCollection
or a NamedTuple of them; the words are those of the glossary in ``transforms/types.py``
(``survivors``: videos left after de-duplication; ``kept_shots``: the shots the person filter
kept). They move small things only (analyses, references, time ranges, outcomes), never
video, frames or clips: the shot frames of the survivors are read from their result files
after the join. Each has its own TestPipeline test (tests/test_routing.py).
"""

from __future__ import annotations

import json
from typing import NamedTuple

import apache_beam as beam

from transforms.analyze.results import meta_path_of, read_shot_frames
from transforms.output.shot_rows import shot_row
from transforms.types import ClipJob, Outcome, Status, Tag, TimeRange, VideoAnalysis


def by_id(label: str, pcoll, key=lambda x: x.video_id):
    """``(video_id, element)`` pairs of ``pcoll``."""
    return pcoll | label >> beam.Map(lambda x: (key(x), x))


def job_for(analysis: VideoAnalysis, kept_shots) -> ClipJob:
    """The ClipJob that keeps the candidate clips of ``kept_shots`` (TimeRanges of shots)."""
    return ClipJob(analysis.ref, tuple(kept_shots), analysis.facts, analysis.clips_path)


def all_shots(analysis: VideoAnalysis) -> list[TimeRange]:
    """Every shot of a video as a kept range (no person filter: score -1)."""
    return [TimeRange(s.start, s.end, s.index) for s in analysis.shots or ()]


# --- FillVideoStats ---------------------------------------------------------------------------

class StatsInputs(NamedTuple):
    """``outcomes``: Outcome decided from small data (dedup); ``analyses``: (video_id,
    VideoAnalysis)."""

    outcomes: beam.PCollection
    analyses: beam.PCollection


class _FillStats(beam.DoFn):
    def process(self, element):
        _, joined = element
        analyses = joined["analysis"]
        for outcome in joined["outcome"]:
            yield outcome.with_facts(analyses[0].facts) if analyses else outcome


class FillVideoStats(beam.PTransform):
    """StatsInputs -> the outcomes, each with the decoded facts of its video (duration,
    frames, bytes) from its analysis, so the report adds them up."""

    def expand(self, inputs):
        return ({"outcome": by_id("KeyOutcomes", inputs.outcomes), "analysis": inputs.analyses}
                | "Join" >> beam.CoGroupByKey()
                | "Fill" >> beam.ParDo(_FillStats()))


# --- KeptFingerprints -------------------------------------------------------------------------

class KeptInputs(NamedTuple):
    """``survivors``: (video_id, VideoFingerprint) of the videos dedup kept; ``outcomes``:
    Outcome of the clip stage."""

    survivors: beam.PCollection
    outcomes: beam.PCollection


class _KeptFingerprint(beam.DoFn):
    def process(self, element):
        _, joined = element
        if joined["kept"]:
            yield from joined["fingerprint"]


class KeptFingerprints(beam.PTransform):
    """KeptInputs -> the VideoFingerprint of every video kept in the end (status kept: it has
    clips), for the run's fingerprint index (what a later run's ``--previous`` matches)."""

    def expand(self, inputs):
        kept = inputs.outcomes | "KeptOnly" >> beam.Filter(lambda o: o.status == Status.KEPT)
        return ({"fingerprint": inputs.survivors, "kept": by_id("KeyKept", kept)}
                | "Join" >> beam.CoGroupByKey()
                | "Kept" >> beam.ParDo(_KeptFingerprint()))


# --- RouteSurvivors ---------------------------------------------------------------------------

class RouteInputs(NamedTuple):
    """``analyses``: (video_id, VideoAnalysis); ``survivors``: (video_id, anything) of the
    videos left after dedup."""

    analyses: beam.PCollection
    survivors: beam.PCollection


class Routed(NamedTuple):
    """The survivors only: ``analyses`` (video_id, VideoAnalysis); ``shots`` (video_id,
    (uri, [Shot])), for the person decision; ``shot_frames`` (ShotFrame), for the
    detector, read from each survivor's result file after the join."""

    analyses: beam.PCollection
    shots: beam.PCollection
    shot_frames: beam.PCollection


class _Route(beam.DoFn):
    def process(self, element):
        video_id, joined = element
        if not joined["survivor"] or not joined["analysis"]:
            return
        analysis: VideoAnalysis = joined["analysis"][0]
        yield video_id, analysis
        yield beam.pvalue.TaggedOutput(Tag.SHOTS, (video_id, (analysis.ref.uri,
                                                          list(analysis.shots or ()))))
        yield beam.pvalue.TaggedOutput(Tag.SHOT_FRAMES, meta_path_of(analysis.clips_path))


class RouteSurvivors(beam.PTransform):
    """RouteInputs -> Routed: the analyses, shots and shot frames of the survivors, so the
    detector never sees frames of dropped duplicates. Only the survivors' result files are
    routed; their frames are read one at a time after the join and stream to the detector
    (JPEG bytes never cross a shuffle)."""

    def expand(self, inputs):
        routed = ({"analysis": inputs.analyses, "survivor": inputs.survivors}
                  | "Join" >> beam.CoGroupByKey()
                  | "Route" >> beam.ParDo(_Route()).with_outputs(
                      Tag.SHOTS, Tag.SHOT_FRAMES, main=Tag.ANALYSES))
        frames = routed[Tag.SHOT_FRAMES] | "ReadShotFrames" >> beam.FlatMap(read_shot_frames)
        return Routed(routed[Tag.ANALYSES], routed[Tag.SHOTS], frames)


# --- MakeAllShotJobs --------------------------------------------------------------------------

class AllShotInputs(NamedTuple):
    """``analyses``: (video_id, VideoAnalysis); ``survivors``: (video_id, anything)."""

    analyses: beam.PCollection
    survivors: beam.PCollection


class _AllShotJobs(beam.DoFn):
    def process(self, element):
        _, joined = element
        if joined["survivor"] and joined["analysis"]:
            analysis = joined["analysis"][0]
            yield job_for(analysis, all_shots(analysis))


class MakeAllShotJobs(beam.PTransform):
    """AllShotInputs -> a ClipJob keeping the clips of every shot, per survivor (the job
    without the person filter)."""

    def expand(self, inputs):
        return ({"analysis": inputs.analyses, "survivor": inputs.survivors}
                | "Join" >> beam.CoGroupByKey()
                | "Jobs" >> beam.ParDo(_AllShotJobs()))


# --- MakeClipJobs -----------------------------------------------------------------------------

class JobInputs(NamedTuple):
    """``analyses``: (video_id, VideoAnalysis); ``kept_shots``: (video_id, [TimeRange]);
    ``no_person`` and ``failed``: Outcome of the person stage (SelectPersonShots)."""

    analyses: beam.PCollection
    kept_shots: beam.PCollection
    no_person: beam.PCollection
    failed: beam.PCollection


class ClipJobs(NamedTuple):
    """``jobs``: ClipJob per video with kept shots; ``outcomes``: the person stage's
    Outcomes (no_person drops, detector failures) with the videos' decoded facts."""

    jobs: beam.PCollection
    outcomes: beam.PCollection


class _Jobs(beam.DoFn):
    def process(self, element):
        _, joined = element
        if not joined["analysis"]:
            return
        analysis: VideoAnalysis = joined["analysis"][0]
        kept = joined["kept"][0] if joined["kept"] else []
        decided: list[Outcome] = joined["no_person"] + joined["failed"]  # one at most
        if decided:
            yield beam.pvalue.TaggedOutput(Tag.OUTCOMES, decided[0].with_facts(analysis.facts))
        if kept:
            yield job_for(analysis, kept)


class MakeClipJobs(beam.PTransform):
    """JobInputs -> ClipJobs."""

    def expand(self, inputs):
        made = ({"analysis": inputs.analyses, "kept": inputs.kept_shots,
                 "no_person": by_id("KeyNoPerson", inputs.no_person),
                 "failed": by_id("KeyFailed", inputs.failed)}
                | "Join" >> beam.CoGroupByKey()
                | "Jobs" >> beam.ParDo(_Jobs()).with_outputs(Tag.OUTCOMES, main=Tag.JOBS))
        return ClipJobs(made[Tag.JOBS], made[Tag.OUTCOMES])


# --- ShotRows ---------------------------------------------------------------------------------

class ShotRowInputs(NamedTuple):
    """Without the person filter: ``analyses`` (video_id, VideoAnalysis) and ``survivors``
    (video_id, anything) of the videos that reached the shot filters; every shot of a
    survivor is kept."""

    analyses: beam.PCollection
    survivors: beam.PCollection


class ScoredShotRowInputs(NamedTuple):
    """With the person filter: as ShotRowInputs, and ``scores`` ((video_id, shot_index),
    score), ``kept_shots`` (video_id, [TimeRange]) and ``frames`` ((video_id, shot_index),
    FramePerson) of every scored frame."""

    analyses: beam.PCollection
    survivors: beam.PCollection
    scores: beam.PCollection
    kept_shots: beam.PCollection
    frames: beam.PCollection


class ShotRowOutputs(NamedTuple):
    """``rows``: ((video_id, shot_index), JSON line of ``shots.jsonl``); ``totals``: (shots,
    kept shots) per video that reached the person filter (none without it)."""

    rows: beam.PCollection
    totals: beam.PCollection


class _ShotRows(beam.DoFn):
    def __init__(self, filtered: bool):
        self._filtered = filtered

    def process(self, element):
        video_id, joined = element
        if not joined["analysis"] or joined["analysis"][0].shots is None:
            return
        shots = joined["analysis"][0].shots
        survived = bool(joined["survivor"])
        scores = dict(joined.get("scores", ()))
        persons: dict[int, list] = {}
        for shot_index, frame in joined.get("frames", ()):
            persons.setdefault(shot_index, []).append(frame)
        if self._filtered:
            kept = {r.shot_index for ranges in joined.get("kept", ()) for r in ranges}
            if survived:
                yield beam.pvalue.TaggedOutput(Tag.SHOT_TOTALS, (len(shots), len(kept)))
        else:
            kept = {s.index for s in shots} if survived else set()
        for shot in shots:
            row = shot_row(video_id, shot, scores.get(shot.index), shot.index in kept,
                           persons.get(shot.index, []) if self._filtered else None)
            yield (video_id, shot.index), json.dumps(row, sort_keys=True)


class ShotRows(beam.PTransform):
    """ShotRowInputs or ScoredShotRowInputs -> ShotRowOutputs: one line per shot of every
    analysed video (each video whose decode pass gave shots, duplicates dropped later
    included)."""

    def expand(self, inputs):
        filtered = isinstance(inputs, ScoredShotRowInputs)
        joined = {"analysis": inputs.analyses, "survivor": inputs.survivors}
        if filtered:
            joined["scores"] = inputs.scores | "ScoresByVideo" >> beam.Map(
                lambda item: (item[0][0], (item[0][1], item[1])))
            joined["kept"] = inputs.kept_shots
            joined["frames"] = inputs.frames | "FramesByVideo" >> beam.Map(
                lambda item: (item[0][0], (item[0][1], item[1])))
        rows = (joined
                | "Join" >> beam.CoGroupByKey()
                | "Rows" >> beam.ParDo(_ShotRows(filtered)).with_outputs(
                    Tag.SHOT_TOTALS, main=Tag.SHOT_ROWS))
        return ShotRowOutputs(rows[Tag.SHOT_ROWS], rows[Tag.SHOT_TOTALS])
