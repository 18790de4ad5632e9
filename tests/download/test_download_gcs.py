"""The download job with gs:// sources and a gs:// download folder, against a real GCS API
server on loopback (the gcp-storage-emulator fixture of tests/test_gcs.py)."""

from __future__ import annotations

import glob
import json
import os
import tempfile

import pytest

from pipelines.download_videos import UsageError, run
from tests.test_gcs import BUCKET, gcs  # noqa: F401 - the emulator fixture
from transforms.inputs.manifest import load_inputs

FAST = ["--runner", "FnApiRunner", "--downloads_per_second", "0"]


def test_gs_sources_and_download_folder(gcs, server, monkeypatch):  # noqa: F811 - the fixture
    # Beam looks for credentials with 20 s of retries before it connects anonymously, as the
    # emulator wants: start anonymous (a private of Beam: setattr fails loudly if it goes)
    from apache_beam.internal.gcp.auth import _Credentials

    monkeypatch.setattr(_Credentials, "_credentials_init", True)
    monkeypatch.setattr(_Credentials, "_credentials", None)
    gcs.blob("dl/urls.csv").upload_from_string(
        "video_id,url,label,subset\n"
        f"mega,gs://{BUCKET}/in/Megamind.avi,talking,training\n"
        f"walk,{server.url}/v/vtest_a.mp4,walking,training\n"
        f"lost,gs://{BUCKET}/in/nothing.mp4,walking,training\n")
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "hacs-download-*")))
    out = f"gs://{BUCKET}/dl/out"
    report = run(["--sources", f"gs://{BUCKET}/dl/urls.csv", "--videos", out, *FAST],
                 save_main_session=False)
    assert report["videos"] == {"input": 3, "downloaded": 2, "failed": 1, "resumed": 0}
    assert report["reasons"]["failed"] == {"unavailable": 1}
    names = sorted(b.name for b in gcs.client.list_blobs(BUCKET, prefix="dl/out/"))
    doc = json.loads(gcs.blob("dl/out/downloads.json").download_as_text())
    run_dir = f"dl/out/{doc['run']}"
    assert [n for n in names if not n.startswith("dl/out/work/")] == [
        "dl/out/downloads.json", f"{run_dir}/downloads.jsonl", f"{run_dir}/inputs.jsonl",
        f"{run_dir}/manifest.csv", f"{run_dir}/report.json", "dl/out/talking/v_mega.avi",
        "dl/out/walking/v_walk.mp4"]
    assert gcs.blob("dl/out/walking/v_walk.mp4").exists()
    # staged in local temporary folders, all removed
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "hacs-download-*"))) == before
    refs = load_inputs(out)  # what build_dataset --input reads
    assert sorted((r.video_id, r.uri, r.label) for r in refs) == [
        ("mega", f"{out}/talking/v_mega.avi", "talking"),
        ("walk", f"{out}/walking/v_walk.mp4", "walking")]
    with pytest.raises(UsageError, match="published download run"):
        run(["--sources", f"gs://{BUCKET}/dl/urls.csv", "--videos", out, *FAST])
