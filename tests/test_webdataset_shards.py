"""WebDataset shards (``--shard_format webdataset``): the TFRecord shards' records, in the same
shards and order, as ``.tar`` samples that the webdataset package, ClipShardDataset and the
tools read; byte-identical on a rerun, for both clip codecs."""

import json
import os
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from models.clip_dataset import ClipShardDataset
from pipelines.build_dataset import run
from transforms.output.records import from_example
from transforms.output.shards import iter_records, match_shards, read_index
from transforms.output.tar_shards import sample_key

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = ["--num_shards", "2", "--skip_dedup", "--runner", "FnApiRunner"]


def _job(inputs, out, *extra):
    run(["--input", inputs, "--output", str(out), *ARGS, *extra], save_main_session=False)
    return str(out)


@pytest.fixture(scope="module")
def runs(dataset_inputs, tmp_path_factory):
    """The same inputs written as TFRecord and as WebDataset shards, both codecs."""
    base = tmp_path_factory.mktemp("wds")
    return {(fmt, codec): _job(dataset_inputs, base / f"{fmt}-{codec}", "--shard_format", fmt,
                               "--clip_codec", codec)
            for fmt in ("tfrecord", "webdataset") for codec in ("h264", "jpeg")}


@pytest.mark.parametrize("codec", ["h264", "jpeg"])
def test_tars_hold_the_tfrecord_shards_records_in_the_same_places(runs, codec):
    tfr = match_shards(runs["tfrecord", codec])
    tars = match_shards(runs["webdataset", codec])
    assert [os.path.basename(p) for p in tars] == [
        os.path.basename(p).replace(".tfrecord", ".tar") for p in tfr]
    total = 0
    for a, b in zip(tfr, tars, strict=True):
        records = list(iter_records(a))
        assert list(iter_records(b)) == records   # the same Example bytes, same order
        assert len(read_index(b)) == len(records)
        total += len(records)
    assert total > 0
    with open(os.path.join(runs["webdataset", codec], "dataset.json")) as f:
        doc = json.load(f)
    assert doc["shard_format"] == "webdataset" and doc["num_records"] == total
    assert [row["path"] for row in doc["shards"]] == tars
    assert all(row["bytes"] == os.path.getsize(row["path"]) for row in doc["shards"])


@pytest.mark.parametrize("fmt, codec", [("webdataset", "h264"), ("webdataset", "jpeg"),
                                        ("tfrecord", "jpeg")])
def test_a_rerun_in_another_process_writes_byte_identical_shards(runs, dataset_inputs,
                                                                 tmp_path, fmt, codec):
    """(TFRecord shards of h264 clips: tests/test_h264_clips.py.)"""
    out = str(tmp_path / "again")
    subprocess.run([sys.executable, "-m", "pipelines.build_dataset", "--input", dataset_inputs,
                    "--output", out, *ARGS[:-2], "--shard_format", fmt,
                    "--clip_codec", codec], check=True, capture_output=True, cwd=ROOT,
                   timeout=600)
    first, again = match_shards(runs[fmt, codec]), match_shards(out)
    assert len(first) == len(again) == 2
    for a, b in zip(first, again, strict=True):
        assert open(a, "rb").read() == open(b, "rb").read(), a


def test_tar_members_are_deterministic_and_named_for_webdataset(runs):
    for codec, media in (("h264", {"mp4"}), ("jpeg", {"jpg"})):
        for path in match_shards(runs["webdataset", codec]):
            with tarfile.open(path) as tar:
                members = tar.getmembers()
            assert all((m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) == (0, 0, 0, "", "",
                                                                            0o644)
                       for m in members)
            keys = {m.name.split(".")[0] for m in members}
            assert all("." not in k for k in keys)
            assert {m.name.rsplit(".", 1)[-1] for m in members} == {"json"} | media


@pytest.mark.parametrize("codec", ["h264", "jpeg"])
def test_the_webdataset_package_reads_every_sample_once(runs, codec):
    import webdataset as wds

    tars = match_shards(runs["webdataset", codec])
    clips = {from_example(r).clip_id: from_example(r)
             for p in match_shards(runs["tfrecord", codec]) for r in iter_records(p)}
    seen = []
    for sample in wds.WebDataset(tars, shardshuffle=False):
        meta = json.loads(sample["json"])
        clip = clips[meta["clip_id"]]
        seen.append(meta["clip_id"])
        assert sample["__key__"] == sample_key(clip.clip_id)
        assert meta["timestamps"] == pytest.approx(clip.timestamps)
        assert (meta["codec"], meta["num_frames"], meta["label_name"]) == (
            codec, clip.num_frames, clip.label_name)
        if codec == "h264":
            assert sample["mp4"] == clip.video
        else:
            frames = [sample[k] for k in sorted(k for k in sample if k.endswith(".jpg"))]
            assert frames == list(clip.frames)
    assert sorted(seen) == sorted(clips)


def test_clip_shard_dataset_reads_tars_like_tfrecords(runs):
    for codec in ("h264", "jpeg"):
        def samples(fmt, codec=codec):
            ds = ClipShardDataset(runs[fmt, codec], num_frames=8, sampling="random", seed=2,
                                  rank=1, world_size=2)
            return [(s["clip_id"], s["timestamps"].tolist(), s["frames"].numpy())
                    for s in ds]
        a, b = samples("tfrecord"), samples("webdataset")
        assert a and [x[:2] for x in a] == [x[:2] for x in b]
        assert all(np.array_equal(x[2], y[2]) for x, y in zip(a, b, strict=True))


def test_the_tools_on_webdataset_shards(runs, tmp_path):
    """hacs_eval and the annotation tools read tars; apply_labels refuses them, naming the
    option."""
    from annotate.media import read_record, scan_shards
    from hacs_eval.formats import load_clip_labels
    from pipelines.apply_labels import ApplyLabelsError, list_shards

    out = runs["webdataset", "h264"]
    scanned = list(scan_shards(out))
    assert scanned
    for record, shard, offset, length in scanned[:3]:
        assert read_record(shard, offset, length) == record
    targets = load_clip_labels(out, include_unannotated=True)
    expected = load_clip_labels(runs["tfrecord", "h264"], include_unannotated=True)
    assert targets and sorted(map(repr, targets)) == sorted(map(repr, expected))
    with pytest.raises(ApplyLabelsError, match="--shard_format webdataset"):
        list_shards(out)


def test_sample_keys_are_distinct_and_dot_free():
    ids = ["a.b_000001000_000003000", "a_b_000001000_000003000", "a%2Eb_000001000_000003000",
           "x/y_000000000_000002000"]
    keys = [sample_key(i) for i in ids]
    assert len(set(keys)) == len(keys) and not any("." in k or "/" in k for k in keys)

