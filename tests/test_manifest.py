import json

import pytest

from tests.conftest import VIDEOS
from transforms.inputs.manifest import ManifestError, glob_videos, parse_manifest, read_manifest


def test_csv_with_optional_columns():
    refs = parse_manifest("video_id,uri,label,subset\na,x.mp4,run,training\nb,y.mp4,,\n")
    assert [(r.video_id, r.uri, r.label, r.subset) for r in refs] == [
        ("a", "x.mp4", "run", "training"), ("b", "y.mp4", "", "")]


def test_jsonl():
    text = "\n".join(json.dumps(r) for r in [{"video_id": "a", "uri": "gs://b/a.mp4"},
                                               {"video_id": "b", "uri": "b.mp4", "label": "x"}])
    refs = parse_manifest(text)
    assert refs[0].uri == "gs://b/a.mp4" and refs[1].label == "x"


@pytest.mark.parametrize("text, message", [
    ("video_id,label\na,run\n", "missing column(s) uri"),
    ("video_id,uri\na,x.mp4\nb,y.mp4\na,z.mp4\n",
     "line 4: duplicate video_id 'a' (first on line 2)"),
    ("video_id,uri\na,x.mp4\nb,\n", "line 3: empty uri for video_id 'b'"),
    ('{"video_id": "a", "uri": "x"}\n{"video_id": "b"}\n', "line 2: missing field 'uri'"),
    ('{"video_id": "a", "uri": "x"}\nnot json\n', "line 2: not valid JSON"),
    ("video_id,uri\n", "no videos listed"),
], ids=["missing-column", "duplicate-id", "empty-uri", "jsonl-missing-field", "bad-json",
        "empty"])
def test_errors_name_the_row(text, message):
    with pytest.raises(ManifestError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_manifest(text, name="m.csv")


def test_relative_uris_resolve_against_manifest_folder(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("video_id,uri\na,clips/a.mp4\nb,gs://bucket/b.mp4\n")
    refs = read_manifest(str(path))
    assert refs[0].uri == str(tmp_path / "clips" / "a.mp4")
    assert refs[1].uri == "gs://bucket/b.mp4"


def test_glob_directory_names_videos_by_file():
    refs = glob_videos(VIDEOS)
    assert [r.video_id for r in refs] == ["Megamind", "Megamind_bugy", "tree", "vtest_a",
                                          "vtest_b"]


def test_glob_without_videos_fails(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ManifestError, match="no video files match"):
        glob_videos(str(tmp_path))


def test_inputs_round_trip_through_jsonl(tmp_path):
    from transforms.inputs.manifest import ref_from_json, write_inputs

    refs = parse_manifest('video_id,uri,label,subset\na,x.mp4,run,training\nb,"y, z.mp4",,\n')
    path = tmp_path / "inputs.jsonl"
    write_inputs(str(path), refs)
    assert [ref_from_json(line) for line in path.read_text().splitlines()] == refs
