"""pipelines.apply_labels: Clips CSV labels written back into clip shards (real Beam runs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to
from tests_annotate_helpers import write_shard

from pipelines.apply_labels import ApplyLabels, ApplyLabelsError, main, row_matches, run
from transforms.hacs_files import ClipLabel, parse_clips_csv
from transforms.jpeg import encode_jpeg
from transforms.output.records import ClipRecord, from_example, make_clip_id, to_example
from transforms.output.shards import index_path, iter_records, match_shards


def clip(video_id: str, start: float, label_name: str = "Walking",
         annotation: int = 0) -> ClipRecord:
    """A small real record: two JPEG frames whose brightness encodes the start time."""
    frames = tuple(encode_jpeg(np.full((24, 32, 3), int(start * 10 + i) % 255, np.uint8))
                   for i in range(2))
    return ClipRecord(video_id=video_id, clip_id=make_clip_id(video_id, start, start + 2.0),
                      source_uri=f"/videos/{video_id}.mp4", start=start, end=start + 2.0,
                      fps=1.0, height=24, width=32, frames=frames,
                      timestamps=(start, start + 1.0), label_name=label_name,
                      subset="training", annotation=annotation)


RECORDS = [clip("v1", 92.1), clip("v1", 94.1), clip("v2", 0.0, label_name=""),
           clip("v2", 2.0), clip("v3", 0.0, annotation=1), clip("v1", 10.0),
           clip("v9", 4.0, annotation=-1)]
CSV = """classname,youtube_id,subset,start,end,label
Walking,v1,training,92.1,94.1,1
Walking,v1,training,94.1,96.1,-1
Running,v2,training,0.0,2.0,1
Running,v2,training,2.0,4.0,1
Walking,v3,training,0.0,2.0,1
Walking,v3,training,0.0,2.0,-1
Walking,v1,training,10.0004,12.0004,-1
Walking,nope,training,0.0,2.0,1
Walking,v1,training,10.002,12.0,1
"""
# (clip id, annotation) after labelling: v2 2-4 is a Walking record, only a Running row
# matches its span, so it stays unannotated; for v3 the later of two rows wins; v9 has no
# rows and keeps its annotation.
EXPECTED = [(RECORDS[0].clip_id, 1), (RECORDS[1].clip_id, -1), (RECORDS[2].clip_id, 1),
            (RECORDS[3].clip_id, 0), (RECORDS[4].clip_id, -1), (RECORDS[5].clip_id, -1),
            (RECORDS[6].clip_id, -1)]
REPORT = {"rows": 9, "rows_matched": 6, "rows_unmatched": 3, "records": 7,
          "records_labelled": 5, "records_unchanged": 2,
          "unmatched_rows": [[5, "Running", "v2", "training", 2.0, 4.0, 1],
                             [9, "Walking", "nope", "training", 0.0, 2.0, 1],
                             [10, "Walking", "v1", "training", 10.002, 12.0, 1]]}


@pytest.mark.parametrize("row, expected", [
    (ClipLabel("Walking", "v1", "t", 92.1, 94.1, 1), True),
    (ClipLabel("Walking", "v1", "t", 92.1009, 94.1009, 1), True),
    (ClipLabel("Walking", "v1", "t", 92.102, 94.1, 1), False),
    (ClipLabel("Running", "v1", "t", 92.1, 94.1, 1), False),
    (ClipLabel("Walking", "v2", "t", 92.1, 94.1, 1), False),
], ids=["exact", "within-1ms", "2ms-off", "other-class", "other-video"])
def test_row_matches(row, expected):
    record = from_example(to_example(RECORDS[0]))  # times now float32, as in real shards
    assert record.start != 92.1
    assert row_matches(record, row, 0.001) is expected


def test_apply_labels_transform():
    rows = parse_clips_csv(CSV)
    with BeamTestPipeline() as p:
        out = (p | beam.Create([to_example(r) for r in RECORDS])
               | ApplyLabels(rows, tolerance_s=0.001))
        pairs = out["records"] | beam.Map(lambda d: (from_example(d).clip_id,
                                                     from_example(d).annotation))
        assert_that(pairs, equal_to(EXPECTED), label="CheckRecords")
        assert_that(out["report"], equal_to([REPORT]), label="CheckReport")


def test_run_writes_labelled_shards_index_and_report(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    write_shard(src / "clips-00000-of-00002.tfrecord", [to_example(r) for r in RECORDS[:3]])
    write_shard(src / "clips-00001-of-00002.tfrecord", [to_example(r) for r in RECORDS[3:]])
    labels = tmp_path / "labels.csv"
    labels.write_text(CSV)
    prefix = str(tmp_path / "out" / "clips")
    run([f"--shards={src}/*.tfrecord", f"--labels_csv={labels}", f"--output_prefix={prefix}",
         "--output_shards=2"], save_main_session=False, test_pipeline=BeamTestPipeline())
    shards = match_shards(prefix + "-*.tfrecord")
    assert len(shards) == 2
    records = [from_example(d) for s in shards for d in iter_records(s)]
    assert sorted((r.clip_id, r.annotation) for r in records) == sorted(EXPECTED)
    by_id = {r.clip_id: r for r in records}
    for original in RECORDS:  # everything but the annotation is kept
        assert by_id[original.clip_id].frames == original.frames
        assert by_id[original.clip_id].label_name == original.label_name
    for shard in shards:
        lines = open(index_path(shard)).read().split()
        assert len(lines) == 2 * len(list(iter_records(shard)))
    report = json.loads(open(prefix + "-report.json").read())
    assert report == REPORT
    assert capsys.readouterr().out.splitlines() == [
        f"apply_labels: 6 of 9 rows of {labels} matched a record, 3 unmatched (first at "
        f"line 5); 5 of 7 records labelled; report {prefix}-report.json"]


def test_run_refuses_missing_inputs(tmp_path):
    with pytest.raises(ApplyLabelsError, match="missing --labels_csv"):
        run([f"--shards={tmp_path}", f"--output_prefix={tmp_path}/o"])
    labels = tmp_path / "labels.csv"
    labels.write_text(CSV)
    with pytest.raises(ApplyLabelsError, match="no shards match"):
        run([f"--shards={tmp_path}/none-*.tfrecord", f"--labels_csv={labels}",
             f"--output_prefix={tmp_path}/o"])
    assert not os.path.exists(f"{tmp_path}/o-report.json")


HEADER = b"classname,youtube_id,subset,start,end,label\n"
GOOD = b"Walking,v1,training,92.1,94.1,1\n"


def _cli_error(monkeypatch, capsys, shards, labels, out) -> list[str]:
    """Run ``python -m pipelines.apply_labels`` in-process; it must exit with status 2:
    return its stderr lines."""
    monkeypatch.setattr(sys, "argv", ["apply_labels", f"--shards={shards}",
                                      f"--labels_csv={labels}", f"--output_prefix={out}/clips"])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    return capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("data, message", [
    (HEADER + GOOD + b"Walking,v1,training,94.1,96.1,2\n",
     "labels.csv line 3: label must be 1 or -1, got '2'"),
    (HEADER + b"Walking,v1,training,92.1,1\n", "labels.csv line 2: expected 6 fields, got 5"),
    (HEADER + GOOD + b"Walking,v1,training,abc,96.1,1\n",
     "labels.csv line 3: start 'abc' is not a number"),
    (HEADER + GOOD + b"Caf\xe9,v1,training,94.1,96.1,1\n",
     "labels.csv line 3: not UTF-8 (byte 0xe9 at column 4); save the file as UTF-8"),
    (HEADER + b'Walking,"v1"x,training,92.1,94.1,1\n', "labels.csv line 2: not CSV"),
    (b"class,id\n", "labels.csv: header must be"),
    (None, "cannot read labels file"),
], ids=["bad-label", "field-count", "not-a-number", "not-utf8", "bad-quote", "bad-header",
        "missing-file"])
def test_cli_bad_labels_file_is_one_line_and_status_2(tmp_path, monkeypatch, capsys, data,
                                                      message):
    write_shard(tmp_path / "clips-00000-of-00001.tfrecord", [to_example(RECORDS[0])])
    labels = tmp_path / "labels.csv"
    if data is not None:
        labels.write_bytes(data)
    [line] = _cli_error(monkeypatch, capsys, tmp_path, labels, tmp_path / "out")
    assert line.startswith("error: ") and message in line and str(labels) in line
    assert not (tmp_path / "out").exists()


def _publish(folder: Path, shards: list[Path]) -> None:
    """A job output folder whose dataset.json publishes ``shards``."""
    (folder / "dataset.json").write_text(json.dumps({"shards": [{"path": str(s)}
                                                                for s in shards]}))


def test_cli_missing_published_shard_is_one_line_and_status_2(tmp_path, monkeypatch, capsys):
    present = tmp_path / "run" / "clips-00000-of-00002.tfrecord"
    present.parent.mkdir()
    write_shard(present, [to_example(RECORDS[0])])
    gone = tmp_path / "run" / "clips-00001-of-00002.tfrecord"
    _publish(tmp_path / "run", [present, gone])
    labels = tmp_path / "labels.csv"
    labels.write_text(CSV)
    assert _cli_error(monkeypatch, capsys, tmp_path / "run", labels, tmp_path / "out") == [
        f"error: 1 of 2 shards of {tmp_path}/run are missing, first {gone}"]


def test_cli_nothing_matched_exits_2_after_writing_the_report(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shard = run_dir / "clips-00000-of-00001.tfrecord"
    write_shard(shard, [to_example(r) for r in RECORDS[:2]])
    (run_dir / "stray.tfrecord").write_bytes(b"")  # not published: must not be read
    _publish(run_dir, [shard])
    labels = tmp_path / "labels.csv"
    labels.write_text(CSV.splitlines()[0] + "\nWalking,nope,training,0.0,2.0,1\n"
                      "Running,v1,training,92.1,94.1,1\n")
    prefix = tmp_path / "out" / "clips"
    proc = subprocess.run([sys.executable, "-m", "pipelines.apply_labels",
                           f"--shards={run_dir}", f"--labels_csv={labels}",
                           f"--output_prefix={prefix}"], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=180)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1] == (
        f"error: no row of {labels} matched a record of {run_dir} (video id, class and "
        "span); the shards were written unchanged")
    assert proc.stdout.splitlines() == [
        f"apply_labels: 0 of 2 rows of {labels} matched a record, 2 unmatched (first at "
        f"line 2); 0 of 2 records labelled; report {prefix}-report.json"]
    report = json.loads(open(f"{prefix}-report.json").read())
    assert (report["rows_matched"], report["rows_unmatched"], report["records"]) == (0, 2, 2)


def test_cli_file_that_is_not_a_shard_is_one_line_and_status_2(tmp_path, monkeypatch, capsys):
    shard = tmp_path / "clips-00000-of-00001.tfrecord"
    shard.write_bytes(b"classname,youtube_id,subset,start,end,label\n")  # a CSV, renamed
    labels = tmp_path / "labels.csv"
    labels.write_text(CSV)
    assert _cli_error(monkeypatch, capsys, tmp_path, labels, tmp_path / "out") == [
        f"error: {shard}: not a TFRecord file (bad length checksum at byte 0)"]
