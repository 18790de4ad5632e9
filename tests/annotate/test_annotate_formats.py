"""HACS Clips CSV and Segments JSON: parsing, errors, lossless round trips."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests_annotate_helpers import as_written

from annotate.formats import parse_guidelines_json
from transforms.hacs_files import (
    ClipLabel,
    FormatError,
    Segment,
    SegmentsFile,
    SegmentVideo,
    dump_json,
    format_clips_csv,
    format_segments_json,
    load_json,
    missing_durations,
    parse_clips_csv,
    parse_segments_json,
)

CLIPS_CSV = """classname,youtube_id,subset,start,end,label
Applying sunscreen,--0edUL8zmA,training,92.0,94.0,1
Applying sunscreen,--0edUL8zmA,training,94.5,96.5,-1
"Archery, indoor",-0bb5R4lrCQ,validation,0.25,2.25,1
"""

SEGMENTS = {
    "version": "HACS Segments v1.1",
    "taxonomy": [{"nodeId": 0, "nodeName": "Root", "parentId": None, "parentName": None}],
    "database": {
        "--0edUL8zmA": {"subset": "training", "duration": 92.18,
                        "url": "https://www.youtube.com/watch?v=--0edUL8zmA",
                        "annotations": [{"label": "Applying sunscreen", "segment": [4.5, 18.75]},
                                        {"label": "Applying sunscreen",
                                         "segment": [30.1, 42.0]}]},
        "abc": {"subset": "testing", "duration": 10.0, "url": "", "annotations": [],
                "resolution": "640x360"},
    },
}


def test_clips_csv_round_trip_is_text_exact():
    rows = parse_clips_csv(CLIPS_CSV)
    assert rows[0] == ClipLabel("Applying sunscreen", "--0edUL8zmA", "training", 92.0, 94.0, 1)
    assert rows[1].label == -1
    assert rows[2].classname == "Archery, indoor" and rows[2].start == 0.25
    assert format_clips_csv(rows) == CLIPS_CSV


@pytest.mark.parametrize("line, message", [
    ("A,v,training,1.0,3.0,0", "label must be 1 or -1"),
    ("A,v,training,1.0,3.0,yes", "label must be 1 or -1"),
    ("A,v,training,x,3.0,1", "start 'x' is not a number"),
    ("A,v,training,3.0,1.0,1", "need 0 <= start < end"),
    ("A,v,training,nan,1.0,1", "not a finite number"),
    ("A,v,training,1.0,3.0", "expected 6 fields"),
    (",v,training,1.0,3.0,1", "must not be empty"),
], ids=["label0", "label-word", "start-text", "reversed", "nan", "short-row", "no-class"])
def test_clips_csv_errors_name_the_line(line, message):
    text = "classname,youtube_id,subset,start,end,label\nA,v,training,0.0,2.0,1\n" + line + "\n"
    with pytest.raises(FormatError, match=message) as info:
        parse_clips_csv(text, "x.csv")
    assert "x.csv line 3" in str(info.value)


def test_clips_csv_needs_header():
    with pytest.raises(FormatError, match="header"):
        parse_clips_csv("A,v,training,0.0,2.0,1\n")


def test_segments_json_round_trip_is_lossless():
    text = json.dumps(SEGMENTS)
    data = parse_segments_json(text)
    first = data.videos[0]
    assert first.segments == (Segment("Applying sunscreen", 4.5, 18.75),
                              Segment("Applying sunscreen", 30.1, 42.0))
    assert data.videos[1].extra == {"resolution": "640x360"}
    out = format_segments_json(data)
    assert json.loads(out) == SEGMENTS
    assert parse_segments_json(out) == data


def test_segments_json_as_published_keeps_string_duration_and_adds_no_keys():
    # the published HACS Segments file writes durations as strings and, per video, only
    # these keys; no version / taxonomy here, so none may be added on export
    published = {"database": {"--0edUL8zmA": {
        "annotations": [{"label": "Applying sunscreen", "segment": [4.5, 18.75]}],
        "duration": "92.166667", "subset": "training",
        "url": "https://www.youtube.com/watch?v=--0edUL8zmA"}}}
    data = parse_segments_json(json.dumps(published))
    assert data.videos[0].duration == 92.166667
    assert data.version is None and data.taxonomy is None
    out = json.loads(format_segments_json(data))
    assert out == published and list(out) == ["database"]
    assert out["database"]["--0edUL8zmA"]["duration"] == "92.166667"


# Shaped like the published HACS Segments file (string durations, numbers as HACS and
# ActivityNet write them, keys in their order) plus extra keys a user's copy may carry
PUBLISHED = """{"database": {"--0edUL8zmA": {"annotations": [
  {"label": "Applying sunscreen", "segment": [0, 92.166667]},
  {"label": "Applying sunscreen", "segment": [1e1, 15], "score": 0.50}],
 "duration": "92.166667", "subset": "training",
 "url": "https://www.youtube.com/watch?v=--0edUL8zmA", "resolution": "640x360"},
 "abc": {"subset": "validation", "url": "", "duration": 10.50, "fps": 29.970,
 "annotations": [{"segment": [4.50, 7.0e0], "label": "Archery"}]},
 "nodur": {"url": "u", "annotations": []}},
 "version": "HACS Segments v1.1",
 "taxonomy": [{"nodeId": 0, "nodeName": "Root", "parentId": null, "parentName": null}],
 "note": {"made": 2019, "ratio": 1.50}}"""


def test_segments_json_round_trip_keeps_keys_order_types_and_number_text():
    data = parse_segments_json(PUBLISHED)
    first = data.videos[0]
    assert first.duration == 92.166667 and first.duration_text == "92.166667"
    assert first.segments[1] == Segment("Applying sunscreen", 10.0, 15.0)
    assert (data.videos[1].duration, data.videos[2].duration) == (10.5, None)
    out = format_segments_json(data)
    assert as_written(out) == as_written(PUBLISHED)
    assert '"segment":[1e1,15],"score":0.50}' in "".join(out.split())
    # changed values are written fresh; the rest stays as read; no key is added unasked
    edited = replace(data, videos=(
        replace(first, segments=(first.segments[0], Segment("Applying sunscreen", 20, 30.5))),
        data.videos[1], replace(data.videos[2], duration=12.0)))
    doc = json.loads(format_segments_json(edited), object_pairs_hook=list)
    entry = dict(doc[0][1])["--0edUL8zmA"]
    assert [k for k, _ in entry] == ["annotations", "duration", "subset", "url", "resolution"]
    assert [dict(a) for a in dict(entry)["annotations"]] == [
        {"label": "Applying sunscreen", "segment": [0, 92.166667]},
        {"label": "Applying sunscreen", "segment": [20, 30.5]}]
    assert dict(dict(doc[0][1])["nodur"]) == {"url": "u", "annotations": []}
    assert missing_durations(edited) == ["nodur"]
    added = json.loads(format_segments_json(edited, add_duration=True))
    assert list(added["database"]["nodur"]) == ["url", "annotations", "duration"]
    assert added["database"]["nodur"]["duration"] == 12.0


def test_json_writer_matches_json_dumps_on_plain_values():
    value = {"a": [1, 2.5, None, True, "é\"x"], "b": {}, "c": [], "d": {"e": [{"f": -0.0}]}}
    for indent in (None, 1, 2):
        assert dump_json(value, indent) == json.dumps(value, indent=indent, ensure_ascii=False)
    assert dump_json(load_json('{"x": [1e1, 15, 0.10, -2E-3]}')) == '{"x": [1e1, 15, 0.10, -2E-3]}'


@pytest.mark.parametrize("doc, message", [
    ("{not json", "not JSON"),
    ('{"version": "x"}', "needs a 'database'"),
    ('{"database": {"v": {"annotations": [{"label": "A", "segment": [5, 2]}]}}}',
     "start < end"),
    ('{"database": {"v": {"annotations": [{"label": "A", "segment": [1]}]}}}',
     r"\[start, end\]"),
    ('{"database": {"v": {"annotations": [{"segment": [1, 2]}]}}}', "string 'label'"),
    ('{"database": {"v": {"duration": "long"}}}', "'duration' must be a number"),
    ('{"database": {"v": {"duration": "-3"}}}', "'duration' must be a number"),
], ids=["syntax", "no-database", "reversed", "short-segment", "no-label", "bad-duration",
        "negative-duration-text"])
def test_segments_json_errors(doc, message):
    with pytest.raises(FormatError, match=message):
        parse_segments_json(doc)


finite = st.floats(min_value=0, max_value=1e5, allow_nan=False, allow_infinity=False)
names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"),
                min_size=1, max_size=12)


@st.composite
def clip_rows(draw):
    start = draw(finite)
    end = start + draw(st.floats(min_value=1e-3, max_value=100))
    return ClipLabel(draw(names), draw(names), draw(st.sampled_from(["training", "validation"])),
                     start, end, draw(st.sampled_from([1, -1])))


@given(st.lists(clip_rows(), max_size=8))
def test_clips_csv_round_trip_property(rows):
    assert parse_clips_csv(format_clips_csv(rows)) == rows


@st.composite
def videos(draw):
    segs = []
    for _ in range(draw(st.integers(0, 3))):
        start = draw(finite)
        segs.append(Segment(draw(names), start,
                            start + draw(st.floats(min_value=1e-3, max_value=50))))
    return SegmentVideo(draw(names), draw(names), draw(st.none() | finite), draw(names),
                        tuple(segs), {})


@given(st.lists(videos(), max_size=5, unique_by=lambda v: v.video_id))
def test_segments_json_round_trip_property(vs):
    data = SegmentsFile("v1", [], tuple(vs))
    text = format_segments_json(data)
    back = parse_segments_json(text)
    # the same values; what was read also knows its key order, and writes the same text
    assert replace(back, keys=None, videos=tuple(replace(v, keys=None)
                                                 for v in back.videos)) == data
    assert back.keys == ("version", "taxonomy", "database")
    assert format_segments_json(back) == text


def test_guidelines():
    doc = {"Walking": {"definition": "A person walks.", "positives": ["a_1"],
                       "hard_negatives": ["b_2"]},
           "Running": {"definition": "A person runs.", "positives": []}}
    parsed = parse_guidelines_json(json.dumps(doc))
    assert parsed[0].positives == ("a_1",) and parsed[0].hard_negatives == ("b_2",)
    assert parsed[1].hard_negatives == ()
    with pytest.raises(FormatError, match="'positives' must be a list"):
        parse_guidelines_json('{"A": {"definition": "x", "positives": "a_1"}}')
