"""``python -m annotate``: the serve command starts a working server; the index lists queues."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from annotate.cli import main

ROOT = Path(__file__).resolve().parents[2]
ANN = {"X-Annotator": "ann", "X-Token": "t0k"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_command(dataset, tmp_path):
    db = str(tmp_path / "a.sqlite")
    assert main(["add-annotator", "--db", db, "ann", "--token", "t0k"]) == 0
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "annotate", "serve", "--db", db, "--shards", dataset.shards,
         "--videos-root", dataset.videos_root, "--port", str(port), "--page-size", "3"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        html = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(urllib.request.Request(
                        f"http://127.0.0.1:{port}/", headers=ANN), timeout=5) as r:
                    html = r.read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert html is not None, "server did not start"
        assert 'href="/clips/Walking"' in html and 'href="/segments/Running"' in html
        assert "<td>0</td><td>6</td>" in html  # Walking: 0 reviewed of 6 clips
        with urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{port}/clips/Walking", headers=ANN), timeout=5) as r:
            assert 'data-page-size="3"' in r.read().decode()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "8 new clips queued; 2 video files" in out
    assert f"http://127.0.0.1:{port}/" in out


def test_cli_reports_bad_files(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("classname,youtube_id,subset,start,end,label\nA,v,training,1.0,3.0,2\n")
    assert main(["import-clips", "--db", str(tmp_path / "a.sqlite"), str(bad)]) == 2
    assert "line 2: label must be 1 or -1" in capsys.readouterr().err
    assert main(["import-clips", "--db", str(tmp_path / "a.sqlite"),
                 str(tmp_path / "missing.csv")]) == 2


def test_labels_per_clip_option_and_explicit_agreement_file(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--db", str(tmp_path / "a.sqlite"), "--videos-root", str(tmp_path),
              "--labels-per-clip", "0"])
    assert "must be >= 1" in capsys.readouterr().err
    db, csv_in = str(tmp_path / "a.sqlite"), tmp_path / "in.csv"
    csv_in.write_text("classname,youtube_id,subset,start,end,label\n"
                      "Walking,v1,training,0.0,2.0,-1\n")
    assert main(["import-clips", "--db", db, str(csv_in)]) == 0
    out, votes = tmp_path / "out.csv", tmp_path / "votes.csv"
    assert main(["export-clips", "--db", db, str(out)]) == 0
    assert out.read_text() == csv_in.read_text()
    assert not (tmp_path / "out.agreement.csv").exists()  # no clip with several labels
    assert main(["export-clips", "--db", db, str(out), "--agreement", str(votes)]) == 0
    assert votes.read_text() == (
        "classname,youtube_id,subset,start,end,label,labels,positive,negative,agreement,"
        "annotators\nWalking,v1,training,0.0,2.0,-1,0,0,0,,\n")
