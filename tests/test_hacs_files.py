"""The one Clips CSV parser and the one Segments JSON reader: what they yield, and how the
annotation tool and the evaluation toolkit layer over them."""

from __future__ import annotations

import json

import pytest

from hacs_eval.formats import Issues, load_clips_csv, parse_ground_truth, parse_video_labels
from transforms.hacs_files import (
    ClipLabel,
    ClipRowProblem,
    FormatError,
    iter_clips_csv,
    parse_clips_csv,
    parse_segments_json,
    read_segments,
)

HEADER = "classname,youtube_id,subset,start,end,label\n"


@pytest.mark.parametrize("row, kind", [
    ("A,v,training,x,3.0,1", "not_a_number"),
    ("A,v,training,inf,3.0,1", "non_finite_segment"),
    ("A,v,training,3.0,1.0,1", "reversed_segment"),
    ("A,v,training,2.0,2.0,1", "zero_length_segment"),
    ("A,v,training,-1.0,1.0,1", "negative_start"),
    ("A,v,training,1.0,3.0,0", "bad_label"),
], ids=["text", "inf", "reversed", "zero", "negative", "label0"])
def test_bad_values_are_problems_with_their_row(row, kind):
    (problem,) = iter_clips_csv(HEADER + row + "\n", "x.csv")
    assert problem == ClipRowProblem(kind, problem.message, "x.csv line 2", 2, "v", "training")
    assert problem.message.startswith("x.csv line 2: ")
    with pytest.raises(FormatError, match="x.csv line 2"):
        parse_clips_csv(HEADER + row + "\n", "x.csv")


def test_columns_are_found_by_name():
    text = "label,start,end,youtube_id,classname,subset\n-1,4.5,6.5,v,Archery,validation\n"
    assert parse_clips_csv(text) == [ClipLabel("Archery", "v", "validation", 4.5, 6.5, -1)]


def test_evaluation_counts_span_problems_and_ignores_other_subsets(tmp_path):
    path = tmp_path / "clips.csv"
    path.write_text(HEADER + "A,v,training,x,2.0,1\nA,v,validation,0.0,2.0,1\n"
                    "A,w,validation,-1.0,2.0,1\n")
    issues = Issues()
    clips = load_clips_csv(str(path), "validation", issues)
    assert [c.clip_id for c in clips] == ["v_000000000_000002000"]
    assert dict(issues.counts) == {"clip_negative_start": 1}
    with pytest.raises(FormatError, match="start 'x' is not a number"):
        load_clips_csv(str(path), None)


def _one_video(annotations: list, **entry) -> dict:
    return {"database": {"v": {"subset": "validation", **entry, "annotations": annotations}}}


@pytest.mark.parametrize("doc, message", [
    ({"version": 2, "database": {}}, "'version' must be a string"),
    ({"taxonomy": {}, "database": {}}, "'taxonomy' must be a list"),
    (_one_video([{"label": "A"}]), r"'segment' must be \[start, end\]"),
    (_one_video([{"label": "A", "segment": ["1", "2"]}]), "two numbers"),
    (_one_video([{"label": "A", "segment": [False, True]}]), "two numbers"),
    (_one_video([{"label": "A", "segment": [1, 2, 3]}]), r"\[start, end\]"),
    (_one_video([{"label": 7, "segment": [1, 2]}]), "string 'label'"),
    (_one_video([], duration="long"), "'duration' must be a number"),
    (_one_video([], duration=-1), "'duration' must be a number"),
], ids=["version", "taxonomy", "no-segment", "string-times", "bool-times", "three-times",
        "label-number", "duration-text", "duration-negative"])
def test_segments_structure_is_one_rule_for_both_tools(doc, message):
    # the annotation tool used to take none of these checks of times, the evaluation toolkit
    # none of the version / taxonomy / duration ones: both now refuse every case
    with pytest.raises(FormatError, match=message):
        parse_segments_json(json.dumps(doc), "x.json")
    with pytest.raises(FormatError, match=message):
        parse_ground_truth(doc, "validation", source="x.json")
    with pytest.raises(FormatError, match=message):
        parse_video_labels(doc, "validation", source="x.json")


@pytest.mark.parametrize("span, problem", [
    ([5, 2], "reversed_segment"),
    ([3, 3], "zero_length_segment"),
    ([-1, 4], "negative_start"),
    ([0, float("inf")], "non_finite_segment"),
    ([float("nan"), 4], "non_finite_segment"),
], ids=["reversed", "zero", "negative", "inf", "nan"])
def test_bad_spans_are_problems_each_tool_decides_on(span, problem):
    doc = _one_video([{"label": "A", "segment": [0, 10]}, {"label": "B", "segment": span}])
    (video,) = read_segments(doc).videos
    assert [s.problem for s in video.segments] == [None, problem]
    # annotation tool, make_manifest, person_recall: an error naming the annotation
    with pytest.raises(FormatError, match=r"x.json database\['v'\] annotation 1: need 0 <="):
        parse_segments_json(json.dumps(doc), "x.json")
    # evaluation: counted; dropped from localization, the label kept for video labels
    issues = Issues()
    gt = parse_ground_truth(doc, "validation", issues=issues)
    assert gt.segments.segments.tolist() == [[0, 10]] and gt.label_names == ("A",)
    assert dict(issues.counts) == {f"gt_{problem}": 1}
    assert parse_video_labels(doc, "validation").label_names == ("A", "B")
    with pytest.raises(FormatError, match=f"gt_{problem}"):
        parse_ground_truth(doc, "validation", issues=Issues(strict=True))
