"""The download job end to end (``python -m pipelines.download_videos``) against the local
server: each video fetched once and accounted for once, the published folder, reruns and
--resume after a SIGKILL, and the dataset job run on what it downloaded."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from pipelines.download_videos import UsageError, read_targets, run
from tests.conftest import video
from transforms.download.layout import PUBLISHED

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAST = ["--runner", "FnApiRunner", "--downloads_per_second", "0", "--retry_backoff", "0.05",
        "--socket_timeout", "1"]


def _sources(path, rows) -> str:
    with open(path, "w") as f:
        f.write("video_id,url,label,subset\n")
        f.writelines(",".join(row) + "\n" for row in rows)
    return str(path)


def _published(out) -> tuple[dict, list[dict], list[str]]:
    """The published downloads.json, its downloads.jsonl rows and its manifest lines."""
    with open(os.path.join(out, PUBLISHED)) as f:
        doc = json.load(f)
    with open(doc["downloads"]) as f:
        rows = [json.loads(line) for line in f]
    with open(doc["manifest"]) as f:
        manifest = f.read().splitlines()
    return doc, rows, manifest


def _videos(out) -> list[str]:
    """Video files under ``out`` (relative paths), hidden ones too."""
    found = glob.glob(f"{out}/**/*.*", recursive=True) + glob.glob(f"{out}/**/.*",
                                                                    recursive=True)
    return sorted(os.path.relpath(p, out) for p in found
                  if os.path.isfile(p) and p.endswith((".mp4", ".avi")))


@pytest.fixture
def sources(server, tmp_path) -> str:
    """Five videos, one under two classes (two rows), two that fail."""
    u = server.url
    return _sources(tmp_path / "urls.csv", [
        ("walk", f"{u}/v/vtest_a.mp4", "walking", "training"),
        ("walk", f"{u}/v/vtest_a.mp4", "running", "training"),
        ("mega", f"{u}/v/Megamind.avi", "talking", "validation"),
        ("tree", f"{u}/flaky/1/tree.avi", "", "training"),
        ("gone", f"{u}/status/404", "talking", "validation"),
        ("page", f"{u}/html", "talking", "validation")])


def test_each_video_fetched_once_and_accounted_for_once(server, sources, tmp_path):
    out = str(tmp_path / "out")
    report = run(["--sources", sources, "--videos", out, *FAST], save_main_session=False)
    assert report["videos"] == {"input": 5, "downloaded": 3, "failed": 2, "resumed": 0}
    assert report["reasons"]["failed"] == {"http_404": 1, "not_video": 1}
    assert report["attempts"] == 6 and report["retried_videos"] == 1
    assert server.hits["/v/vtest_a.mp4"] == 1  # two classes, one download
    assert _videos(out) == ["running/v_walk.mp4", "talking/v_mega.avi", "v_tree.avi"]
    doc, rows, manifest = _published(out)
    assert sorted(r["video_id"] for r in rows) == ["gone", "mega", "page", "tree", "walk"]
    walk = next(r for r in rows if r["video_id"] == "walk")
    assert walk["classes"] == ["running", "walking"] and walk["status"] == "downloaded"
    assert sorted(manifest[1:]) == sorted([
        f"mega,{out}/talking/v_mega.avi,talking,validation,talking",
        f"tree,{out}/v_tree.avi,,training,",
        f"walk,{out}/running/v_walk.mp4,,training,running|walking"])
    assert manifest[0] == "video_id,uri,label,subset,classes"
    assert os.listdir(os.path.join(out, "runs")) == [doc["run"].split("/")[1]]


def test_labels_files_give_each_youtube_id_once(tmp_path):
    clips = tmp_path / "clips.csv"
    clips.write_text("classname,youtube_id,subset,start,end,label\n"
                     "Archery,abcdefghijk,training,0,2,1\n"
                     "Archery,abcdefghijk,training,4,6,-1\n"
                     "Bowling,abcdefghijk,training,8,10,1\n"
                     "Bowling,zyxwvutsrqp,validation,0,2,1\n")
    targets = read_targets(str(clips))
    assert [(t.video_id, t.source, t.classes, t.subset) for t in targets] == [
        ("abcdefghijk", "abcdefghijk", ("Archery", "Bowling"), "training"),
        ("zyxwvutsrqp", "zyxwvutsrqp", ("Bowling",), "validation")]
    assert [t.video_id for t in read_targets(str(clips), "validation")] == ["zyxwvutsrqp"]
    segments = tmp_path / "segments.json"
    segments.write_text(json.dumps({"version": "1.1", "database": {
        "abcdefghijk": {"subset": "training", "duration": 30.0, "url": "",
                        "annotations": [{"label": "Archery", "segment": [1.0, 5.0]}]}}}))
    assert [(t.video_id, t.classes) for t in read_targets(str(segments))] == [
        ("abcdefghijk", ("Archery",))]


def test_a_manifest_naming_one_url_twice_is_refused(server, tmp_path):
    from transforms.inputs.manifest import ManifestError

    path = _sources(tmp_path / "m.csv", [("a", f"{server.url}/v/x.mp4", "", ""),
                                         ("b", f"{server.url}/v/x.mp4", "", "")])
    with pytest.raises(ManifestError, match="listed as 'a' and as 'b'"):
        read_targets(path)


def test_reruns_need_resume_or_overwrite(server, sources, tmp_path):
    out = str(tmp_path / "out")
    run(["--sources", sources, "--videos", out, *FAST], save_main_session=False)
    first = dict(server.hits)
    with pytest.raises(UsageError, match="--resume .* --overwrite"):
        run(["--sources", sources, "--videos", out, *FAST])
    resumed = run(["--sources", sources, "--videos", out, "--resume", *FAST],
                  save_main_session=False)
    assert resumed["videos"]["resumed"] == 3 and resumed["videos"]["downloaded"] == 3
    # downloaded videos are not asked for again; failed ones are tried again
    assert server.hits["/v/vtest_a.mp4"] == first["/v/vtest_a.mp4"] == 1
    assert server.hits["/status/404"] == 2
    # --overwrite fetches everything again and removes what the new run does not list
    fewer = _sources(tmp_path / "fewer.csv", [("mega", f"{server.url}/v/Megamind.avi",
                                               "talking", "validation")])
    again = run(["--sources", fewer, "--videos", out, "--overwrite", *FAST],
                save_main_session=False)
    assert again["videos"] == {"input": 1, "downloaded": 1, "failed": 0, "resumed": 0}
    assert server.hits["/v/Megamind.avi"] == 2
    assert _videos(out) == ["talking/v_mega.avi"]
    assert len(os.listdir(os.path.join(out, "runs"))) == 1


def test_a_folder_of_other_files_is_refused(sources, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not a download run's"):
        run(["--sources", sources, "--videos", str(out), "--resume", *FAST])


def test_options_are_checked_and_secrets_never_stored(tmp_path):
    with pytest.raises(UsageError, match="did you mean --concurrent_downloads"):
        run(["--sources", "x.csv", "--videos", "y", "--concurrent_download", "2"])
    with pytest.raises(UsageError, match="--cookies .*: no such file"):
        run(["--sources", "x.csv", "--videos", str(tmp_path / "y"), "--cookies",
             str(tmp_path / "nope.txt")])
    with pytest.raises(UsageError, match="--concurrent_downloads must be >= 1"):
        run(["--sources", "x.csv", "--videos", str(tmp_path / "y"),
             "--concurrent_downloads", "0"])
    # local files are copied (no proxy involved): the run succeeds and stores no secret
    sources = _sources(tmp_path / "files.csv", [("a", video("vtest_b.mp4"), "walking", "")])
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n")
    out = str(tmp_path / "out")
    report = run(["--sources", sources, "--videos", out, "--cookies", str(cookies),
                  "--proxy", "http://user:s3cret@127.0.0.1:9", *FAST], save_main_session=False)
    assert report["videos"]["downloaded"] == 1
    for path in glob.glob(f"{out}/runs/*/*") + glob.glob(f"{out}/work/*/*"):
        with open(path) as f:
            text = f.read()
        assert "s3cret" not in text and str(cookies) not in text, path
    assert report["settings"]["options"]["proxy"] == "<given>"


def _start(sources: str, out: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.download_videos", "--sources", sources, "--videos",
         out, "--concurrent_downloads", "1", *FAST], cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, start_new_session=True)


def test_sigkill_then_resume_downloads_only_the_rest(server, tmp_path):
    names = ["vtest_a.mp4", "vtest_b.mp4", "Megamind.avi", "tree.avi"] * 2
    rows = [(f"v{i}", f"{server.url}/slow/0.3/{name}/{i}", "walking", "training")
            for i, name in enumerate(names)]
    sources = _sources(tmp_path / "slow.csv", rows)
    out = str(tmp_path / "out")
    child = _start(sources, out)
    deadline = time.monotonic() + 120
    while len(glob.glob(f"{out}/work/*/*.json")) < 2 and child.poll() is None:
        assert time.monotonic() < deadline, "no download was recorded"
        time.sleep(0.02)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert not os.path.exists(os.path.join(out, PUBLISHED))  # nothing was published
    done = {os.path.basename(p)[:-5] for p in glob.glob(f"{out}/work/*/*.json")}
    assert 2 <= len(done) < len(rows)
    # every file under a video's name is whole (a killed download left at most a hidden
    # staging folder)
    for path in glob.glob(f"{out}/walking/*"):
        name = names[int(os.path.basename(path)[3:].split(".")[0])]
        assert os.path.getsize(path) == os.path.getsize(video(name)), path
    report = run(["--sources", sources, "--videos", out, "--resume", *FAST],
                 save_main_session=False)
    assert report["videos"] == {"input": 8, "downloaded": 8, "failed": 0,
                                "resumed": len(done)}
    for i, _ in enumerate(names):
        hits = server.hits[f"/slow/0.3/{names[i]}/{i}"]
        assert hits == 1 if f"v{i}" in done else hits >= 1, (i, hits)
    assert not glob.glob(f"{out}/**/.*partial*", recursive=True)
    assert len(_videos(out)) == 8


def test_the_dataset_job_runs_on_the_download_folder(server, sources, tmp_path, monkeypatch):
    from pipelines.build_dataset import run as build

    monkeypatch.chdir(tmp_path)
    out = "videos"  # relative: the manifest's uris are absolute all the same
    run(["--sources", sources, "--videos", out, *FAST], save_main_session=False)
    _, _, manifest = _published(out)
    assert all(line.split(",")[1].startswith(str(tmp_path / out)) for line in manifest[1:])
    report = build(["--input", str(tmp_path / out), "--output", str(tmp_path / "dataset"),
                    "--skip_dedup",
                    "--skip_person_filter", "--num_shards", "1", "--runner", "FnApiRunner"],
                   save_main_session=False)
    assert report["videos"]["input"] == 3 and report["videos"]["kept"] == 3
    with open(tmp_path / "dataset" / "dataset.json") as f:
        assert json.load(f)["labels"] == ["talking"]  # walk has two classes: no single label
    shutil.rmtree(tmp_path / "dataset")


def test_each_job_refuses_the_others_options():
    from pipelines import cli
    from pipelines.build_dataset import BuildDatasetOptions
    from pipelines.download_videos import DownloadVideosOptions

    argv = ["--sources", "s.csv", "--videos", "v", "--input", "i", "--resume"]
    assert cli.unknown_options(argv, BuildDatasetOptions) == ["--sources", "--videos"]
    assert cli.unknown_options(argv, DownloadVideosOptions) == ["--input"]


def test_cli_help_and_one_error_line(tmp_path):
    shown = subprocess.run([sys.executable, "-m", "pipelines.download_videos", "--help"],
                           capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert shown.returncode == 0
    for option in ("--sources", "--videos", "--max_file_mb", "--cookies", "--resume"):
        assert option in shown.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("video_id,link\na,http://x\n")
    proc = subprocess.run([sys.executable, "-m", "pipelines.download_videos", "--sources",
                           str(bad), "--videos", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: {bad}: need columns video_id and url (header is video_id, link)")
    assert not (tmp_path / "out").exists()
