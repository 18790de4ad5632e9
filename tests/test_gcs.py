"""gs:// input and output against a real GCS API server on loopback (gcp-storage-emulator)."""

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from models.clip_dataset import ClipShardDataset
from pipelines.build_dataset import run
from tests.conftest import video

BUCKET = "hacs-test"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def gcs():
    """Start the emulator; point google-cloud-storage (and so Beam's gs:// filesystem) at it."""
    exe = shutil.which("gcp-storage-emulator", path=os.path.dirname(sys.executable))
    port = _free_port()
    proc = subprocess.Popen([exe, "start", "--host", "127.0.0.1", "--port", str(port),
                             "--in-memory", "--default-bucket", BUCKET, "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    saved = {k: os.environ.get(k) for k in ("STORAGE_EMULATOR_HOST", "NO_GCE_CHECK")}
    os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
    os.environ["NO_GCE_CHECK"] = "true"
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project="test", credentials=AnonymousCredentials())
    for _ in range(100):
        try:
            client.get_bucket(BUCKET)
            break
        except Exception:  # noqa: BLE001 - server still starting
            time.sleep(0.1)
    bucket = client.bucket(BUCKET)
    for name in ("vtest_a.mp4", "Megamind.avi"):
        bucket.blob(f"in/{name}").upload_from_filename(video(name))
    rows = [{"video_id": "walk", "uri": f"gs://{BUCKET}/in/vtest_a.mp4", "label": "walking"},
            {"video_id": "mega", "uri": f"gs://{BUCKET}/in/Megamind.avi"},
            {"video_id": "gone", "uri": f"gs://{BUCKET}/in/does-not-exist.mp4"}]
    bucket.blob("in/manifest.jsonl").upload_from_string(
        "\n".join(json.dumps(r) for r in rows) + "\n")
    yield bucket
    proc.terminate()
    proc.wait(timeout=10)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_gs_input_and_output(gcs):
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "hacs-video-*")))
    report = run(["--input", f"gs://{BUCKET}/in/manifest.jsonl",
                  "--output", f"gs://{BUCKET}/out", "--num_shards", "2",
                  "--runner", "FnApiRunner"], save_main_session=False)
    assert report["videos"] == {"input": 3, "kept": 2, "dropped": 0, "failed": 1}
    assert report["reasons"]["failed"] == {"missing": 1}
    names = sorted(b.name for b in gcs.client.list_blobs(BUCKET, prefix="out/"))
    folder = json.loads(gcs.blob("out/dataset.json").download_as_text())["run"]
    pictures = [n for n in names if n.startswith(f"out/{folder}/report_files/")]
    assert f"out/{folder}/report_files/gallery.json" in pictures and len(pictures) > 3
    assert [n for n in names if n not in pictures] == ["out/dataset.json"] + [
        f"out/{folder}/{name}" for name in (
            "clips-00000-of-00002.index", "clips-00000-of-00002.tfrecord",
            "clips-00001-of-00002.index", "clips-00001-of-00002.tfrecord", "dataset.json",
            "fingerprints/fingerprints-00000-of-00001.jsonl", "inputs.jsonl",
            "report.html", "report.json", "shots.jsonl", "videos.jsonl")]  # work/ gone
    rows = [json.loads(x) for x in gcs.blob(f"out/{folder}/videos.jsonl").download_as_text()
            .splitlines()]
    gone = next(r for r in rows if r["video_id"] == "gone")
    assert gone["status"] == "failed" and "does-not-exist.mp4" in gone["message"]
    # the training loader reads the published run's shards straight from the bucket
    clips = list(ClipShardDataset(f"gs://{BUCKET}/out", decode=False))
    assert len(clips) == report["clips"] == 14  # vtest_a 10, Megamind 4 in kept shots
    assert {c.source_uri for c in clips} == {f"gs://{BUCKET}/in/vtest_a.mp4",
                                             f"gs://{BUCKET}/in/Megamind.avi"}
    # every temporary local copy of a remote video was deleted
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "hacs-video-*"))) == before


def test_glob_over_bucket(gcs):
    from transforms.inputs.manifest import load_inputs

    refs = load_inputs(f"gs://{BUCKET}/in/*")
    assert [(r.video_id, r.uri) for r in refs] == [
        ("Megamind", f"gs://{BUCKET}/in/Megamind.avi"),
        ("vtest_a", f"gs://{BUCKET}/in/vtest_a.mp4")]


def test_report_page_rebuilds_on_gs(gcs):
    from pipelines.report_html import rebuild

    run(["--input", f"gs://{BUCKET}/in/manifest.jsonl", "--output", f"gs://{BUCKET}/again",
         "--num_shards", "1", "--runner", "FnApiRunner"], save_main_session=False)
    folder = json.loads(gcs.blob("again/dataset.json").download_as_text())["run"]
    gcs.blob(f"again/{folder}/report.html").delete()
    assert rebuild(f"gs://{BUCKET}/again") == f"gs://{BUCKET}/again/{folder}/report.html"
    page = gcs.blob(f"again/{folder}/report.html").download_as_text()
    assert "failed/missing" in page and "report_files/" in page

