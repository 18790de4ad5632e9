"""Reruns, interruptions and resume never mix, lose or duplicate records: the output folder
always publishes exactly one complete run (its dataset.json names it), an interrupted run is
not published, and --resume decodes only the videos an interrupted run did not finish."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from models.clip_dataset import ClipShardDataset
from pipelines.build_dataset import UsageError, run
from tests.conftest import video, write_manifest
from transforms.output.shards import iter_records

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = ("vtest_a.mp4", "vtest_b.mp4", "Megamind.avi", "Megamind_bugy.avi", "tree.avi")


@pytest.fixture()
def manifest(tmp_path) -> str:
    """Six real videos (vtest_a twice, under another name) with labels."""
    rows = [(os.path.splitext(n)[0].lower(), video(n), "walking", "training") for n in NAMES]
    copy = tmp_path / "again.mp4"
    shutil.copy(video("vtest_a.mp4"), copy)
    rows.append(("again", str(copy), "walking", "training"))
    return write_manifest(str(tmp_path / "m.csv"), rows)


FAST = ["--skip_dedup", "--skip_person_filter", "--runner", "FnApiRunner"]


def _published(out) -> tuple[dict, list[bytes]]:
    """The published dataset.json and the records of the shards it names, checking that
    they are all there, as many as it says, and nothing else is published."""
    with open(os.path.join(out, "dataset.json")) as f:
        doc = json.load(f)
    records = []
    for row in doc["shards"]:
        shard = list(iter_records(row["path"]))
        assert len(shard) == row["records"]
        records += shard
    assert len(records) == doc["num_records"]
    with open(doc["report"]) as f:
        assert json.load(f)["clips"] == doc["num_records"]
    assert sorted(os.listdir(os.path.join(out, "runs"))) == [doc["run"].split("/")[1]]
    assert not glob.glob(os.path.join(out, "**", "beam-temp-*"), recursive=True)
    return doc, records


def test_a_rerun_needs_overwrite_and_replaces_the_run_whole(manifest, tmp_path):
    out = str(tmp_path / "out")
    first = run(["--input", manifest, "--output", out, "--num_shards", "3", *FAST],
                save_main_session=False)
    doc, records = _published(out)
    assert len(doc["shards"]) == 3 and len(records) == first["clips"] == 50
    with pytest.raises(UsageError, match="--resume .* --overwrite"):
        run(["--input", manifest, "--output", out, "--num_shards", "2", *FAST])
    second = run(["--input", manifest, "--output", out, "--num_shards", "2", "--overwrite",
                  *FAST], save_main_session=False)
    doc2, records2 = _published(out)
    assert len(doc2["shards"]) == 2 and doc2["run"] != doc["run"]
    # the same records, each once, whatever the shard count; the loader reads what
    # dataset.json lists, so no glob can mix the two runs
    assert sorted(records2) == sorted(records) and second["clips"] == 50
    assert len(list(ClipShardDataset(out, decode=False))) == 50


def test_an_output_with_foreign_files_is_refused(manifest, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not a run's"):
        run(["--input", manifest, "--output", str(out), "--overwrite", *FAST])
    assert sorted(os.listdir(out)) == ["notes.txt"]


def _start(manifest: str, out: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.build_dataset", "--input", manifest, "--output", out,
         "--num_shards", "2", *FAST, *extra], cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, start_new_session=True)


def _wait_for(pattern: str, count: int, child: subprocess.Popen, limit: float = 120) -> int:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = len(glob.glob(pattern, recursive=True))
        if found >= count or child.poll() is not None:
            return found
        time.sleep(0.02)
    raise AssertionError(f"{pattern} never reached {count}")


def test_sigkill_then_resume_decodes_only_the_rest_and_writes_the_same_records(
        manifest, tmp_path):
    whole = str(tmp_path / "whole")
    reference = run(["--input", manifest, "--output", whole, "--num_shards", "2", *FAST],
                    save_main_session=False)
    out = str(tmp_path / "out")
    child = _start(manifest, out)
    committed = _wait_for(os.path.join(out, "work", "*", "*.meta"), 2, child)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL and 2 <= committed < 6
    assert not os.path.exists(os.path.join(out, "dataset.json"))  # nothing was published
    committed = len(glob.glob(os.path.join(out, "work", "*", "*.meta")))
    with pytest.raises(UsageError, match="unfinished run"):
        run(["--input", manifest, "--output", out, *FAST])
    resumed = run(["--input", manifest, "--output", out, "--num_shards", "2", "--resume",
                   *FAST], save_main_session=False)
    # the resumed run decoded only the videos the killed one had not finished
    analyze = resumed["stages"]["analyze"]
    assert analyze["videos_resumed"] == committed
    assert 0 < analyze["frames_decoded"] < reference["frames_decoded"]
    assert resumed["input_frames"] == reference["input_frames"]
    # and its shards are byte for byte the uninterrupted run's
    doc, _ = _published(out)
    ref_doc, _ = _published(whole)
    for mine, theirs in zip(doc["shards"], ref_doc["shards"], strict=True):
        with open(mine["path"], "rb") as a, open(theirs["path"], "rb") as b:
            assert a.read() == b.read()
    # so is shots.jsonl (the resumed videos' shots read back from their committed results)
    shots = [os.path.join(os.path.dirname(d["report"]), "shots.jsonl") for d in (doc, ref_doc)]
    with open(shots[0], "rb") as a, open(shots[1], "rb") as b:
        assert a.read() == b.read()
    assert not os.path.exists(os.path.join(out, "work"))  # removed once published


@pytest.mark.parametrize("when", ["analysis", "final_write"])
def test_ctrl_c_never_unpublishes_or_half_publishes(manifest, tmp_path, when):
    out = str(tmp_path / "out")
    run(["--input", manifest, "--output", out, "--num_shards", "3", *FAST],
        save_main_session=False)
    before, records = _published(out)
    child = _start(manifest, out, "--overwrite")
    pattern = (os.path.join(out, "work", "*", "*.meta") if when == "analysis" else
               os.path.join(out, "runs", "*", "clips-*.tfrecord"))
    _wait_for(pattern, 1 if when == "analysis" else 4, child)
    os.killpg(child.pid, signal.SIGINT)
    _, stderr = child.communicate(timeout=120)
    assert child.returncode in (0, 130), stderr.decode()[-3000:]
    after, records_after = _published(out)
    if child.returncode == 0:  # the run had already published when the signal came
        assert after["run"] != before["run"] and len(after["shards"]) == 2
    else:
        assert b"nothing was published" in stderr, stderr.decode()[-2000:]
        assert after == before and records_after == records
