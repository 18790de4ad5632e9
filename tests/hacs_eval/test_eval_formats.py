"""Loading and validation of evaluation inputs: structure errors and counted warnings."""

import json
import math

import numpy as np
import pytest
from eval_helpers import gt_doc, results_doc

from hacs_eval.formats import (
    FormatError,
    Issues,
    group_score_order,
    load_blocked,
    load_clip_labels,
    load_clip_predictions,
    load_ground_truth,
    parse_ground_truth,
    parse_results,
)
from transforms.output.records import ClipRecord, make_clip_id, to_example
from transforms.output.shards import write_records


def test_ground_truth_subset_labels_and_blocked(tmp_path):
    doc = gt_doc({"a": [("run", 0, 10), ("jump", 5, 8)], "b": []})
    doc["database"]["t"] = {"subset": "training", "annotations": [
        {"label": "swim", "segment": [0, 1]}]}
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(doc))
    gt = load_ground_truth(str(path), "validation")
    assert gt.subset_videos == ("a", "b")  # b has no annotation but is in the subset
    assert gt.label_names == ("jump", "run")  # sorted, training-only labels absent
    assert gt.segments.segments.tolist() == [[0, 10], [5, 8]]
    assert gt.segments.label.tolist() == [1, 0]
    everything = load_ground_truth(str(path), None)
    assert everything.label_names == ("jump", "run", "swim")
    issues = Issues()
    blocked = load_ground_truth(str(path), "validation", blocked={"a"}, issues=issues)
    assert blocked.subset_videos == ("b",) and len(blocked.segments) == 0
    assert issues.notes["blocked_video_skipped"] == 1 and not issues.counts


def test_blocked_list_formats(tmp_path):
    lines = tmp_path / "blocked.txt"
    lines.write_text("# removed from YouTube\nabc\n\n  def  \n")
    listed = tmp_path / "blocked.json"
    listed.write_text('["abc", "xyz"]')
    assert load_blocked(str(lines)) == {"abc", "def"}
    assert load_blocked(str(listed)) == {"abc", "xyz"}
    assert load_blocked(None) == frozenset()
    with pytest.raises(FormatError):
        load_blocked(str(tmp_path / "missing.txt"))


@pytest.mark.parametrize("doc, message", [
    ({"taxonomy": []}, "'database'"),
    ({"database": {"a": {"annotations": []}}}, "missing 'subset'"),
    ({"database": {"a": {"subset": "validation", "annotations": {}}}}, "must be a list"),
    ({"database": {"a": {"subset": "validation", "annotations": [{"segment": [0, 1]}]}}},
     "'label'"),
    ({"database": {"a": {"subset": "validation",
                         "annotations": [{"label": "x", "segment": [0]}]}}}, r"\[start, end\]"),
    ({"database": {"a": {"subset": "validation",
                         "annotations": [{"label": "x", "segment": ["a", 1]}]}}}, "numbers"),
    ({"database": {"a": {"subset": "training", "annotations": []}}}, "no video in subset"),
], ids=["no-database", "no-subset", "annotations-type", "no-label", "segment-shape",
        "segment-type", "empty-subset"])
def test_ground_truth_structure_errors(doc, message):
    with pytest.raises(FormatError, match=message):
        parse_ground_truth(doc, "validation")


def test_bad_json_file(tmp_path):
    path = tmp_path / "gt.json"
    path.write_text("{not json")
    with pytest.raises(FormatError, match="cannot read JSON"):
        load_ground_truth(str(path))


def test_bad_ground_truth_segments_are_counted_and_dropped():
    doc = gt_doc({"a": [("x", 0, 10), ("x", 5, 5), ("x", 9, 3)]})
    doc["database"]["a"]["annotations"].append({"label": "x", "segment": [0, math.inf]})
    issues = Issues()
    gt = parse_ground_truth(doc, "validation", issues=issues)
    assert len(gt.segments) == 1
    assert dict(issues.counts) == {"gt_zero_length_segment": 1, "gt_reversed_segment": 1,
                                   "gt_non_finite_segment": 1}
    with pytest.raises(FormatError, match="gt_zero_length_segment"):
        parse_ground_truth(doc, "validation", issues=Issues(strict=True))


def test_results_validation_counts_every_problem():
    gt = parse_ground_truth(gt_doc({"a": [("x", 0, 10)], "b": [("y", 0, 5)]}), "validation")
    res = results_doc({
        "a": [("x", 0, 10, 0.9), ("x", 4, 2, 0.8), ("x", 3, 3, 0.7), ("x", 0, 1, math.nan),
              ("nope", 0, 1, 0.5)],
        "b": [("y", 0, 5, 0.1)],
        "elsewhere": [("x", 0, 1, 0.3), ("x", 0, 2, 0.2)],
    })
    issues = Issues()
    preds = parse_results(res, gt, with_labels=True, drop_outside=True, issues=issues)
    assert dict(issues.counts) == {"reversed_segment": 1, "zero_length_segment": 1,
                                   "non_finite_score": 1, "unknown_label": 1,
                                   "video_outside_subset": 1}
    assert preds.video.tolist() == [0, 1] and preds.label.tolist() == [0, 1]
    assert preds.score.tolist() == [0.9, 0.1]
    assert issues.examples["video_outside_subset"] == ["elsewhere (2 segments)"]
    kept = parse_results(res, gt, with_labels=True)
    assert kept.videos == ("a", "b", "elsewhere") and kept.video.tolist() == [0, 1, 2, 2]
    # proposals carry no label: the unknown label is no problem there
    issues = Issues()
    props = parse_results(res, gt, with_labels=False, issues=issues)
    assert len(props) == 5 and "unknown_label" not in issues.counts
    blocked = parse_results(res, gt, with_labels=False, blocked={"a", "elsewhere"})
    assert props.label.tolist() == [-1] * 5 and blocked.video.tolist() == [1]


@pytest.mark.parametrize("res, message", [
    ({"result": {}}, "'results'"),
    ({"results": {"a": {}}}, "list of segments"),
    ({"results": {"a": [{"segment": [0, 1]}]}}, "'score'"),
    ({"results": {"a": [{"segment": [0, 1], "score": "high"}]}}, "number"),
    ({"results": {"a": [{"segment": [0, 1], "score": 1}]}}, "'label'"),
], ids=["no-results", "entries-type", "no-score", "score-type", "no-label"])
def test_results_structure_errors(res, message):
    gt = parse_ground_truth(gt_doc({"a": [("x", 0, 10)]}), "validation")
    with pytest.raises(FormatError, match=message):
        parse_results(res, gt, with_labels=True)


def test_strict_mode_raises_on_outside_video():
    gt = parse_ground_truth(gt_doc({"a": [("x", 0, 10)]}), "validation")
    with pytest.raises(FormatError, match="video_outside_subset: zz"):
        parse_results(results_doc({"zz": []}), gt, with_labels=False,
                      issues=Issues(strict=True))


CSV = """classname,youtube_id,subset,start,end,label
Archery,vid1,validation,0.0,2.0,1
Archery,vid1,validation,2.0,4.0,-1
Bowling,vid2,validation,10.5,12.5,1
Bowling,vid3,training,0.0,2.0,1
Bowling,vid2,validation,14.0,13.0,1
"""


def test_clips_csv(tmp_path):
    path = tmp_path / "clips.csv"
    path.write_text(CSV)
    issues = Issues()
    clips = load_clip_labels(str(path), "validation", issues=issues)
    assert [(c.clip_id, c.label) for c in clips] == [
        ("vid1_000000000_000002000", "Archery"), ("vid2_000010500_000012500", "Bowling")]
    assert issues.notes["negative_clip_skipped"] == 1
    assert issues.counts["clip_reversed_segment"] == 1
    assert len(load_clip_labels(str(path), None)) == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("classname,youtube_id,start,end,label\n")
    with pytest.raises(FormatError, match="missing CSV columns"):
        load_clip_labels(str(bad))
    conflict = tmp_path / "conflict.csv"
    conflict.write_text(CSV + "Bowling,vid1,validation,0.0,2.0,1\n")
    with pytest.raises(FormatError, match="labelled both"):
        load_clip_labels(str(conflict), "validation")


def _write_shard(path, records):
    write_records(str(path), (to_example(rec) for rec in records))


def _record(video, start, label, annotation, subset="validation"):
    return ClipRecord(video_id=video, clip_id=make_clip_id(video, start, start + 2),
                      source_uri=f"/videos/{video}.mp4", start=start, end=start + 2, fps=8.0,
                      height=4, width=4, frames=(b"jpeg",), timestamps=(start,),
                      label_id=0, label_name=label, subset=subset, annotation=annotation)


def test_clip_shards(tmp_path):
    _write_shard(tmp_path / "clips-00000-of-00002.tfrecord", [
        _record("v1", 0, "Archery", 1), _record("v1", 2, "Archery", -1),
        _record("v2", 0, "Bowling", 0)])
    _write_shard(tmp_path / "clips-00001-of-00002.tfrecord", [
        _record("v3", 4, "Bowling", 1), _record("v4", 0, "", 1),
        _record("v5", 0, "Archery", 1, subset="training")])
    issues = Issues()
    clips = load_clip_labels(str(tmp_path), "validation", issues=issues)
    assert [(c.clip_id, c.label) for c in clips] == [
        ("v1_000000000_000002000", "Archery"), ("v3_000004000_000006000", "Bowling")]
    assert issues.notes == {"negative_clip_skipped": 1, "unannotated_clip_skipped": 1,
                            "unlabelled_clip_skipped": 1}
    with_unannotated = load_clip_labels(str(tmp_path / "*.tfrecord"), "validation",
                                        include_unannotated=True)
    assert len(with_unannotated) == 3
    assert len(load_clip_labels(str(tmp_path), None)) == 3
    with pytest.raises(FormatError, match="no TFRecord shards"):
        load_clip_labels(str(tmp_path / "none"))


def test_clip_predictions_formats(tmp_path):
    scores = tmp_path / "scores.csv"
    scores.write_text("clip_id,A,B,C\nc1,0.1,0.7,0.2\nc2,0.5,0.5,nan\n")
    top = tmp_path / "top.csv"
    top.write_text("clip_id,label\nc1,B\n")
    doc = tmp_path / "preds.json"
    doc.write_text(json.dumps({"results": {
        "c1": [{"label": "A", "score": 0.2}, {"label": "C", "score": 0.9}],
        "c2": "B", "c3": [{"label": "A"}]}}))
    issues = Issues()
    p = load_clip_predictions(str(scores), issues)
    assert [(x.clip_id, x.ranked, x.scored) for x in p] == [
        ("c1", ("B", "C", "A"), True), ("c2", ("A", "B"), True)]  # tie: column order
    assert issues.counts["non_finite_score"] == 1
    assert [(x.ranked, x.scored) for x in load_clip_predictions(str(top))] == [(("B",), False)]
    assert [(x.clip_id, x.ranked, x.scored) for x in load_clip_predictions(str(doc))] == [
        ("c1", ("C", "A"), True), ("c2", ("B",), False), ("c3", ("A",), False)]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,label\nc1,B\n")
    with pytest.raises(FormatError, match="clip_id"):
        load_clip_predictions(str(bad))
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("clip_id,A,B\nc1,0.5\n")
    with pytest.raises(FormatError, match="fields"):
        load_clip_predictions(str(ragged))
    text = tmp_path / "text.csv"
    text.write_text("clip_id,A,B\nc1,0.5,high\n")
    with pytest.raises(FormatError, match="numbers"):
        load_clip_predictions(str(text))


def test_group_score_order_tie_breaks():
    groups = np.array([1, 0, 1, 0, 0])
    scores = np.array([0.5, 0.5, 0.9, 0.5, 0.7])
    # group 0: 0.7 (row 4), then the tie 0.5: reference (reversed stable ascending sort)
    # rows 3, 1; file order rows 1, 3. Group 1: rows 2, 0
    assert group_score_order(groups, scores).tolist() == [4, 3, 1, 2, 0]
    assert group_score_order(groups, scores, "file-order").tolist() == [4, 1, 3, 2, 0]
    with pytest.raises(ValueError, match="tie_break"):
        group_score_order(groups, scores, "random")
