"""Each join between stages on its own (``transforms/routing.py`` and the person stage's
``SelectPersonShots``): a TestPipeline per join, with no video, one video, and a case with
videos that must be told apart."""

from __future__ import annotations

import json
from dataclasses import replace

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from transforms.analyze.results import ResultWriter
from transforms.persons.stage import PersonInputs, SelectPersonShots
from transforms.routing import (
    AllShotInputs,
    FillVideoStats,
    JobInputs,
    KeptFingerprints,
    KeptInputs,
    MakeAllShotJobs,
    MakeClipJobs,
    RouteInputs,
    RouteSurvivors,
    ScoredShotRowInputs,
    ShotRowInputs,
    ShotRows,
    StatsInputs,
)
from transforms.types import (
    ClipJob,
    DecodedFacts,
    FramePerson,
    Outcome,
    Reason,
    Shot,
    ShotFrame,
    Stage,
    Status,
    TimeRange,
    VideoAnalysis,
    VideoFingerprint,
    VideoRef,
)

SHOTS = (Shot(0, 0, 50, 0.0, 2.0), Shot(1, 50, 100, 2.0, 4.0))


def analysis(video_id: str) -> VideoAnalysis:
    return VideoAnalysis(VideoRef(video_id, f"/{video_id}.mp4"), duration=4.0, frames=100,
                         width=64, height=48, size_bytes=1000 + len(video_id),
                         fingerprint=None, shots=SHOTS, clips_path=f"/work/{video_id}.clips")


def facts(video_id: str) -> DecodedFacts:
    return analysis(video_id).facts


def keyed(pipeline, label: str, items, key=lambda x: x.video_id):
    return pipeline | label >> beam.Create([(key(x), x) for x in items])


def create(pipeline, label: str, items):
    return pipeline | label >> beam.Create(list(items))


def analyses_in(pipeline, videos):
    return keyed(pipeline, "Analyses", [analysis(v) for v in videos],
                 key=lambda a: a.ref.video_id)


def survivors_in(pipeline, videos):
    return create(pipeline, "Survivors", [(v, None) for v in videos])


def dropped(video_id: str) -> Outcome:
    return Outcome(video_id, f"/{video_id}.mp4", Status.DROPPED, Stage.DEDUP, Reason.DUPLICATE)


def fingerprint(video_id: str) -> VideoFingerprint:
    return VideoFingerprint(video_id, 4.0, 64, 48, (0.0,), bytes(32), (80,))


# (videos that have an analysis, videos in the other input): none, one, several
CASES = {"empty": ([], []), "one": (["a"], ["a"]), "several": (["a", "b", "c"], ["a", "c"])}


@pytest.mark.parametrize("case", CASES)
def test_fill_video_stats(case):
    analysed, decided = CASES[case]
    with TestPipeline() as p:
        out = (StatsInputs(create(p, "Outcomes", [dropped(v) for v in decided]),
                           analyses_in(p, analysed))
               | FillVideoStats())
        assert_that(out, equal_to([dropped(v).with_facts(facts(v)) for v in decided]))


def test_fill_video_stats_keeps_an_outcome_without_analysis():
    with TestPipeline() as p:
        out = (StatsInputs(create(p, "Outcomes", [dropped("lost")]), keyed(p, "None", []))
               | FillVideoStats())
        assert_that(out | beam.Map(lambda o: (o.video_id, o.duration)),
                    equal_to([("lost", 0.0)]))


def kept(video_id: str) -> Outcome:
    return Outcome(video_id, f"/{video_id}.mp4", Status.KEPT, Stage.CLIPS, clips=3)


@pytest.mark.parametrize("case", CASES)
def test_kept_fingerprints(case):
    survivors, with_clips = CASES[case]
    outcomes = [kept(v) for v in with_clips] + [
        Outcome(v, "", Status.DROPPED, Stage.CLIPS, Reason.TOO_SHORT)
        for v in survivors if v not in with_clips]
    with TestPipeline() as p:
        out = (KeptInputs(keyed(p, "Survivors", [fingerprint(v) for v in survivors]),
                          create(p, "Outcomes", outcomes))
               | KeptFingerprints())
        assert_that(out | beam.Map(lambda f: f.video_id), equal_to(with_clips))


@pytest.mark.parametrize("case", CASES)
def test_route_survivors_routes_only_survivors(case, tmp_path):
    analysed, survivors = CASES[case]
    frames = [ShotFrame(v, s, 1.0 + s, f"jpeg {v} {s}".encode()) for v in analysed
              for s in (0, 1)]
    analyses = []
    for v in analysed:  # each video's result files, as the analysis pass commits them
        writer = ResultWriter(str(tmp_path), v)
        for frame in frames:
            if frame.video_id == v:
                writer.add_frame(frame)
        analyses.append(replace(analysis(v), clips_path=writer.clips_path))
        writer.commit(analyses[-1])
    with TestPipeline() as p:
        out = (RouteInputs(keyed(p, "Analyses", analyses, key=lambda a: a.ref.video_id),
                           survivors_in(p, survivors))
               | RouteSurvivors())
        assert_that(out.analyses | beam.Keys(), equal_to(survivors), label="Analyses")
        assert_that(out.shots | beam.Map(lambda kv: (kv[0], kv[1][0], len(kv[1][1]))),
                    equal_to([(v, f"/{v}.mp4", 2) for v in survivors]), label="Shots")
        assert_that(out.shot_frames, equal_to([f for f in frames if f.video_id in survivors]),
                    label="Frames")


@pytest.mark.parametrize("case", CASES)
def test_make_all_shot_jobs(case):
    analysed, survivors = CASES[case]
    with TestPipeline() as p:
        out = (AllShotInputs(analyses_in(p, analysed),
                             survivors_in(p, survivors))
               | MakeAllShotJobs())
        assert_that(out, equal_to([
            ClipJob(VideoRef(v, f"/{v}.mp4"), (TimeRange(0.0, 2.0, 0), TimeRange(2.0, 4.0, 1)),
                    facts(v), f"/work/{v}.clips") for v in survivors]))


def no_person(video_id: str) -> Outcome:
    return Outcome(video_id, f"/{video_id}.mp4", Status.DROPPED, Stage.PERSONS,
                   Reason.NO_PERSON)


@pytest.mark.parametrize("case", CASES)
def test_make_clip_jobs(case):
    analysed, with_people = CASES[case]
    ranges = {v: [TimeRange(2.0, 4.0, 1, 0.9)] for v in with_people}
    without = [v for v in analysed if v not in with_people]
    with TestPipeline() as p:
        out = (JobInputs(analyses_in(p, analysed),
                         create(p, "Kept", sorted(ranges.items())),
                         create(p, "NoPerson", [no_person(v) for v in without]),
                         create(p, "Failed", []))
               | MakeClipJobs())
        assert_that(out.jobs, equal_to([
            ClipJob(VideoRef(v, f"/{v}.mp4"), tuple(ranges[v]), facts(v), f"/work/{v}.clips")
            for v in with_people]), label="Jobs")
        assert_that(out.outcomes, equal_to([no_person(v).with_facts(facts(v))
                                            for v in without]), label="Outcomes")


@pytest.mark.parametrize("case", CASES)
def test_shot_rows_with_the_person_filter(case):
    analysed, survivors = CASES[case]
    with TestPipeline() as p:
        out = (ScoredShotRowInputs(
            analyses_in(p, analysed),
            survivors_in(p, survivors),
            create(p, "Scores", [((v, s), 0.2 + 0.6 * s) for v in survivors for s in (0, 1)]),
            create(p, "Kept", [(v, [TimeRange(2.0, 4.0, 1, 0.8)]) for v in survivors]),
            create(p, "Frames", [((v, 1), FramePerson(t, 0.8 - t / 10, box))
                                 for v in survivors
                                 for t, box in ((3.5, None), (2.5, (0.1, 0.2, 0.3, 0.4)))]))
               | ShotRows())
        rows = out.rows | beam.MapTuple(lambda key, line: (key, json.loads(line)))
        assert_that(rows | beam.MapTuple(lambda key, r: (key, (r["person_score"], r["kept"]))),
                    equal_to(
            [((v, 0), (0.2, False)) for v in survivors] +
            [((v, 1), (0.8, True)) for v in survivors] +
            [((v, s), (None, False)) for v in analysed if v not in survivors for s in (0, 1)]),
            label="Rows")
        # each scored frame's best person, in time order; a shot without frames has none
        assert_that(rows | beam.MapTuple(lambda key, r: (key, r["persons"])), equal_to(
            [((v, 0), []) for v in analysed] +
            [((v, 1), [{"time": 2.5, "score": 0.55, "box": [0.1, 0.2, 0.3, 0.4]},
                       {"time": 3.5, "score": 0.45, "box": None}]
              if v in survivors else []) for v in analysed]),
            label="Persons")
        assert_that(out.totals, equal_to([(2, 1)] * len(survivors)), label="Totals")


@pytest.mark.parametrize("case", CASES)
def test_shot_rows_without_the_person_filter(case):
    analysed, survivors = CASES[case]
    with TestPipeline() as p:
        out = (ShotRowInputs(
            analyses_in(p, analysed),
            survivors_in(p, survivors))
               | ShotRows())
        assert_that(out.rows | beam.Map(lambda kv: (kv[0], json.loads(kv[1])["kept"])),
                    equal_to([((v, s), v in survivors) for v in analysed for s in (0, 1)]),
                    label="Rows")
        assert_that(out.totals, equal_to([]), label="Totals")


@pytest.mark.parametrize("case", CASES)
def test_select_person_shots(case):
    analysed, with_people = CASES[case]
    shots = [(v, (f"/{v}.mp4", list(SHOTS))) for v in analysed]
    scores = [((v, 0), 0.1) for v in analysed] + [((v, 1), 0.7) for v in with_people]
    with TestPipeline() as p:
        out = (PersonInputs(create(p, "Shots", shots), create(p, "Scores", scores),
                            create(p, "Failed", [("b", "the detector failed")]
                                   if "b" in analysed else []))
               | SelectPersonShots(0.5))
        ok = [v for v in with_people if v != "b"]
        assert_that(out.kept_shots, equal_to([(v, [TimeRange(2.0, 4.0, 1, 0.7)]) for v in ok]),
                    label="Kept")
        assert_that(out.no_person | beam.Map(lambda o: o.video_id),
                    equal_to([v for v in analysed if v not in with_people and v != "b"]),
                    label="NoPerson")
        assert_that(out.failed | beam.Map(lambda o: (o.video_id, o.reason)),
                    equal_to([("b", "detector_error")] if "b" in analysed else []),
                    label="Failed")
