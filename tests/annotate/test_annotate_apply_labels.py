"""pipelines.apply_labels: Clips CSV labels written back into clip shards (real Beam runs)."""

from __future__ import annotations

import json
import os

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to
from tests_annotate_helpers import write_shard

from pipelines.apply_labels import ApplyLabels, row_matches, run
from transforms.output.hacs_files import ClipLabel, parse_clips_csv
from transforms.output.records import (
    ClipRecord,
    encode_jpeg,
    from_example,
    make_clip_id,
    to_example,
)
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


def test_run_writes_labelled_shards_index_and_report(tmp_path):
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


def test_run_refuses_missing_inputs(tmp_path):
    with pytest.raises(SystemExit, match="missing --labels_csv"):
        run([f"--shards={tmp_path}", f"--output_prefix={tmp_path}/o"])
    labels = tmp_path / "labels.csv"
    labels.write_text(CSV)
    with pytest.raises(SystemExit, match="no shards match"):
        run([f"--shards={tmp_path}/none-*.tfrecord", f"--labels_csv={labels}",
             f"--output_prefix={tmp_path}/o"])
    assert not os.path.exists(f"{tmp_path}/o-report.json")
