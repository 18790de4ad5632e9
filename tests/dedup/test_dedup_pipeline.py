"""DropNearDuplicates on the DirectRunner: internal groups, reference sets in order, and the
real videos end to end (decode_pass + Fingerprinter -> reference index -> DropNearDuplicates).
"""

from __future__ import annotations

import argparse
import json
import os

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipelines import build_reference_index
from tests.dedup.conftest import video
from tests.dedup.synth import flip_bits, synthetic
from tests.media import encode_video, iter_frames
from transforms.dedup.config import add_dedup_arguments, dedup_config_from_options, parse_reference
from transforms.dedup.fingerprint import fingerprint_video
from transforms.dedup.similarity import (
    DEFAULT_PARAMS,
    MatchConfig,
    candidate_pairs,
    compare,
    join_keys,
)
from transforms.dedup.stage import DropNearDuplicates
from transforms.types import VideoFingerprint


def _drop_row(outcome):
    return (outcome.video_id, outcome.status, outcome.stage, outcome.reason,
            json.dumps(outcome.evidence, sort_keys=True))


def _counters(result) -> dict[str, int]:
    metrics = result.metrics().query(MetricsFilter().with_namespace("dedup"))["counters"]
    return {m.key.metric.name: m.committed for m in metrics}


def test_internal_and_external_dedup_first_reference_set_takes_the_video(tmp_path):
    rng = np.random.default_rng(7)
    rand = lambda n: rng.integers(0, 256, (n, 32), dtype=np.uint8)  # noqa: E731
    ha, hb, hc, hd = rand(20), rand(16), rand(12), rand(12)
    inputs = [
        synthetic("a", ha, duration=10.0),
        synthetic("a_copy", flip_bits(ha, 10, rng), duration=10.0, width=1280, height=720),
        synthetic("a_trim", flip_bits(ha[5:15], 6, rng), duration=5.0),
        synthetic("b", hb),
        synthetic("c", hc),
        synthetic("d", hd),
    ]
    first = [synthetic("r1_c", flip_bits(hc, 9, rng)), synthetic("r1_x", rand(10))]
    second = [synthetic("r2_c", flip_bits(hc, 5, rng)), synthetic("r2_d", hd[:8])]
    index = tmp_path / "second"
    index.mkdir()
    (index / "fingerprints-00000-of-00001.jsonl").write_text(
        "".join(fp.to_json() + "\n" for fp in second))

    p = TestPipeline()
    refs = p | "First" >> beam.Create(first)
    out = (p | beam.Create(inputs)
           | DropNearDuplicates(references=[("first", refs), ("second", str(index))]))
    assert_that(out.survivors | beam.Map(lambda f: f.video_id), equal_to(["a_copy", "b"]),
                label="Kept")
    assert_that(out.dropped | beam.Map(_drop_row), equal_to([
        ("a", "dropped", "dedup", "duplicate",
         json.dumps({"kept_video_id": "a_copy", "score": 1.0}, sort_keys=True)),
        ("a_trim", "dropped", "dedup", "duplicate",
         json.dumps({"kept_video_id": "a_copy", "score": 1.0}, sort_keys=True)),
        ("c", "dropped", "dedup", "reference",
         json.dumps({"set": "first", "reference_id": "r1_c", "score": 1.0,
                     "reference_share": 1.0}, sort_keys=True)),
        ("d", "dropped", "dedup", "reference",
         json.dumps({"set": "second", "reference_id": "r2_d", "score": 0.6667,
                     "reference_share": 1.0}, sort_keys=True)),
    ]), label="Dropped")
    result = p.run()
    result.wait_until_finish()
    counters = _counters(result)
    assert counters["candidate_pairs"] == 3
    assert counters["verified_pairs"] == 3
    assert counters["duplicates_dropped"] == 2
    assert counters["duplicate_groups"] == 1
    assert counters["reference_first_verified_pairs"] == 1
    assert counters["reference_second_verified_pairs"] == 2  # c matches here too...
    assert counters["reference_first_removed"] == 1
    assert counters["reference_second_removed"] == 1  # ...but only d is counted here


def test_crop_copies_are_joined_through_variant_keys_and_variant_pairs_are_not():
    rng = np.random.default_rng(8)
    rand = lambda *shape: rng.integers(0, 256, (*shape, 32), dtype=np.uint8)  # noqa: E731
    var_o, var_r = rand(12, 3), rand(12, 3)
    twin_variants = var_o.copy()
    twin_variants[:, 2] = rand(12)
    inputs = [
        synthetic("orig", rand(12), duration=6.0, variants=var_o),
        synthetic("orig_crop", flip_bits(var_o[:, 2], 6, rng), duration=5.9,
                  variants=rand(12, 3)),
        # shares orig's variants 0 and 1 exactly: variant keys only, never a candidate
        synthetic("twin", rand(12), variants=twin_variants),
        synthetic("ref_crop", flip_bits(var_r[:, 1], 6, rng), variants=rand(12, 3)),
    ]
    refs = [synthetic("r", rand(12), variants=var_r)]
    p = TestPipeline()
    out = (p | "Inputs" >> beam.Create(inputs)
           | DropNearDuplicates(references=[("set", p | "Refs" >> beam.Create(refs))]))
    assert_that(out.survivors | beam.Map(lambda f: f.video_id), equal_to(["orig", "twin"]),
                label="Kept")
    assert_that(out.dropped | beam.Map(lambda o: (o.video_id, o.reason)),
                equal_to([("orig_crop", "duplicate"), ("ref_crop", "reference")]),
                label="Dropped")
    result = p.run()
    result.wait_until_finish()
    counters = _counters(result)
    assert counters["candidate_pairs"] == 1
    assert counters["reference_set_candidate_pairs"] == 1


def test_real_videos_end_to_end(tmp_path, real_fps):
    manifest = tmp_path / "refs.csv"
    manifest.write_text("video_id,uri\n"
                        f"ref_bugy,{video('Megamind_bugy.avi')}\n"
                        f"ref_missing,{tmp_path / 'missing.mp4'}\n")
    out_dir = tmp_path / "index"
    build_reference_index.run([f"--index_input={manifest}", f"--index_output={out_dir}"],
                              save_main_session=False)
    failures = [json.loads(x) for x in (out_dir / "failures.jsonl").read_text().splitlines()]
    assert [(f["video_id"], f["reason"]) for f in failures] == [("ref_missing", "missing")]
    shards = [f for f in os.listdir(out_dir) if f.startswith("fingerprints")]
    lines = "".join((out_dir / f).read_text() for f in shards).splitlines()
    assert [json.loads(x)["video_id"] for x in lines] == ["ref_bugy"]

    with TestPipeline() as p:
        out = (p | beam.Create(list(real_fps.values()))
               | DropNearDuplicates(references=[("cartoons", str(out_dir))]))
        assert_that(out.survivors | beam.Map(lambda f: f.video_id),
                    equal_to(["vtest_a", "vtest_b", "tree"]), label="Kept")
        assert_that(out.dropped | beam.Map(lambda o: (o.video_id, o.reason,
                                                           o.evidence.get("kept_video_id"),
                                                           o.evidence.get("reference_id"))),
                    equal_to([("Megamind_bugy", "duplicate", "Megamind", None),
                              ("Megamind", "reference", None, "ref_bugy")]), label="Dropped")


def _excerpt(tmp_path, name: str, start: float, end: float, fps: int) -> VideoFingerprint:
    """Fingerprint of seconds ``start..end`` of a sample video, re-encoded (H.264)."""
    frames = [f.image for f in iter_frames(video(name)) if start <= f.time < end]
    path = encode_video(str(tmp_path / "excerpt.mp4"), frames, fps=fps)
    return fingerprint_video("excerpt", path)


def test_a_reference_clip_inside_a_longer_video_removes_it(tmp_path, real_fps):
    # 3 s of the 20 s vtest_a, re-encoded: all of it is found in vtest_a, a quarter of
    # vtest_a in it; a 10 s Kinetics clip inside a 3-minute video is the same case
    clip = _excerpt(tmp_path, "vtest_a.mp4", 8.0, 11.0, fps=10)
    assert 0.15 <= compare(real_fps["vtest_a"], clip).share_ab < DEFAULT_PARAMS.overlap
    index = tmp_path / "kinetics"
    index.mkdir()
    (index / "fingerprints-00000-of-00001.jsonl").write_text(clip.to_json() + "\n")
    # and a synthetic hour-long video (7200 frames) holding a 10 s clip: its 256 bottom-k
    # keys share no key with the clip; the keys at the reference key rate do
    rng = np.random.default_rng(11)
    long = rng.integers(0, 256, (7200, 32), dtype=np.uint8)
    ref_long = synthetic("ref_hour", flip_bits(long[3000:3020], 4, rng))
    collection = [real_fps["vtest_a"], real_fps["vtest_b"], synthetic("hour", long)]

    with TestPipeline() as p:
        # within the collection, the excerpt and its source are not duplicates: both kept
        out = (p | "Collection" >> beam.Create([real_fps["vtest_a"], clip])
               | "Internal" >> DropNearDuplicates())
        assert_that(out.survivors | "KeptIds" >> beam.Map(lambda f: f.video_id),
                    equal_to(["vtest_a", "excerpt"]), label="BothKept")
    p = TestPipeline()
    refs = p | "HourRef" >> beam.Create([ref_long])
    out = (p | "Videos" >> beam.Create(collection)
           | DropNearDuplicates(references=[("kinetics", str(index)), ("hour", refs)]))
    assert_that(out.survivors | beam.Map(lambda f: f.video_id), equal_to(["vtest_b"]),
                label="Kept")
    assert_that(out.dropped | beam.Map(lambda o: (
        o.video_id, o.reason, o.evidence["set"], o.evidence["reference_id"],
        o.evidence["reference_share"] >= 0.9, o.evidence["score"] < 0.3)), equal_to([
            ("vtest_a", "reference", "kinetics", "excerpt", True, True),
            ("hour", "reference", "hour", "ref_hour", True, True)]), label="Dropped")
    result = p.run()
    result.wait_until_finish()
    counters = _counters(result)
    assert counters["reference_kinetics_removed"] == 1
    assert counters["reference_hour_removed"] == 1
    # the rule as it was (the collection's overlap, bottom-k keys only) kept both
    before = MatchConfig(reference_overlap=DEFAULT_PARAMS.overlap, reference_key_rate=0.0)
    assert not compare(real_fps["vtest_a"], clip, before.for_reference()).duplicate
    pairs, _ = candidate_pairs([("hour", *join_keys(synthetic("hour", long), before,
                                                    rate=before.reference_key_rate))],
                               min_shared=2, right=[("ref_hour", *join_keys(ref_long))])
    assert not pairs


def test_options_build_the_config_in_reference_order():
    parser = argparse.ArgumentParser()
    add_dedup_arguments(parser)
    opts = parser.parse_args(["--reference", "kinetics=gs://b/k", "--reference",
                              "ucf101=/refs/ucf", "--dedup_distance", "20"])
    cfg = dedup_config_from_options(opts)
    assert cfg.references == (("kinetics", "gs://b/k"), ("ucf101", "/refs/ucf"))
    assert cfg.match.distance == 20 and cfg.match.contain == 0.5
    assert cfg.match.crop_variants and cfg.fingerprint.crop_variants
    off = dedup_config_from_options(parser.parse_args(["--dedup_crop_variants=off"]))
    assert not off.match.crop_variants and not off.fingerprint.crop_variants
    with pytest.raises(ValueError, match="NAME=PATH"):
        parse_reference("no-equals-sign")
    with pytest.raises(ValueError, match="--dedup_bands must divide"):
        dedup_config_from_options(parser.parse_args(["--dedup_bands", "5"]))
    with pytest.raises(ValueError, match="--dedup_distance must be 0..256"):
        dedup_config_from_options(parser.parse_args(["--dedup_distance", "300"]))
    assert cfg.match.reference_overlap == 0.0 and cfg.match.reference_key_rate == 0.25
    with pytest.raises(ValueError, match="--dedup_reference_overlap must be in"):
        dedup_config_from_options(parser.parse_args(["--dedup_reference_overlap", "-0.1"]))
    with pytest.raises(ValueError, match="--dedup_reference_key_rate must be in"):
        dedup_config_from_options(parser.parse_args(["--dedup_reference_key_rate", "2"]))


def test_reference_index_accepts_precomputed_fingerprints(tmp_path):
    rng = np.random.default_rng(11)
    good = synthetic("pre_1", rng.integers(0, 256, (4, 32), dtype=np.uint8))
    pre = tmp_path / "pre.jsonl"
    pre.write_text(good.to_json() + "\n" + '{"video_id": "broken"}\n')
    out_dir = tmp_path / "index"
    build_reference_index.run([f"--index_precomputed={pre}", f"--index_output={out_dir}",
                               "--index_shards=2"], save_main_session=False)
    shards = sorted(f for f in os.listdir(out_dir) if f.startswith("fingerprints"))
    assert shards == ["fingerprints-00000-of-00002.jsonl", "fingerprints-00001-of-00002.jsonl"]
    lines = "".join((out_dir / f).read_text() for f in shards).splitlines()
    assert [VideoFingerprint.from_json(x) for x in lines] == [good]
    failures = [json.loads(x) for x in (out_dir / "failures.jsonl").read_text().splitlines()]
    assert [f["reason"] for f in failures] == ["bad_precomputed"]


def test_stage_join_equals_the_pure_function_on_realistic_fingerprints():
    """The Beam stage's sampled join (keys, buckets, shared-key count, verification, groups)
    gives the candidates and drops of ``similarity.candidate_pairs`` + exact verification."""
    from benchmarks.bench_dedup_realistic import make_chunk, pure_join
    from transforms.dedup.similarity import DEFAULT_PARAMS

    fps = make_chunk(0, 16, 2, seed=9, median_s=20.0, sigma=0.5)
    by_id = {fp.video_id: fp for fp in fps}
    expected = pure_join([fps], DEFAULT_PARAMS, lambda ids: {i: by_id[i] for i in ids})
    assert len(expected["drops"]) == 8  # every planted copy (all four edit kinds)
    p = TestPipeline()
    out = p | beam.Create(fps) | DropNearDuplicates()
    assert_that(out.dropped | beam.Map(lambda o: (o.video_id, o.evidence["kept_video_id"])),
                equal_to(sorted(expected["drops"])))
    result = p.run()
    result.wait_until_finish()
    assert _counters(result)["candidate_pairs"] == expected["candidates"]


def test_sampled_keys_on_real_clips_fewer_and_the_real_duplicate_still_found(real_fps):
    """Real footage: the committed clips one after the other (95 s of real frame hashes and
    crop variants) keep under a third of the keys the join had (every key, crop variants of
    every 2nd frame), at most the budgets; and Megamind / Megamind_bugy is still a candidate
    pair (2 shared keys or more) and a duplicate; the same-place vtest clips are not
    duplicates."""
    from transforms.dedup.similarity import (
        DEFAULT_PARAMS,
        MatchConfig,
        candidate_pairs,
        compare,
        join_keys,
    )

    clips = list(real_fps.values())
    reel = VideoFingerprint(
        "reel", sum(f.duration for f in clips), 640, 360,
        tuple(float(t) for t in range(sum(len(f) for f in clips))),
        b"".join(f.hashes for f in clips), tuple(q for f in clips for q in f.qualities),
        variants=b"".join(f.variants for f in clips))
    before = MatchConfig(key_budget=0, variant_key_budget=0, min_shared_keys=1)
    after = sum(map(len, join_keys(reel, DEFAULT_PARAMS)))
    assert after <= DEFAULT_PARAMS.key_budget + DEFAULT_PARAMS.variant_key_budget
    assert after < sum(map(len, join_keys(reel, before))) / 3
    keys = [(v, *join_keys(fp, DEFAULT_PARAMS)) for v, fp in real_fps.items()]
    pairs, _ = candidate_pairs(keys, min_shared=DEFAULT_PARAMS.min_shared_keys)
    assert ("Megamind", "Megamind_bugy") in pairs
    assert compare(real_fps["Megamind"], real_fps["Megamind_bugy"]).duplicate
    assert not compare(real_fps["vtest_a"], real_fps["vtest_b"]).duplicate
