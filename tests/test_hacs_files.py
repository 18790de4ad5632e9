"""The one Clips CSV parser: what it yields per row, and how the two tools layer over it."""

from __future__ import annotations

import pytest

from hacs_eval.formats import Issues, load_clips_csv
from transforms.hacs_files import (
    ClipLabel,
    ClipRowProblem,
    FormatError,
    iter_clips_csv,
    parse_clips_csv,
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
