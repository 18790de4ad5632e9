"""Growing a dataset: a run writes the fingerprint index of the videos it kept, a later run
with ``--previous`` drops new videos that duplicate them (as duplicates, not reference
removals), and the loader reads the runs as one dataset, each record once."""

from __future__ import annotations

import glob
import json
import os
import shutil
from collections import Counter

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from torch.utils.data import DataLoader

from models.clip_dataset import ClipShardDataset
from pipelines.build_dataset import UsageError, run
from tests.conftest import run_dir, video, write_manifest
from tests.dedup.synth import flip_bits, synthetic
from transforms.dedup.config import PreviousRun
from transforms.dedup.stage import DropNearDuplicates
from transforms.output.shards import iter_records
from transforms.types import VideoFingerprint

FAST = ["--skip_person_filter", "--runner", "FnApiRunner"]


def _rows(out: str) -> dict[str, dict]:
    with open(os.path.join(run_dir(out), "videos.jsonl")) as f:
        return {row["video_id"]: row for row in map(json.loads, f)}


def _index(doc: dict) -> list[VideoFingerprint]:
    return [VideoFingerprint.from_json(line) for path in sorted(glob.glob(doc["fingerprints"]))
            for line in open(path)]


def _doc(out: str) -> dict:
    with open(os.path.join(out, "dataset.json")) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def grown(tmp_path_factory) -> dict:
    """Run 1 over vtest_a and Megamind; run 2 over a new video (vtest_b), Megamind re-encoded
    (Megamind_bugy), a byte copy of vtest_a under another id, and tree.avi under run 1's id
    ``megamind``, with ``--previous run1``."""
    tmp = tmp_path_factory.mktemp("grow")
    copy = tmp / "copy.mp4"
    shutil.copy(video("vtest_a.mp4"), copy)
    first = write_manifest(str(tmp / "m1.csv"), [
        ("vtest_a", video("vtest_a.mp4"), "walking", ""),
        ("megamind", video("Megamind.avi"), "walking", "")])
    second = write_manifest(str(tmp / "m2.csv"), [
        ("vtest_b", video("vtest_b.mp4"), "walking", ""),
        ("bugy", video("Megamind_bugy.avi"), "walking", ""),
        ("copy_a", str(copy), "walking", ""),
        ("megamind", video("tree.avi"), "walking", "")])
    out1, out2 = str(tmp / "run1"), str(tmp / "run2")
    report1 = run(["--input", first, "--output", out1, "--num_shards", "3", *FAST],
                  save_main_session=False)
    report2 = run(["--input", second, "--output", out2, "--num_shards", "2",
                   "--previous", out1, *FAST], save_main_session=False)
    return {"tmp": tmp, "out1": out1, "out2": out2, "report1": report1, "report2": report2}


def test_a_run_writes_the_index_of_the_videos_it_kept(grown):
    out1, out2 = grown["out1"], grown["out2"]
    for out, kept in ((out1, ["megamind", "vtest_a"]), (out2, ["vtest_b"])):
        doc = _doc(out)
        with open(os.path.join(run_dir(out), "dataset.json")) as f:
            assert json.load(f)["fingerprints"] == doc["fingerprints"]
        assert doc["fingerprints"] == os.path.join(run_dir(out), "fingerprints",
                                                   "fingerprints-*.jsonl")
        index = _index(doc)
        # exactly the videos with clips, each once: not the dropped or failed ones
        assert sorted(fp.video_id for fp in index) == kept
        assert sorted(v for v, row in _rows(out).items() if row["clips"]) == kept
    vtest_a = next(fp for fp in _index(_doc(out1)) if fp.video_id == "vtest_a")
    assert vtest_a.duration == 20.0 and len(vtest_a) == 40  # 2 frames a second of 20 s


def test_previous_drops_copies_of_its_videos_as_duplicates(grown):
    out1, report2 = grown["out1"], grown["report2"]
    earlier = _doc(out1)["run"]
    rows = _rows(grown["out2"])
    assert {v: (r["status"], r["stage"], r["reason"]) for v, r in rows.items()} == {
        "vtest_b": ("kept", "clips", ""),
        "bugy": ("dropped", "dedup", "duplicate"),
        "copy_a": ("dropped", "dedup", "duplicate"),
        "megamind": ("failed", "dedup", "id_taken")}
    bugy, copy = rows["bugy"]["evidence"], rows["copy_a"]["evidence"]
    assert {k: bugy[k] for k in ("previous", "run", "kept_video_id")} == {
        "previous": out1, "run": earlier, "kept_video_id": "megamind"}
    assert 0.6 < bugy["score"] < 0.8  # the re-encode matches 12 of its 17 usable frames
    assert copy == {"previous": out1, "run": earlier, "kept_video_id": "vtest_a",
                    "score": 1.0}
    assert f"kept by the earlier run {earlier}" in rows["bugy"]["message"]
    # tree.avi under run 1's id: other content, so it is not a duplicate, but its clips
    # would carry run 1's clip ids
    assert rows["megamind"]["evidence"] == {"previous": out1, "run": earlier}
    assert "give this video another id" in rows["megamind"]["message"]
    assert rows["megamind"]["frames"] == 68  # the decoded facts are filled in
    assert report2["reference_removals"] == {}
    assert report2["reasons"] == {"dropped": {"duplicate": 2}, "failed": {"id_taken": 1}}
    assert report2["videos"]["kept"] == 1 and report2["clips"] == 10


def test_the_same_video_again_is_a_duplicate_of_itself(grown):
    tmp = grown["tmp"]
    manifest = write_manifest(str(tmp / "m3.csv"),
                              [("vtest_a", video("vtest_a.mp4"), "walking", "")])
    out3 = str(tmp / "run3")
    report = run(["--input", manifest, "--output", out3, "--previous", grown["out2"],
                  "--previous", grown["out1"], *FAST], save_main_session=False)
    row = _rows(out3)["vtest_a"]
    assert (row["status"], row["reason"]) == ("dropped", "duplicate")
    assert row["evidence"]["kept_video_id"] == "vtest_a"
    assert row["evidence"]["previous"] == grown["out1"]  # the run that has it
    assert report["clips"] == 0 and _index(_doc(out3)) == []


def test_grown_dataset_reads_as_one_each_record_once(grown):
    outs = [grown["out1"], grown["out2"]]
    seen = Counter()
    for rank in range(2):
        ds = ClipShardDataset(outs, world_size=2, rank=rank, decode=False)
        loader = DataLoader(ds, batch_size=None, num_workers=2, collate_fn=lambda x: x)
        seen.update((c.video_id, c.clip_id) for c in loader)
    published = Counter()
    for out in outs:
        for row in _doc(out)["shards"]:
            published.update(iter_records(row["path"]))
    assert max(seen.values()) == 1 and max(published.values()) == 1
    assert sum(seen.values()) == sum(published.values()) == (
        grown["report1"]["clips"] + grown["report2"]["clips"]) == 14 + 10
    # vtest_a 10 + Megamind 4 from run 1, vtest_b 10 from run 2; nothing of the duplicates
    assert Counter(v for v, _ in seen) == {"vtest_a": 10, "megamind": 4, "vtest_b": 10}


def test_bad_previous_is_refused_before_the_job(grown, tmp_path):
    manifest = write_manifest(str(tmp_path / "m.csv"),
                              [("vtest_b", video("vtest_b.mp4"), "", "")])
    plain = str(tmp_path / "plain")
    run(["--input", manifest, "--output", plain, "--skip_dedup", *FAST],
        save_main_session=False)
    assert _doc(plain)["fingerprints"] is None
    assert not os.path.exists(os.path.join(run_dir(plain), "fingerprints"))
    empty = tmp_path / "empty"
    empty.mkdir()
    # a run whose fingerprints are of another hash kind (one this job does not make)
    other_kind = tmp_path / "other_kind"
    other_kind.mkdir()
    doc = _doc(grown["out1"])
    assert doc["clip_settings"]["dedup"]["fingerprint"]["kind"] == "phash256"
    doc["clip_settings"]["dedup"]["fingerprint"]["kind"] = "pdq256"
    (other_kind / "dataset.json").write_text(json.dumps(doc))
    # a run from before FingerprintConfig recorded its hash as dedup.kind
    old_kind = tmp_path / "old_kind"
    old_kind.mkdir()
    old = _doc(grown["out1"])
    old["clip_settings"]["dedup"] = {"kind": "pdq256"}
    (old_kind / "dataset.json").write_text(json.dumps(old))
    out = str(tmp_path / "out")
    cases = [
        (["--previous", str(empty)], "--previous .*empty: no published run"),
        (["--previous", str(tmp_path / "missing")], "--previous .*missing: no published run"),
        (["--previous", plain], "--previous .*plain: its run runs/.* has no fingerprint index"),
        (["--previous", grown["out1"], "--skip_dedup"], "--previous needs near-duplicate"),
        (["--previous", str(other_kind)],
         "fingerprints are pdq256 hashes, this run makes phash256"),
        (["--previous", str(old_kind)],
         "fingerprints are pdq256 hashes, this run makes phash256"),
        (["--previous", out + "/"], "--previous .* is this run's --output"),
    ]
    for extra, message in cases:
        with pytest.raises(UsageError, match=message):
            run(["--input", manifest, "--output", out, *extra, *FAST])
    assert not os.path.exists(out)


def test_an_earlier_run_is_checked_before_the_reference_sets(tmp_path):
    rng = np.random.default_rng(3)
    rand = lambda n: rng.integers(0, 256, (n, 32), dtype=np.uint8)  # noqa: E731
    ha, hb, hc = rand(12), rand(12), rand(12)
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "fingerprints-00000-of-00001.jsonl").write_text("".join(
        fp.to_json() + "\n" for fp in (synthetic("old_a", ha), synthetic("taken", hb))))
    previous = PreviousRun(output="gs://b/run1", run="runs/r1",
                           fingerprints=str(earlier / "fingerprints-*.jsonl"))
    inputs = [synthetic("new_a", flip_bits(ha, 8, rng)), synthetic("taken", rand(12)),
              synthetic("new_c", flip_bits(hc, 8, rng)), synthetic("fresh", rand(12))]
    p = TestPipeline()
    refs = p | "Refs" >> beam.Create([synthetic("r_a", ha), synthetic("r_c", hc)])
    out = (p | "Inputs" >> beam.Create(inputs)
           | DropNearDuplicates(references=[("kinetics", refs)], previous=[previous]))
    assert_that(out.survivors | beam.Map(lambda f: f.video_id), equal_to(["fresh"]),
                label="Kept")
    assert_that(out.dropped | beam.Map(lambda o: (o.video_id, o.reason, o.evidence)),
                equal_to([
                    ("new_a", "duplicate", {"previous": "gs://b/run1", "run": "runs/r1",
                                            "kept_video_id": "old_a", "score": 1.0}),
                    ("new_c", "reference", {"set": "kinetics", "reference_id": "r_c",
                                            "score": 1.0, "reference_share": 1.0})]),
                label="Dropped")
    assert_that(out.failed | beam.Map(lambda o: (o.video_id, o.status, o.reason)),
                equal_to([("taken", "failed", "id_taken")]), label="Failed")
    p.run().wait_until_finish()
