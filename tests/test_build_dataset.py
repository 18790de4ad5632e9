import json
import os

import cv2
import numpy as np
import pytest

from pipelines.build_dataset import run
from tests.conftest import run_dir, video
from tests.media import iter_frames
from transforms.clips.codec import clip_frames
from transforms.inputs.manifest import ManifestError
from transforms.output.records import from_example
from transforms.output.shards import iter_records, match_shards


def _videos(out):
    """videos.jsonl by video id; a video listed twice fails (exactly one place each)."""
    with open(os.path.join(run_dir(out), "videos.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    by_id = {row["video_id"]: row for row in rows}
    assert len(by_id) == len(rows), "a video ended in more than one place"
    return by_id


def _records(out):
    return [r for shard in match_shards(run_dir(out)) for r in iter_records(shard)]


def test_every_input_video_ends_in_exactly_one_place(built_dataset):
    out, report = built_dataset
    rows = _videos(out)
    assert sorted(rows) == sorted(["vtest_a", "megamind", "megamind_bugy", "tree", "truncated",
                                   "empty", "text", "missing"])
    status = {k: (v["status"], v["stage"], v["reason"]) for k, v in rows.items()}
    assert status == {"vtest_a": ("kept", "clips", ""), "megamind": ("kept", "clips", ""),
                      "megamind_bugy": ("dropped", "dedup", "duplicate"),
                      "tree": ("dropped", "persons", "no_person"),
                      "truncated": ("failed", "analyze", "unreadable"),
                      "empty": ("failed", "analyze", "empty"),
                      "text": ("failed", "analyze", "unreadable"),
                      "missing": ("failed", "analyze", "missing")}
    assert all(rows[k]["message"] for k in ("truncated", "empty", "text", "missing"))
    assert report["videos"] == {"input": 8, "kept": 2, "dropped": 2, "failed": 4}
    assert report["reasons"]["failed"] == {"empty": 1, "missing": 1, "unreadable": 2}
    assert report["reasons"]["dropped"] == {"duplicate": 1, "no_person": 1}
    assert [r["remaining"] for r in report["funnel"]] == [8, 4, 3, 2, 2]


def test_drops_carry_evidence_and_decoded_facts(built_dataset):
    out, report = built_dataset
    rows = _videos(out)
    bugy, tree = rows["megamind_bugy"], rows["tree"]
    assert bugy["evidence"]["kept_video_id"] == "megamind"  # the longer one is kept
    assert 0.5 <= bugy["evidence"]["score"] <= 1.0
    assert bugy["frames"] == 270 and bugy["duration"] == pytest.approx(9.0)
    assert tree["evidence"]["best_score"] < 0.5 and tree["frames"] == 68
    # vtest_a 1 shot, Megamind 4, tree 1 (one take: the hand reaching in at frame 54 is no cut)
    assert report["shots"]["total"] == 6 and report["shots"]["kept"] == 5


def _shots(out):
    """shots.jsonl as parsed rows, in file order."""
    with open(os.path.join(run_dir(out), "shots.jsonl")) as f:
        return [json.loads(line) for line in f]


def test_every_shot_of_every_analysed_video_is_in_shots_jsonl(built_dataset):
    out, report = built_dataset
    rows = _shots(out)
    # every video that was decoded: the duplicate dropped before the person filter too
    assert [(r["video_id"], r["shot_index"]) for r in rows] == sorted(
        (r["video_id"], r["shot_index"]) for r in rows)
    by_video: dict[str, list[dict]] = {}
    for r in rows:
        by_video.setdefault(r["video_id"], []).append(r)
    assert sorted(by_video) == ["megamind", "megamind_bugy", "tree", "vtest_a"]
    mega = by_video["megamind"]
    assert [(r["start_frame"], r["end_frame"]) for r in mega] == [
        (0, 98), (98, 154), (154, 200), (200, 270)]
    assert [r["transition"] for r in mega] == ["start", "cut", "cut", "cut"]
    assert all(r["kept"] and r["person_score"] >= 0.5 for r in mega)
    assert mega[-1]["end"] - mega[0]["start"] == pytest.approx(270 / 23.976, abs=2e-3)
    # the duplicate was never scored or kept; tree was scored and dropped
    assert all(r["person_score"] is None and not r["kept"] for r in by_video["megamind_bugy"])
    assert all(r["person_score"] < 0.5 and not r["kept"] for r in by_video["tree"])
    for shots in by_video.values():  # shots tile each video
        assert [r["shot_index"] for r in shots] == list(range(len(shots)))
        assert all(a["end_frame"] == b["start_frame"]
                   for a, b in zip(shots, shots[1:], strict=False))
    survivors = [r for v in ("megamind", "tree", "vtest_a") for r in by_video[v]]
    assert report["shots"]["total"] == len(survivors)
    assert report["shots"]["kept"] == sum(r["kept"] for r in rows)


def test_clips_lie_inside_kept_shots(built_dataset):
    out, _ = built_dataset
    shots = {(s["video_id"], s["shot_index"]): s for s in _shots(out) if s["kept"]}
    clips = [from_example(r) for r in _records(out)]
    assert {c.video_id for c in clips} == {"vtest_a", "megamind"}
    for c in clips:
        shot = shots[(c.video_id, c.shot_index)]
        assert shot["start"] - 1e-3 <= c.start and c.end <= shot["end"] + 1e-3
        assert c.person_score == pytest.approx(shot["person_score"], abs=1e-4)
    # Megamind's shots: 4.09 s -> 2 clips, 2.34 s -> 1, 1.92 s -> 0, 2.92 s -> 1
    assert sorted(c.shot_index for c in clips if c.video_id == "megamind") == [0, 0, 1, 3]


def test_whole_video_clip_counts_follow_decoded_durations(dataset_inputs, tmp_path):
    out = str(tmp_path / "whole")
    report = run(["--input", dataset_inputs, "--output", out, "--num_shards", "1",
                  "--skip_dedup", "--skip_person_filter", "--runner", "FnApiRunner"],
                 save_main_session=False)
    rows = _videos(out)
    # Without the filters clips are still cut inside shots (a clip never spans a cut):
    # vtest_a one 20 s shot -> 10; Megamind's shots (cuts at frames 98, 154, 200: 4.09, 2.34,
    # 1.92 and 2.92 s) -> 2 + 1 + 0 + 1; tree, one 29.6 s shot -> 14
    assert {k: rows[k]["clips"] for k in ("vtest_a", "megamind", "tree")} == {
        "vtest_a": 10, "megamind": 4, "tree": 14}
    shots = _shots(out)  # no person filter: every shot kept, none scored
    assert all(s["kept"] and s["person_score"] is None for s in shots)
    assert [s["start_frame"] for s in shots if s["video_id"] == "megamind"] == [0, 98, 154, 200]
    assert rows["tree"]["frames"] == 68
    assert [r["remaining"] for r in report["funnel"]] == [8, 4, 4, 4, 4]
    assert "shots" not in report


def test_shards_index_and_dataset_manifest(built_dataset):
    out, report = built_dataset
    shards = match_shards(run_dir(out))
    assert [os.path.basename(s) for s in shards] == [
        f"clips-0000{i}-of-00003.tfrecord" for i in range(3)]
    with open(os.path.join(out, "dataset.json")) as f:
        manifest = json.load(f)
    assert manifest["labels"] == ["talking", "walking"]
    assert manifest["num_records"] == report["clips"] == 14 == len(_records(out))
    for row in manifest["shards"]:
        with open(row["index"]) as f:
            spans = [tuple(map(int, line.split())) for line in f]
        assert len(spans) == row["records"]
        assert sum(n for _, n in spans) == row["bytes"] == os.path.getsize(row["path"])
    assert report["bytes"]["output"] == sum(r["bytes"] for r in manifest["shards"])


def test_record_fields(built_dataset):
    clips = [from_example(r) for r in _records(built_dataset[0])]
    by_video = {}
    for c in clips:
        by_video.setdefault(c.video_id, []).append(c)
    walk = sorted(by_video["vtest_a"], key=lambda c: c.start)
    assert [c.start for c in walk] == [float(2 * i) for i in range(10)]
    c = walk[3]
    # the default h264 clip: every frame of its 2 s (vtest_a is 10 fps), even-sized
    assert (c.label_name, c.label_id, c.subset, c.num_frames, c.fps, c.codec) == (
        "walking", 1, "training", 20, 10.0, "h264")
    assert (c.height, c.width) == (128, 172)
    assert c.clip_id == "vtest_a_000006000_000008000"
    assert all(x.label_id == 0 and x.label_name == "talking" for x in by_video["megamind"])
    assert len({x.clip_id for x in clips}) == len(clips)


def test_frames_round_trip_against_source(built_dataset):
    """Stored frames (the default h264 clip) match the source frames at the stored
    timestamps: mean absolute error under 4 grey levels of 255 after the same INTER_AREA
    downscale (JPEG q90 costs about 3 on this noisy surveillance footage)."""
    clips = [from_example(r) for r in _records(built_dataset[0])]
    clip = next(c for c in clips if c.video_id == "vtest_a" and c.start == 6.0)
    source = {round(f.time, 3): f.image for f in iter_frames(video("vtest_a.mp4"))}
    errors = []
    for image, t in zip(clip_frames(clip), clip.timestamps, strict=True):
        stored = image.astype(np.float32)
        src = cv2.resize(source[round(t, 3)], (stored.shape[1], stored.shape[0]),
                         interpolation=cv2.INTER_AREA).astype(np.float32)
        errors.append(np.abs(stored - src).mean())
    assert max(errors) < 4.0, errors
    # and a wrong timestamp would not pass: frames 1 s apart differ far more
    far = cv2.resize(source[round(clip.timestamps[0] + 1.0, 3)],
                     (clip.width, clip.height), interpolation=cv2.INTER_AREA)
    assert np.abs(clip_frames(clip, [0])[0].astype(np.float32) - far).mean() > max(errors)


def test_multi_processing_gives_the_same_records(built_dataset, dataset_inputs, tmp_path):
    out = str(tmp_path / "mp")
    run(["--input", dataset_inputs, "--output", out, "--num_shards", "3",
         "--runner", "DirectRunner", "--direct_num_workers=2",
         "--direct_running_mode=multi_processing"], save_main_session=False)
    assert sorted(_records(out)) == sorted(_records(built_dataset[0]))
    assert _videos(out) == _videos(built_dataset[0])


def test_manifest_errors_stop_before_the_job(tmp_path):
    bad = tmp_path / "m.csv"
    bad.write_text("video_id,uri\na,x.mp4\na,y.mp4\n")
    with pytest.raises(ManifestError, match="duplicate video_id 'a'"):
        run(["--input", str(bad), "--output", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_cli_prints_summary(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "cli"
    proc = subprocess.run([sys.executable, "-m", "pipelines.build_dataset", "--input",
                           video("vtest_a.mp4").replace("vtest_a.mp4", "vtest_*.mp4"),
                           "--output", str(out), "--num_shards", "1",
                           "--runner", "FnApiRunner"], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(__file__)), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "videos: 2 in -> 2 kept, 0 dropped, 0 failed" in proc.stderr
    assert "2 videos done (2 input)" in proc.stderr  # progress lines
    assert os.path.exists(os.path.join(run_dir(out), "clips-00000-of-00001.tfrecord"))


def test_a_run_where_nothing_survives_still_reports(tmp_path):
    from tests.conftest import make_bad_inputs, write_manifest

    bad = make_bad_inputs(str(tmp_path / "in"))
    manifest = write_manifest(str(tmp_path / "m.csv"),
                              [(k, v, "", "") for k, v in bad.items()])
    out = tmp_path / "out"
    report = run(["--input", manifest, "--output", str(out), "--num_shards", "2",
                  "--runner", "FnApiRunner"], save_main_session=False)
    assert report["videos"] == {"input": 4, "kept": 0, "dropped": 0, "failed": 4}
    assert [r["records"] for r in report["shards"]] == [0, 0]
    assert len(_videos(str(out))) == 4


@pytest.mark.parametrize(("module", "flags"), [
    ("pipelines.build_dataset", ("--input", "--clip_seconds", "--reference", "--detector",
                                 "--skip_dedup", "--num_shards", "--dedup_bands")),
    ("pipelines.build_reference_index", ("--index_input", "--index_output", "--index_fps")),
], ids=["build_dataset", "build_reference_index"])
def test_help_lists_each_entry_points_own_options(module, flags, capsys, monkeypatch):
    import importlib

    monkeypatch.setattr("sys.argv", ["prog", "--help"])
    importlib.import_module(module).main()
    text = capsys.readouterr().out
    for flag in flags:
        assert flag in text
    assert "pass through to the runner" in text or "passes through to the runner" in text
    if module == "pipelines.build_dataset":
        assert "2-second clips" in text  # defaults say where they come from


def test_damaged_and_rotated_videos_through_the_job(tmp_path):
    from tests.conftest import write_manifest
    from tests.media import encode_video
    from tests.test_decode import damaged_copy

    damaged, written = damaged_copy(tmp_path)
    frames = [f.image for f in iter_frames(video("vtest_a.mp4"), fps=10)][:50]
    rotated = encode_video(str(tmp_path / "rotated.mp4"), frames, fps=10, rotation=90)
    manifest = write_manifest(str(tmp_path / "m.csv"), [("damaged", damaged, "", ""),
                                                        ("rotated", rotated, "", "")])
    out = str(tmp_path / "out")
    report = run(["--input", manifest, "--output", out, "--num_shards", "1", "--skip_dedup",
                  "--skip_person_filter", "--runner", "FnApiRunner"], save_main_session=False)
    rows = _videos(out)
    assert rows["damaged"]["status"] == "kept" and rows["damaged"]["decode_errors"] > 0
    assert rows["damaged"]["frames"] >= 0.75 * written
    assert rows["rotated"]["decode_errors"] == 0
    assert report["decode_errors"]["videos"] == 1
    # one decode per video: every frame of the inputs decoded exactly once
    assert report["frames_decoded"] == report["input_frames"] == (
        rows["damaged"]["frames"] + rows["rotated"]["frames"])
    assert report["stages"]["clips"]["frames_decoded"] == 0
    clips = {r.video_id: r for r in map(from_example, _records(out))}
    # portrait 288x384 -> 128x171, rounded up to even sides for h264
    assert (clips["rotated"].height, clips["rotated"].width) == (172, 128)
    assert (clips["damaged"].height, clips["damaged"].width) == (128, 172)


def test_a_relative_output_is_published_with_absolute_paths(tmp_path):
    """--output out/x run from one folder: dataset.json names the run's files by absolute
    paths, so the loader reads the run from anywhere."""
    import subprocess
    import sys

    from models.clip_dataset import ClipShardDataset

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-m", "pipelines.build_dataset", "--input",
                           video("vtest_a.mp4").replace("vtest_a.mp4", "vtest_a*.mp4"),
                           "--output", "rel/out", "--num_shards", "1",
                           "--skip_dedup", "--skip_person_filter"], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": repo}, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "rel" / "out"
    with open(out / "dataset.json") as f:
        doc = json.load(f)
    paths = [row["path"] for row in doc["shards"]] + [doc["report"], doc["videos"]]
    assert all(os.path.isabs(p) and os.path.exists(p) for p in paths), paths
    assert len(list(ClipShardDataset(str(out), decode=False))) == doc["num_records"] > 0
