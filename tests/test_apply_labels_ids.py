"""pipelines.apply_labels matches label rows to records by the project's id rule: a leading
``v_`` dropped from both ids (``--keep_v_prefix``: ids as written); real Beam runs."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline

from pipelines.apply_labels import ApplyLabelsError, ApplyLabelsOptions, row_matches, run
from pipelines.cli import add_shared_flag
from transforms.hacs_files import ClipLabel
from transforms.jpeg import encode_jpeg
from transforms.output.records import ClipRecord, from_example, make_clip_id, to_example
from transforms.output.shards import iter_records, match_shards, write_records


def clip(video_id: str, start: float) -> ClipRecord:
    frames = (encode_jpeg(np.full((16, 16, 3), int(start * 10) % 255, np.uint8)),)
    return ClipRecord(video_id=video_id, clip_id=make_clip_id(video_id, start, start + 2.0),
                      source_uri=f"/videos/{video_id}.mp4", start=start, end=start + 2.0,
                      fps=1.0, height=16, width=16, frames=frames, timestamps=(start,),
                      label_name="Archery", subset="training")


@pytest.mark.parametrize("record_id, row_id, default, kept", [
    ("abc", "abc", True, True),
    ("abc", "v_abc", True, False),
    ("v_abc", "abc", True, False),
    ("v_abc", "v_abc", True, True),
    ("abc", "v_abd", False, False),
    ("v_", "v_", True, True),  # nothing after the prefix: the id as written
], ids=["bare-bare", "bare-record-v-row", "v-record-bare-row", "v-v", "other", "only-v_"])
def test_row_matches_by_the_id_rule(record_id, row_id, default, kept):
    record = from_example(to_example(clip(record_id, 4.0)))
    row = ClipLabel("Archery", row_id, "training", 4.0, 6.0, 1)
    assert row_matches(record, row, 0.001) is default
    assert row_matches(record, row, 0.001, strip_v_prefix=False) is kept


def test_clip_id_match_uses_the_records_id():
    # 1.5 ms off (beyond the tolerance), but the clip id rounds to the same milliseconds
    record = from_example(to_example(clip("v_abc", 4.0)))
    row = ClipLabel("Archery", "abc", "training", 4.0004, 6.0004, 1)
    assert row_matches(record, row, 0.0001)
    assert not row_matches(record, row, 0.0001, strip_v_prefix=False)


CSV = """classname,youtube_id,subset,start,end,label
Archery,aaa,training,0.0,2.0,1
Archery,v_bbb,training,2.0,4.0,-1
Archery,ccc,training,0.0,2.0,1
"""


@pytest.mark.parametrize("keep", [False, True], ids=["default", "keep_v_prefix"])
def test_run_matches_v_prefixed_and_bare_ids(tmp_path, capsys, keep):
    records = [clip("v_aaa", 0.0), clip("bbb", 2.0), clip("ccc", 0.0)]
    (tmp_path / "in").mkdir()
    write_records(str(tmp_path / "in" / "clips-00000-of-00001.tfrecord"),
                  [to_example(r) for r in records])
    (tmp_path / "labels.csv").write_text(CSV)
    prefix = str(tmp_path / "out" / "clips")
    argv = [f"--shards={tmp_path}/in/*.tfrecord", f"--labels_csv={tmp_path}/labels.csv",
            f"--output_prefix={prefix}", "--output_shards=1"]
    report = run(argv + (["--keep_v_prefix"] if keep else []), save_main_session=False,
                 test_pipeline=BeamTestPipeline())
    out = {r.video_id: r.annotation for s in match_shards(prefix + "-*.tfrecord")
           for r in map(from_example, iter_records(s))}
    if keep:  # only ccc is written the same way in both
        assert out == {"v_aaa": 0, "bbb": 0, "ccc": 1}
        assert report["rows_matched"] == 1 and report["rows_unmatched"] == 2
    else:
        assert out == {"v_aaa": 1, "bbb": -1, "ccc": 1}
        assert report["rows_matched"] == 3 and report["records_labelled"] == 3


def test_keep_v_prefix_with_no_match_is_an_error(tmp_path):
    (tmp_path / "in").mkdir()
    write_records(str(tmp_path / "in" / "clips-00000-of-00001.tfrecord"),
                  [to_example(clip("v_aaa", 0.0))])
    (tmp_path / "labels.csv").write_text(CSV)
    argv = [f"--shards={tmp_path}/in/*.tfrecord", f"--labels_csv={tmp_path}/labels.csv",
            f"--output_prefix={tmp_path}/out/clips", "--keep_v_prefix"]
    with pytest.raises(ApplyLabelsError, match="no row of"):
        run(argv, save_main_session=False, test_pipeline=BeamTestPipeline())


def test_keep_v_prefix_is_one_option_of_both_jobs():
    # Beam parses every imported job's options with one parser: one definition, two views
    from pipelines.build_dataset import BuildDatasetOptions

    options = PipelineOptions(["--keep_v_prefix"])
    assert options.get_all_options()["keep_v_prefix"] is True
    assert options.view_as(ApplyLabelsOptions).keep_v_prefix
    assert options.view_as(BuildDatasetOptions).keep_v_prefix
    assert not PipelineOptions([]).view_as(ApplyLabelsOptions).keep_v_prefix
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep_v_prefix", type=int)
    with pytest.raises(ValueError, match="different meanings"):
        add_shared_flag(parser, "--keep_v_prefix", help="")
