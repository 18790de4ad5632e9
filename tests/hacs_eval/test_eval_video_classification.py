"""Video-level classification (ActivityNet ``eval_classification.py``): hand-computed cases
and a second, literal implementation written here from the reference's rules."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from benchmarks.check_reference_video_classification import distinct_documents
from hacs_eval.formats import (
    FormatError,
    Issues,
    parse_video_labels,
    parse_video_predictions,
)
from hacs_eval.video_classification import evaluate_video_classification

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def gt_doc(videos: dict[str, tuple[str, list[str]]]) -> dict:
    """ActivityNet ground truth: video -> (subset, labels), one annotation per label."""
    return {"database": {vid: {"subset": subset, "duration": 60.0,
                               "annotations": [{"label": lab, "segment": [1.0, 5.0]}
                                               for lab in labels]}
                         for vid, (subset, labels) in videos.items()}}


def results_doc(videos: dict[str, list[tuple[str, float]]]) -> dict:
    return {"version": "VERSION 1.3", "external_data": {},
            "results": {vid: [{"label": lab, "score": s} for lab, s in rows]
                        for vid, rows in videos.items()}}


def evaluate(gt: dict, res: dict, top_k: int = 3, tie_break: str = "reference",
             drop_outside: bool = False, issues: Issues | None = None):
    truth = parse_video_labels(gt, "validation", issues=issues)
    preds = parse_video_predictions(res, truth, drop_outside=drop_outside, issues=issues)
    return evaluate_video_classification(truth, preds, top_k, tie_break)


# v1 has A twice (one pair) and B; v3 has no prediction; v4 has no class (not evaluated, its
# prediction is a false positive); t1 is a training video and x is in no subset.
GT = gt_doc({"v1": ("validation", ["A", "A", "B"]), "v2": ("validation", ["A"]),
             "v3": ("validation", ["B"]), "v4": ("validation", []),
             "t1": ("training", ["A"])})
RES = results_doc({"v1": [("A", 0.9), ("B", 0.5), ("C", 0.8)],
                   "v2": [("B", 0.7), ("A", 0.7)],
                   "v4": [("A", 0.6)], "t1": [("A", 0.95)], "x": [("B", 0.4)]})


def test_hand_computed_ap_and_outside_videos():
    issues = Issues()
    r = evaluate(GT, RES, issues=issues)
    assert r.label_names == ("A", "B")
    # A, by score: t1 .95 (FP, outside), v1 .9 (TP), v2 .7 (TP), v4 .6 (FP): precision
    # [0, 1/2, 2/3, 1/2], recall [0, 1/2, 1, 1] -> AP = 1/2 * 2/3 + 1/2 * 2/3 = 2/3.
    # B: v2 .7 (FP), v1 .5 (TP), x .4 (FP); 2 videos have B -> AP = 1/2 * 1/2 = 1/4
    assert r.ap == pytest.approx([2 / 3, 1 / 4])
    assert r.mean_ap == pytest.approx((2 / 3 + 1 / 4) / 2)
    assert list(r.num_ground_truth) == [2, 2] and list(r.num_predictions) == [4, 3]
    assert r.num_videos == 3 and r.num_videos_without_prediction == 1
    assert issues.counts["video_outside_subset"] == 2 and issues.counts["unknown_label"] == 1
    # --drop-outside: A is v1 TP, v2 TP, v4 FP -> AP 1; B is unchanged by x (last)
    r = evaluate(GT, RES, drop_outside=True)
    assert r.ap == pytest.approx([1.0, 1 / 4])


@pytest.mark.parametrize("top_k, tie_break, hit, avg", [
    # v1 top 1 = A (1 of its 2 classes); v2: A and B tie at .7, the later (A) first; v3: 0
    (1, "reference", 2 / 3, (1 / 2 + 1 + 0) / 3),
    (1, "file-order", 1 / 3, (1 / 2 + 0 + 0) / 3),
    # the unknown C (.8) takes v1's second place, so B is still out
    (2, "reference", 2 / 3, (1 / 2 + 1 + 0) / 3),
    (3, "reference", 2 / 3, (1 + 1 + 0) / 3),
], ids=["k1", "k1-file-order", "k2-unknown-takes-a-place", "k3"])
def test_hand_computed_hit_at_k(top_k, tie_break, hit, avg):
    r = evaluate(GT, RES, top_k=top_k, tie_break=tie_break)
    assert r.hit_at_k == pytest.approx(hit) and r.avg_hit_at_k == pytest.approx(avg)
    assert r.top_k == top_k


def test_tied_scores_in_ap():
    gt = gt_doc({"v1": ("validation", ["A"]), "v2": ("validation", ["B"])})
    res = results_doc({"v1": [("A", 0.5)], "v2": [("A", 0.5), ("B", 0.5)]})
    # reference: the later A (v2, FP) ranks first -> precision [0, 1/2], AP 1/2
    assert evaluate(gt, res).ap == pytest.approx([0.5, 1.0])
    assert evaluate(gt, res, tie_break="file-order").ap == pytest.approx([1.0, 1.0])


def test_repeated_label_is_a_false_positive_and_takes_a_place():
    gt = gt_doc({"v1": ("validation", ["A", "B"])})
    res = results_doc({"v1": [("A", 0.9), ("A", 0.8), ("B", 0.7)]})
    r = evaluate(gt, res, top_k=2)
    # A: TP then FP -> precision [1, 1/2], recall [1, 1] -> AP 1; top 2 = A, A -> 1 of 2
    assert r.ap == pytest.approx([1.0, 1.0])
    assert r.hit_at_k == 1.0 and r.avg_hit_at_k == 0.5


def test_class_without_predictions_has_ap_zero():
    gt = gt_doc({"v1": ("validation", ["A"]), "v2": ("validation", ["B"])})
    r = evaluate(gt, results_doc({"v1": [("A", 1.0)]}))
    assert list(r.ap) == [1.0, 0.0] and r.mean_ap == 0.5
    assert r.hit_at_k == 0.5 and r.num_videos_without_prediction == 1


def test_labels_ignore_spans_and_blocked_videos():
    doc = {"database": {
        "v1": {"subset": "validation", "annotations": [{"label": "A", "segment": [0, 1]},
                                                       {"label": "B", "segment": [5, 2]}]},
        "v2": {"subset": "validation", "annotations": [{"label": "C", "segment": [0, 1]}]},
        "v3": {"subset": "training", "annotations": [{"label": "D", "segment": [0, 1]}]}}}
    issues = Issues()
    gt = parse_video_labels(doc, "validation", blocked=["v2"], issues=issues)
    # B's span is reversed: counted, and its label still counts (the span has no part here)
    assert gt.videos == ("v1",) and gt.label_names == ("A", "B")
    assert issues.notes["blocked_video_skipped"] == 1
    assert dict(issues.counts) == {"gt_reversed_segment": 1}
    assert parse_video_labels(doc, None).label_names == ("A", "B", "C", "D")
    with pytest.raises(FormatError, match="no video in subset"):
        parse_video_labels(doc, "testing")
    # the one Segments reader: an annotation without a segment is not a Segments annotation
    doc["database"]["v3"]["annotations"].append({"label": "E"})
    with pytest.raises(FormatError, match=r"database\['v3'\] annotation 1: 'segment' must be"):
        parse_video_labels(doc, "validation")


def test_bad_predictions():
    gt = parse_video_labels(gt_doc({"v1": ("validation", ["A"])}), "validation")
    with pytest.raises(FormatError, match="'results'"):
        parse_video_predictions({"results": []}, gt)
    with pytest.raises(FormatError, match="numeric 'score'"):
        parse_video_predictions({"results": {"v1": [{"label": "A"}]}}, gt)
    with pytest.raises(FormatError, match="list of"):
        parse_video_predictions({"results": {"v1": "A"}}, gt)
    issues = Issues()
    preds = parse_video_predictions(results_doc({"v1": [("A", math.nan), ("A", 0.3)]}), gt,
                                    issues=issues)
    assert len(preds) == 1 and issues.counts["non_finite_score"] == 1
    with pytest.raises(FormatError, match="unknown_label"):
        parse_video_predictions(results_doc({"v1": [("Z", 0.3)]}), gt, issues=Issues(True))


# --- a literal implementation of eval_classification.py's rules ----------------------------


def literal_interpolated_prec_rec(prec, rec):
    mprec = np.hstack([[0], prec, [0]])
    mrec = np.hstack([[0], rec, [1]])
    for i in range(len(mprec) - 2, -1, -1):
        mprec[i] = max(mprec[i], mprec[i + 1])
    steps = [i for i in range(1, len(mrec)) if mrec[i] != mrec[i - 1]]
    return sum((mrec[i] - mrec[i - 1]) * mprec[i] for i in steps)


def literal_reference(gt_json: dict, res_json: dict, top_k: int):
    """(ap per sorted class name, hit@k, avg hit@k): ground-truth (video, label) rows of the
    subset without duplicates; every prediction of every video; per class, predictions in
    ``argsort()[::-1]`` order, each a TP when its video has the class and is not locked; per
    video, the labels of the first ``top_k`` by ``argsort()[::-1]``."""
    gt_rows = []
    for vid, entry in gt_json["database"].items():
        if entry["subset"] != "validation":
            continue
        for ann in entry["annotations"]:
            if (vid, ann["label"]) not in gt_rows:
                gt_rows.append((vid, ann["label"]))
    preds = [(vid, r["label"], r["score"]) for vid, rows in res_json["results"].items()
             for r in rows]
    ap = {}
    for label in {lab for _, lab in gt_rows}:
        truth = [vid for vid, lab in gt_rows if lab == label]
        mine = [p for p in preds if p[1] == label]
        order = np.argsort(np.array([p[2] for p in mine]), kind="stable")[::-1]
        lock, tp, fp = set(), [], []
        for i in order:
            vid = mine[i][0]
            hit = vid in truth and vid not in lock
            if hit:
                lock.add(vid)
            tp.append(1 if hit else 0)
            fp.append(0 if hit else 1)
        tp, fp = np.cumsum(tp).astype(float), np.cumsum(fp).astype(float)
        ap[label] = literal_interpolated_prec_rec(tp / (tp + fp), tp / len(truth))
    scores = []
    for vid in np.unique([vid for vid, _ in gt_rows]):
        mine = [p for p in preds if p[0] == vid]
        if not mine:
            scores.append(0.0)
            continue
        order = np.argsort(np.array([p[2] for p in mine]), kind="stable")[::-1][:top_k]
        top = [mine[i][1] for i in order]
        scores.append(np.mean([lab in top for v, lab in gt_rows if v == vid]))
    return ([ap[k] for k in sorted(ap)], float(np.mean(np.ceil(scores))),
            float(np.mean(scores)))


def random_documents(seed: int) -> tuple[dict, dict]:
    """The reference check's documents with scores on a 0.1 grid (many ties)."""
    return distinct_documents(seed, "grid")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("top_k", [1, 3, 5])
def test_agrees_with_literal_reference(seed, top_k):
    gt, res = random_documents(seed)
    truth = parse_video_labels(gt, "validation")
    r = evaluate_video_classification(truth, parse_video_predictions(res, truth), top_k)
    ap, hit, avg = literal_reference(gt, res, top_k)
    assert r.ap == pytest.approx(ap, abs=1e-12)
    assert r.mean_ap == pytest.approx(np.mean(ap), abs=1e-12)
    assert r.hit_at_k == pytest.approx(hit, abs=1e-12)
    assert r.avg_hit_at_k == pytest.approx(avg, abs=1e-12)


def test_command(tmp_path):
    (tmp_path / "gt.json").write_text(json.dumps(GT))
    (tmp_path / "res.json").write_text(json.dumps(RES))
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=ROOT)

    def run(*args):
        return subprocess.run([sys.executable, "-m", "hacs_eval", "video-classification",
                               "--ground-truth", str(tmp_path / "gt.json"), "--out", str(out),
                               *args], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120)

    p = run("--predictions", str(tmp_path / "res.json"), "--top-k", "1")
    assert p.returncode == 0, p.stderr
    doc = json.loads((out / "video-classification.json").read_text())
    m = doc["metrics"]
    assert m["mAP"] == pytest.approx(11 / 24) and m["hit_at_k"] == pytest.approx(2 / 3)
    assert m["per_class"]["B"] == {"ap": 0.25, "num_videos": 2, "num_predictions": 3}
    assert doc["options"]["tie_break"] == "reference" and not doc["options"]["drop_outside"]
    assert (out / "video-classification.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "hit@1" in p.stdout and "2 x video_outside_subset" in p.stderr
    (tmp_path / "bad.json").write_text('{"results": {"v1": [{"label": "A"}]}}')
    p = run("--predictions", str(tmp_path / "bad.json"), "--no-plot")
    assert p.returncode == 2 and "error:" in p.stderr and "score" in p.stderr
