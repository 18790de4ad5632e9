"""The ActivityNet sample-prediction shape (every score 1.0, so the whole ranking is the tie
order) against a second, literal implementation written in this test from the reference's
written rules: per class (detection) or per video (proposals), ``np.argsort(scores)[::-1]``
over the rows in file order, then one greedy loop per prediction."""

import numpy as np
import pytest

from hacs_eval.detection import mean_average_precision
from hacs_eval.formats import parse_ground_truth, parse_results
from hacs_eval.proposals import average_recall_vs_avg_nr_proposals
from hacs_eval.tiou import ACTIVITYNET_TIOU


def sample_shape(seed: int) -> tuple[dict, dict]:
    """Ground truth of 30 validation videos (3 classes) and results with score 1.0 for
    every entry: jittered copies of the ground truth, random segments, duplicates, and two
    videos that are not in the subset."""
    rng = np.random.default_rng(seed)
    labels = ["a", "b", "c"]
    database, results = {}, {}
    for v in range(32):
        anns = []
        for _ in range(rng.integers(1, 4)):
            s = float(rng.integers(0, 60))
            anns.append({"label": str(rng.choice(labels)),
                         "segment": [s, s + float(rng.integers(2, 30))]})
        if v < 30:
            database[f"v{v}"] = {"subset": "validation", "duration": 100.0,
                                 "annotations": anns}
        rows = []
        for _ in range(rng.integers(2, 12)):
            a = anns[rng.integers(len(anns))]
            s = a["segment"][0] + float(rng.integers(-3, 4))
            e = max(a["segment"][1] + float(rng.integers(-3, 4)), s + 1)
            if rng.random() < 0.3:
                s = float(rng.integers(0, 80))
                e = s + float(rng.integers(1, 20))
            rows.append({"label": a["label"] if rng.random() < 0.8 else str(rng.choice(labels)),
                         "score": 1.0, "segment": [s, e]})
        results[f"v{v}"] = rows
    return {"database": database}, {"results": results}


def tiou(seg, others):
    inter = (np.minimum(seg[1], others[:, 1]) - np.maximum(seg[0], others[:, 0])).clip(0)
    return inter / ((others[:, 1] - others[:, 0]) + (seg[1] - seg[0]) - inter)


def literal_detection_map(gt_json: dict, res_json: dict) -> np.ndarray:
    """mAP per threshold: per class, predictions of every video in file order (none
    dropped), ranked by ``argsort()[::-1]``; each takes the unlocked ground truth of its
    video in ``argsort()[::-1]`` tIoU order while tIoU >= t."""
    gt_rows = [(vid, ann["label"], ann["segment"]) for vid, entry in gt_json["database"].items()
               for ann in entry["annotations"]]
    labels = sorted({r[1] for r in gt_rows})
    ap = np.zeros((ACTIVITYNET_TIOU.size, len(labels)))
    for c, label in enumerate(labels):
        truth = [(vid, np.array(seg, float)) for vid, lab, seg in gt_rows if lab == label]
        preds = [(vid, r["score"], np.array(r["segment"], float))
                 for vid, rows in res_json["results"].items() for r in rows
                 if r["label"] == label]
        order = np.array([p[1] for p in preds]).argsort()[::-1]
        for t, thr in enumerate(ACTIVITYNET_TIOU):
            locked = set()
            tp = []
            for i in order:
                vid, _, seg = preds[i]
                mine = [g for g, (v, _) in enumerate(truth) if v == vid]
                hit = False
                if mine:
                    overlaps = tiou(seg, np.array([truth[g][1] for g in mine]))
                    for j in overlaps.argsort()[::-1]:
                        if overlaps[j] < thr:
                            break
                        if mine[j] in locked:
                            continue
                        locked.add(mine[j])
                        hit = True
                        break
                tp.append(hit)
            tp = np.array(tp, float)
            rec = np.cumsum(tp) / len(truth)
            prec = np.cumsum(tp) / np.arange(1, len(tp) + 1)
            mprec = np.concatenate([[0], prec, [0]])
            mrec = np.concatenate([[0], rec, [1]])
            for k in range(len(mprec) - 2, -1, -1):
                mprec[k] = max(mprec[k], mprec[k + 1])
            steps = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
            ap[t, c] = np.sum((mrec[steps] - mrec[steps - 1]) * mprec[steps])
    return ap.mean(axis=1)


def literal_recall_at_max(gt_json: dict, res_json: dict, max_avg: float) -> float:
    """Average recall at the curve's last point (AN = max_avg): each video keeps its
    ``int(n * ratio)`` first proposals in ``argsort()[::-1]`` order."""
    videos = list(gt_json["database"])
    total = sum(len(rows) for rows in res_json["results"].values())
    ratio = max_avg * len(videos) / total
    best = []
    for vid in videos:
        rows = res_json["results"].get(vid, [])
        order = np.array([r["score"] for r in rows]).argsort()[::-1]
        kept = [np.array(rows[i]["segment"], float) for i in order][:int(len(rows) * ratio)]
        for ann in gt_json["database"][vid]["annotations"]:
            g = np.array(ann["segment"], float)
            best.append(max((tiou(k, g[None])[0] for k in kept), default=0.0))
    best = np.array(best)
    return float(np.mean([(best >= t).mean() for t in ACTIVITYNET_TIOU]))


@pytest.mark.parametrize("seed", range(4))
def test_all_equal_scores_detection_matches_literal_reference_sort(seed):
    gt_json, res_json = sample_shape(seed)
    gt = parse_ground_truth(gt_json, "validation")
    ours = mean_average_precision(gt.segments, parse_results(res_json, gt, with_labels=True))
    expected = literal_detection_map(gt_json, res_json)
    np.testing.assert_allclose(ours.mean_ap, expected, rtol=0, atol=1e-12)
    # the file-order tie-break gives other numbers on this input
    other = mean_average_precision(gt.segments, parse_results(res_json, gt, with_labels=True),
                                   tie_break="file-order")
    assert np.abs(other.mean_ap - expected).max() > 1e-3


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("max_avg", [1, 3])
def test_all_equal_scores_proposals_match_literal_reference_sort(seed, max_avg):
    gt_json, res_json = sample_shape(seed)
    gt = parse_ground_truth(gt_json, "validation")
    props = parse_results(res_json, gt, with_labels=False)
    ours = average_recall_vs_avg_nr_proposals(gt.segments, props, max_avg)
    assert ours.average_recall[-1] == pytest.approx(
        literal_recall_at_max(gt_json, res_json, max_avg), abs=1e-12)
