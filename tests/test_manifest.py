import json
import os
import shutil

import pytest

from tests.conftest import VIDEOS
from transforms.inputs.manifest import (
    ManifestError,
    glob_videos,
    load_inputs,
    parse_manifest,
    read_manifest,
    video_id_from_path,
)


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


def test_spreadsheet_csv_with_bom_and_crlf(tmp_path):
    """What "CSV UTF-8" from a spreadsheet writes: a byte-order mark, CRLF, non-ASCII text."""
    path = tmp_path / "m.csv"
    path.write_bytes("\ufeffvideo_id,uri,label,subset\r\na,/v/a.mp4,café,training\r\n"
                     "b,/v/b.mp4,,\r\n".encode())
    refs = read_manifest(str(path))
    assert [(r.video_id, r.uri, r.label, r.subset) for r in refs] == [
        ("a", "/v/a.mp4", "café", "training"), ("b", "/v/b.mp4", "", "")]


def test_jsonl_with_bom_and_crlf(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"video_id": "a", "uri": "/v/a.mp4"}\r\n\r\n'
                     b'{"video_id": "b", "uri": "/v/b.mp4", "subset": "testing"}\r\n')
    assert [(r.video_id, r.subset) for r in read_manifest(str(path))] == [
        ("a", ""), ("b", "testing")]


@pytest.mark.parametrize("text", [
    '[\n  {"video_id": "a", "uri": "/v/a.mp4", "label": "run"},\n'
    '  {"video_id": "b", "uri": "/v/b.mp4"}\n]\n',
    '{"video_id": "a", "uri": "/v/a.mp4", "label": "run"}\n'
    '{"video_id": "b", "uri": "/v/b.mp4"}\n',
    '\n  [{"video_id": "a", "uri": "/v/a.mp4", "label": "run"}, '
    '{"video_id": "b", "uri": "/v/b.mp4"}]',
], ids=["array", "json-lines", "one-line-array"])
def test_json_format_is_told_by_content_not_name(tmp_path, text):
    from transforms.inputs.manifest import load_inputs

    for name in ("m.json", "m.jsonl"):
        (tmp_path / name).write_text(text)
        refs = load_inputs(str(tmp_path / name))
        assert [(r.video_id, r.uri, r.label) for r in refs] == [
            ("a", "/v/a.mp4", "run"), ("b", "/v/b.mp4", "")]


@pytest.mark.parametrize(("text", "message"), [
    ('[{"video_id": "a", "uri": "x"}, ["b", "y"]]', "m.json item 2: expected a JSON object"),
    ('[{"video_id": "a", "uri": "x"}, {"video_id": "b"}]', "m.json item 2: missing field 'uri'"),
    ('[{"video_id": "a", "uri": "x"},\n {"video_id": "b", "uri": "y"},\n'
     ' {"video_id": "a", "uri": "z"}]', "m.json item 3: duplicate video_id 'a' (first on item 1)"),
    ('[{"video_id": "a", "uri": "x"},\n {"video_id": "b", "uri": "y"}\n'
     ' {"video_id": "c", "uri": "z"}]', "m.json line 3: not valid JSON"),
    ("[]", "m.json: no videos listed"),
], ids=["not-object", "missing-field", "duplicate", "bad-json", "empty"])
def test_json_array_errors_name_the_item(text, message):
    with pytest.raises(ManifestError) as info:
        parse_manifest(text, name="m.json")
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(("data", "where"), [
    (b"video_id,uri,label\r\na,x.mp4,run\r\nb,y.mp4,caf\xe9\r\n", "line 3: not UTF-8 (byte "
                                                                  "0xe9 at column 12)"),
    (b'\xef\xbb\xbf{"video_id": "\xff", "uri": "x"}\n', "line 1: not UTF-8 (byte 0xff at "
                                                        "column 15)"),
], ids=["latin1-csv", "bom-jsonl"])
def test_non_utf8_byte_names_its_line(tmp_path, data, where):
    path = tmp_path / "m.csv"
    path.write_bytes(data)
    with pytest.raises(ManifestError) as info:
        read_manifest(str(path))
    assert str(info.value).startswith(f"{path} {where}")


def test_non_utf8_manifest_stops_the_job_before_it_starts(tmp_path):
    from pipelines.build_dataset import run

    path = tmp_path / "m.csv"
    path.write_bytes(b"video_id,uri\na,x.mp4\n\xe9,y.mp4\n")
    with pytest.raises(ManifestError, match=r"m.csv line 3: not UTF-8 \(byte 0xe9 at column 1\)"):
        run(["--input", str(path), "--output", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("path", "strip", "video_id"), [
    ("ROOT/Running/v_abc-_12.mp4", True, "abc-_12"),
    ("gs://bucket/Running/v_abc.mp4", True, "abc"),
    ("ROOT/Running/v_abc.mp4", False, "v_abc"),
    ("ROOT/vtest_a.mp4", True, "vtest_a"),          # only the exact prefix v_ is dropped
    ("ROOT/v_.mp4", True, "v_"),                    # never an empty id
], ids=["download-layout", "bucket", "prefix-kept", "no-prefix", "prefix-only"])
def test_video_id_from_path(path, strip, video_id):
    assert video_id_from_path(path, strip_v_prefix=strip) == video_id


def _download_layout(root, files):
    """ROOT/<classname>/v_<id>.mp4 as the HACS download tools save it, from sample videos."""
    for relative, sample in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(os.path.join(VIDEOS, sample), root / relative)


def test_glob_over_download_layout_gives_one_input_per_video(tmp_path):
    _download_layout(tmp_path, {"Running/v_aaa.mp4": "vtest_a.mp4",
                                "Jumping/v_aaa.mp4": "vtest_a.mp4",  # listed under two classes
                                "Jumping/v_bbb.mp4": "vtest_b.mp4"})
    refs = load_inputs(str(tmp_path / "*" / "*.mp4"))
    assert [(r.video_id, r.uri) for r in refs] == [
        ("aaa", str(tmp_path / "Jumping" / "v_aaa.mp4")),
        ("bbb", str(tmp_path / "Jumping" / "v_bbb.mp4"))]
    kept = load_inputs(str(tmp_path / "*" / "*.mp4"), strip_v_prefix=False)
    assert [r.video_id for r in kept] == ["v_aaa", "v_bbb"]


def test_glob_same_id_different_files_names_both(tmp_path):
    _download_layout(tmp_path, {"Running/v_aaa.mp4": "vtest_a.mp4",
                                "Jumping/v_aaa.mp4": "vtest_b.mp4"})
    with pytest.raises(ManifestError, match="two files give video_id 'aaa'") as info:
        glob_videos(str(tmp_path / "*" / "*.mp4"))
    assert str(tmp_path / "Running" / "v_aaa.mp4") in str(info.value)
    assert str(tmp_path / "Jumping" / "v_aaa.mp4") in str(info.value)


def test_dataset_job_option_keeps_the_prefix(tmp_path):
    from pipelines.build_dataset import BuildDatasetOptions, _check

    _download_layout(tmp_path / "in", {"Running/v_aaa.mp4": "vtest_a.mp4"})
    argv = ["--input", str(tmp_path / "in" / "*" / "*.mp4"), "--output", str(tmp_path / "out")]
    for extra, video_id in (([], "aaa"), (["--keep_v_prefix"], "v_aaa")):
        _, refs = _check(BuildDatasetOptions(argv + extra))
        assert [r.video_id for r in refs] == [video_id]


@pytest.mark.parametrize("video_id, message", [
    ("cat/v1", "line 3: video_id 'cat/v1' contains '/'"),
    ("..", "line 3: video_id '..' is a path step"),
    ("a\tb", r"line 3: video_id 'a\\tb' contains the control character '\\t'"),
], ids=["slash", "dot-dot", "tab"])
def test_ids_the_annotation_tool_cannot_serve_are_refused(video_id, message):
    text = json.dumps({"video_id": "ok", "uri": "a.mp4"}) + "\n" + json.dumps(
        {"video_id": "fine too", "uri": "b.mp4"}) + "\n" + json.dumps(
        {"video_id": video_id, "uri": "c.mp4"}) + "\n"
    with pytest.raises(ManifestError, match=message):
        parse_manifest(text, name="m.jsonl")


def test_ids_with_spaces_dots_and_unicode_pass():
    refs = parse_manifest("video_id,uri\nmy clip.v2,a.mp4\nvidéo #1?,b.mp4\n")
    assert [r.video_id for r in refs] == ["my clip.v2", "vidéo #1?"]
