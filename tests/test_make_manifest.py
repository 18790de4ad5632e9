"""pipelines.make_manifest: a manifest from HACS-shaped label files and a download folder
laid out as the official scripts save it (files built here, no HACS data committed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pipelines.make_manifest import main, run
from transforms.inputs.manifest import read_manifest

CLIPS_CSV = """classname,youtube_id,subset,start,end,label
Archery,aaa,training,0.0,2.0,1
Archery,aaa,training,2.0,4.0,-1
Archery,bbb,training,0.0,2.0,1
Bowling,bbb,training,4.0,6.0,1
Bowling,ccc,validation,0.0,2.0,-1
Bowling,ddd,training,0.0,2.0,1
Archery,eee,validation,0.0,2.0,1
Archery,missing1,training,0.0,2.0,1
"""

SEGMENTS = {"version": "HACS Segments v1.1.1", "database": {
    "aaa": {"subset": "training", "duration": "12.500000",
            "url": "https://www.youtube.com/watch?v=aaa",
            "annotations": [{"label": "Archery", "segment": [1.0, 3.0]},
                            {"label": "Archery", "segment": [5.0, 9.0]}]},
    "v_ccc": {"subset": "validation", "duration": 30.0, "url": "",
              "annotations": [{"label": "Bowling", "segment": [0.5, 4.0]}]},
    "fff": {"subset": "testing", "duration": 10.0, "url": "", "annotations": []}}}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """ROOT/<classname>/v_<id>.<ext> as the download script saves videos (bbb under two
    classes, same bytes), flat v_<id> / <id> files, a stray video and a non-video file."""
    root = tmp_path / "videos"
    files = {"Archery/v_aaa.mp4": b"a" * 10, "Archery/v_bbb.mp4": b"b" * 20,
             "Bowling/v_bbb.mp4": b"b" * 20, "Bowling/v_ccc.webm": b"c" * 30,
             "v_ddd.MKV": b"d" * 40, "eee.mp4": b"e" * 50, "Stray/v_zzz.mp4": b"z" * 60,
             "Archery/notes.txt": b"not a video"}
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (tmp_path / "clips.csv").write_text(CLIPS_CSV)
    (tmp_path / "segments.json").write_text(json.dumps(SEGMENTS))
    return root


def make(tmp_path: Path, root: Path, labels: str, *extra: str):
    out = tmp_path / "manifest.csv"
    summary = run(["--labels", str(tmp_path / labels), "--videos", str(root),
                   "--output", str(out), *extra])
    return summary, out


def test_clips_csv_all_subsets(tmp_path, root, capsys):
    summary, out = make(tmp_path, root, "clips.csv", "--report", str(tmp_path / "r.json"))
    text = out.read_text()
    assert text.splitlines()[0] == "video_id,uri,label,subset,classes"
    refs = {r.video_id: r for r in read_manifest(str(out))}
    assert sorted(refs) == ["aaa", "bbb", "ccc", "ddd", "eee"]
    assert refs["aaa"].uri == str(root / "Archery/v_aaa.mp4")
    # one row for the video saved under both classes: the first path, no single label
    assert refs["bbb"].uri == str(root / "Archery/v_bbb.mp4") and refs["bbb"].label == ""
    assert "bbb," + str(root / "Archery/v_bbb.mp4") + ",,training,Archery|Bowling" in text
    # a negative clip still names the video's class
    assert (refs["ccc"].label, refs["ccc"].subset) == ("Bowling", "validation")
    assert refs["ddd"].uri == str(root / "v_ddd.MKV") and refs["eee"].label == "Archery"
    assert summary.ids_without_file == ("missing1",)
    assert summary.files_without_id == (str(root / "Stray/v_zzz.mp4"),)
    assert summary.multi_class_videos == ("bbb",)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["rows"] == 5 and report["labelled_videos"] == 6
    assert report["ids_without_file"] == ["missing1"]
    captured = capsys.readouterr()
    assert "1 labelled videos without a file: missing1" in captured.err
    assert "1 video files not in the labels: " + str(root / "Stray/v_zzz.mp4") in captured.err
    assert captured.out.startswith("make_manifest: 5 of 6 videos")


def test_subset_filter(tmp_path, root):
    summary, out = make(tmp_path, root, "clips.csv", "--subset", "training")
    assert [r.video_id for r in read_manifest(str(out))] == ["aaa", "bbb", "ddd"]
    assert sorted(summary.files_without_id) == sorted(
        str(root / p) for p in ("Bowling/v_ccc.webm", "eee.mp4", "Stray/v_zzz.mp4"))


def test_keep_v_prefix_compares_ids_as_written(tmp_path, root):
    summary, out = make(tmp_path, root, "clips.csv", "--keep_v_prefix")
    assert [(r.video_id, r.label) for r in read_manifest(str(out))] == [("eee", "Archery")]
    assert len(summary.ids_without_file) == 5 and len(summary.files_without_id) == 5
    assert str(root / "Archery/v_bbb.mp4") in summary.files_without_id  # once, not twice


def test_segments_json(tmp_path, root):
    summary, out = make(tmp_path, root, "segments.json")
    refs = read_manifest(str(out))
    # 'v_ccc' in the JSON and v_ccc.webm on disk are the same video, id without the v_
    assert [(r.video_id, r.label, r.subset) for r in refs] == [
        ("aaa", "Archery", "training"), ("ccc", "Bowling", "validation")]
    assert summary.ids_without_file == ("fff",)


def test_v_prefixed_labels_ids_and_ids_that_start_with_v(tmp_path):
    root = tmp_path / "videos"
    (root / "A").mkdir(parents=True)
    (root / "A" / "v_v_abc.mp4").write_bytes(b"1")  # YouTube id 'v_abc', as downloaded
    (root / "A" / "v_xyz.mp4").write_bytes(b"2")
    (tmp_path / "clips.csv").write_text("classname,youtube_id,subset,start,end,label\n"
                                        "A,v_abc,training,0,2,1\nA,v_xyz,training,0,2,1\n")
    summary, out = make(tmp_path, root, "clips.csv")
    assert [r.video_id for r in read_manifest(str(out))] == ["v_abc", "xyz"]
    assert not summary.ids_without_file and not summary.files_without_id


def _cli(monkeypatch, capsys, *args: str) -> list[str]:
    monkeypatch.setattr(sys, "argv", ["make_manifest", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    return err


@pytest.mark.parametrize("labels, message", [
    ("classname,youtube_id,subset,start,end,label\nA,aaa,training,x,2,1\n",
     "line 2: start 'x' is not a number"),
    ("classname,youtube_id\nA,aaa\n", "missing CSV columns"),
    ("classname,youtube_id,subset,start,end,label\nA,aaa,training,0,2,1\n"
     "A,aaa,validation,2,4,1\n", "'aaa' is in subsets 'training' and 'validation'"),
    ('{"database": {"aaa": {"subset": "training", "annotations": [{"segment": [0, 1]}]}}}',
     "needs a string 'label'"),
    ("classname,youtube_id,subset,start,end,label\nA,nobody,training,0,2,1\n",
     "none of the 1 videos"),
], ids=["bad-time", "bad-header", "two-subsets", "bad-json", "nothing-matches"])
def test_bad_input_is_one_line_and_status_2(tmp_path, root, monkeypatch, capsys, labels,
                                            message):
    (tmp_path / "bad").write_text(labels)
    out = tmp_path / "m.csv"
    err = _cli(monkeypatch, capsys, "--labels", str(tmp_path / "bad"), "--videos", str(root),
               "--output", str(out))
    assert message in err[0] and not out.exists()


def test_bad_folders_are_one_line_and_status_2(tmp_path, root, monkeypatch, capsys):
    labels = str(tmp_path / "clips.csv")
    empty = tmp_path / "empty"
    empty.mkdir()
    err = _cli(monkeypatch, capsys, "--labels", labels, "--videos", str(empty),
               "--output", str(tmp_path / "m.csv"))
    assert "no video files match" in err[0]
    (root / "v_aaa.mp4").write_bytes(b"a different size")
    err = _cli(monkeypatch, capsys, "--labels", labels, "--videos", str(root),
               "--output", str(tmp_path / "m.csv"))
    assert "two files give video_id 'aaa'" in err[0]
    (tmp_path / "latin1.csv").write_bytes(CLIPS_CSV.replace("eee", "\xe9e").encode("latin-1"))
    err = _cli(monkeypatch, capsys, "--labels", str(tmp_path / "latin1.csv"), "--videos",
               str(root), "--output", str(tmp_path / "m.csv"))
    assert "not UTF-8" in err[0] and "line 8" in err[0]
