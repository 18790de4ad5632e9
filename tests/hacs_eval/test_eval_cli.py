"""``python -m hacs_eval`` end to end, in a subprocess."""

import json
import os
import subprocess
import sys

import pytest
from eval_helpers import gt_doc, results_doc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PNG = b"\x89PNG\r\n\x1a\n"


def run(*args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "hacs_eval", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def files(tmp_path):
    gt = gt_doc({"a": [("x", 0, 10), ("x", 2, 12)], "b": [("y", 0, 5)]})
    res = results_doc({"a": [("x", 0, 10, 0.9), ("x", 0.5, 11, 0.8), ("x", 2, 12, 0.7)],
                       "b": [("y", 0, 5, 0.6), ("y", 3, 2, 0.5)],
                       "elsewhere": [("x", 0, 10, 0.99)]})
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(res))
    (tmp_path / "blocked.txt").write_text("b\n")
    return tmp_path


def test_detection_command(files):
    out = files / "out"
    p = run("detection", "--ground-truth", str(files / "gt.json"),
            "--detections", str(files / "res.json"), "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert "average" in p.stdout and "0.50" in p.stdout
    assert "1 x reversed_segment" in p.stderr and "1 x video_outside_subset" in p.stderr
    doc = json.loads((out / "detection.json").read_text())
    # class x, as the reference: the outside detection (0.99) is a false positive ranked
    # first, then the locked-ground-truth case. t <= 0.75: tp [0, 1, 1, 0], precision
    # [0, 1/2, 2/3, 1/2], recall [0, .5, 1, 1] -> AP 2/3; t >= 0.80: tp [0, 1, 0, 1],
    # precision [0, 1/2, 1/3, 1/2] -> AP 0.5 * 0.5 + 0.5 * 0.5 = 0.5. Class y: AP 1
    x = doc["metrics"]["per_class"]["x"]["ap"]
    assert x == pytest.approx([2 / 3] * 6 + [0.5] * 4)
    assert doc["metrics"]["mAP"]["0.50"] == pytest.approx((2 / 3 + 1) / 2)
    assert doc["metrics"]["average_mAP"] == pytest.approx((1 + (6 * 2 / 3 + 4 * 0.5) / 10) / 2)
    assert doc["input_issues"]["warnings"]["video_outside_subset"]["count"] == 1
    assert doc["options"]["tie_break"] == "reference"
    assert (out / "detection.png").read_bytes()[:8] == PNG
    # --drop-outside: the locked-ground-truth case alone (1.0 up to 0.75, 5/6 above)
    p = run("detection", "--ground-truth", str(files / "gt.json"), "--detections",
            str(files / "res.json"), "--out", str(out), "--drop-outside", "--tiou", "thumos14",
            "--no-plot", "--tie-break", "file-order")
    assert p.returncode == 0, p.stderr
    doc = json.loads((out / "detection.json").read_text())
    assert doc["metrics"]["tiou_thresholds"] == pytest.approx([0.3, 0.4, 0.5, 0.6, 0.7])
    assert doc["metrics"]["per_class"]["x"]["ap"] == pytest.approx([1.0] * 5)


def test_proposals_command(files):
    out = files / "out"
    p = run("proposals", "--ground-truth", str(files / "gt.json"), "--proposals",
            str(files / "res.json"), "--out", str(out), "--max-avg-proposals", "2",
            "--blocked", str(files / "blocked.txt"), "--drop-outside")
    assert p.returncode == 0, p.stderr
    doc = json.loads((out / "proposals.json").read_text())
    m = doc["metrics"]
    assert m["num_videos"] == 1 and m["num_ground_truth"] == 2 and m["num_proposals"] == 3
    assert len(m["average_recall"]) == 100 and m["avg_nr_proposals"][-1] == pytest.approx(2)
    # a keeps int(3 * 2/3) = 2 proposals: (0,10) and (0.5,11); at AN 2 both are seen:
    # g1 recalled at every threshold, g2 = (2,12) only while 0.783 >= t (6 of 10)
    # at AN 1 only (0,10) is seen: g2 has tIoU 8/12 with it, recalled at 0.50..0.65
    assert m["ar_at"]["1"] == pytest.approx((10 + 4) / 20)
    assert m["average_recall"][-1] == pytest.approx((10 + 6) / 20)
    assert "AUC" in p.stdout and (out / "proposals.png").read_bytes()[:8] == PNG
    # AN runs 0.02..2 here: AR@5 and beyond are not on the curve; AR@max is AR at AN 2
    assert m["ar_at"]["5"] is None and m["ar_at"]["100"] is None
    assert m["ar_at"]["max"] == pytest.approx(16 / 20) and m["max_avg_nr_proposals"] == 2
    table = dict(line.rsplit(None, 1) for line in p.stdout.splitlines()
                 if line.startswith(("AR@", "AUC")))
    assert table["AR@1"] == "70.00" and table["AR@5"] == "-"
    assert table["AR@max (AN 2)"] == "80.00"
    assert set(table) == {"AR@1", "AR@5", "AR@10", "AR@50", "AR@100", "AR@max (AN 2)", "AUC"}
    # default, as the reference: the outside proposal counts in the total (4), so ratio
    # 2 * 1 / 4 = 0.5 and a keeps int(3 * 0.5) = 1 proposal, (0,10): AR 14/20 from AN 1 on
    p = run("proposals", "--ground-truth", str(files / "gt.json"), "--proposals",
            str(files / "res.json"), "--out", str(out), "--max-avg-proposals", "2",
            "--blocked", str(files / "blocked.txt"), "--no-plot")
    assert p.returncode == 0, p.stderr
    m = json.loads((out / "proposals.json").read_text())["metrics"]
    assert m["num_proposals"] == 4 and m["num_proposals_kept"] == 1
    assert m["ar_at"]["1"] == pytest.approx(14 / 20)
    assert m["average_recall"][-1] == pytest.approx(14 / 20)


def test_proposals_table_lists_every_standard_point(files):
    # the default maximum, 100: AN = k for k = 1..100, every standard point is on the curve.
    # 4 proposals over 1 evaluated video (b blocked): ratio 100 / 4, a keeps its 3; at AN k it
    # looks at min(k, 3). AN 1: (0,10) only: g1 at 10 thresholds, g2 (tIoU 8/12) at 4 ->
    # 14/20; from AN 3 on (2,12) recalls g2 everywhere: AR 1
    out = files / "out"
    p = run("proposals", "--ground-truth", str(files / "gt.json"), "--proposals",
            str(files / "res.json"), "--out", str(out), "--blocked", str(files / "blocked.txt"),
            "--no-plot")
    assert p.returncode == 0, p.stderr
    m = json.loads((out / "proposals.json").read_text())["metrics"]
    assert set(m["ar_at"]) == {"1", "5", "10", "50", "100", "max"}
    assert m["ar_at"]["1"] == pytest.approx(14 / 20)
    assert m["ar_at"]["5"] == m["ar_at"]["100"] == m["ar_at"]["max"] == 1.0
    assert "AR@max (AN 100)" in p.stdout and "AR@50" in p.stdout


def test_classification_command(tmp_path):
    (tmp_path / "clips.csv").write_text(
        "classname,youtube_id,subset,start,end,label\n"
        "A,v1,validation,0,2,1\nA,v1,validation,2,4,1\nB,v2,validation,0,2,1\n"
        "B,v9,training,0,2,1\nB,v9,training,2,4,1\nA,v8,training,0,2,1\n")
    (tmp_path / "preds.csv").write_text(
        "clip_id,A,B\nv1_000000000_000002000,0.9,0.1\nv1_000002000_000004000,0.2,0.8\n"
        "v2_000000000_000002000,0.3,0.7\n")
    out = tmp_path / "out"
    p = run("classification", "--labels", str(tmp_path / "clips.csv"), "--predictions",
            str(tmp_path / "preds.csv"), "--out", str(out), "--k", "1",
            "--rank-labels", str(tmp_path / "clips.csv"))
    assert p.returncode == 0, p.stderr
    m = json.loads((out / "classification.json").read_text())["metrics"]
    assert m["top1"] == pytest.approx(2 / 3) and m["top5"] == pytest.approx(1.0)
    assert m["mean_class_accuracy"] == pytest.approx(0.75)
    # ranked by training counts: B (2) before A (1)
    assert m["top_classes"]["classes"] == ["B"] and m["bottom_classes"]["classes"] == ["A"]
    assert m["confusions"] == [{"true": "A", "predicted": "B", "clips": 1}]
    assert (out / "classification.png").read_bytes()[:8] == PNG
    assert "mean per-class" in p.stdout


def test_bad_input_exit_status(files):
    (files / "broken.json").write_text('{"results": []}')
    p = run("detection", "--ground-truth", str(files / "gt.json"),
            "--detections", str(files / "broken.json"), "--out", str(files / "out"))
    assert p.returncode == 2 and "error:" in p.stderr and "'results'" in p.stderr
    p = run("proposals", "--ground-truth", str(files / "gt.json"), "--proposals",
            str(files / "res.json"), "--out", str(files / "out"), "--strict")
    assert p.returncode == 2 and "reversed_segment" in p.stderr
    p = run("proposals", "--ground-truth", str(files / "gt.json"), "--proposals",
            str(files / "res.json"), "--subset", "testing", "--out", str(files / "out"))
    assert p.returncode == 2 and "no video in subset" in p.stderr
