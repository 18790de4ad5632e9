"""Agreement of the vectorised package with the plain per-pair loops of
``benchmarks/eval_loops.py`` (an independent implementation of the same rules) on random
data: sparse and crowded single-class ground truth, continuous and tied scores."""

import math

import numpy as np
import pytest
from eval_helpers import random_documents

from benchmarks import eval_loops as loops
from hacs_eval.detection import mean_average_precision
from hacs_eval.formats import parse_ground_truth, parse_results
from hacs_eval.proposals import average_recall_vs_avg_nr_proposals
from hacs_eval.tiou import ACTIVITYNET_TIOU, THUMOS14_TIOU


def with_ties(gt_json: dict, res_json: dict, rng: np.random.Generator) -> None:
    """Make ties frequent, in place: scores rounded to one decimal, times to whole seconds
    (segments stay at least 1 s long), and some ground-truth segments duplicated, so equal
    tIoU with two unmatched segments happens."""
    for entry in gt_json["database"].values():
        for ann in entry["annotations"]:
            start = math.floor(ann["segment"][0])
            ann["segment"] = [start, max(math.ceil(ann["segment"][1]), start + 1)]
        if rng.random() < 0.3:
            entry["annotations"].append(dict(entry["annotations"][0]))
    for rows in res_json["results"].values():
        for row in rows:
            row["score"] = round(row["score"], 1)
            start = math.floor(row["segment"][0])
            row["segment"] = [start, max(math.ceil(row["segment"][1]), start + 1)]


def documents(seed: int, ties: bool, **kwargs) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    gt_json, res_json = random_documents(rng, **kwargs)
    if ties:
        with_ties(gt_json, res_json, rng)
    return gt_json, res_json


TIES = [("distinct", "reference"), ("ties", "reference"), ("ties", "file-order")]


@pytest.mark.parametrize("ties, tie_break", TIES, ids=["-".join(t) for t in TIES])
@pytest.mark.parametrize("drop_outside", [False, True], ids=["with-outside", "drop-outside"])
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("max_avg", [100, 6, 2.5, None], ids=str)
def test_proposals_match_loops(seed, max_avg, drop_outside, ties, tie_break):
    gt_json, res_json = documents(seed, ties == "ties", num_videos=40, num_classes=3, max_gt=4,
                                  max_pred=25, outside=3)
    gt = parse_ground_truth(gt_json, "validation")
    props = parse_results(res_json, gt, with_labels=False, drop_outside=drop_outside)
    ours = average_recall_vs_avg_nr_proposals(gt.segments, props, max_avg,
                                              tie_break=tie_break)
    truth = loops.read_ground_truth(gt_json, "validation")
    given = loops.read_results(res_json, truth if drop_outside else None)
    curve = loops.average_recall_vs_avg_nr_proposals(truth, given, max_avg,
                                                     tie_break=tie_break)
    assert ours.num_proposals_kept == curve.num_proposals_kept
    np.testing.assert_allclose(ours.recall, curve.recall, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.average_recall, curve.average_recall, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.avg_nr_proposals, curve.avg_nr_proposals, rtol=0, atol=1e-6)
    assert ours.auc == pytest.approx(curve.auc, abs=1e-6)
    assert 0 < ours.auc < 100


@pytest.mark.parametrize("ties, tie_break", TIES, ids=["-".join(t) for t in TIES])
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("thresholds", [None, THUMOS14_TIOU], ids=["anet", "thumos"])
@pytest.mark.parametrize("num_classes, max_gt", [(5, 5), (1, 12)], ids=["sparse", "crowded"])
def test_detection_matches_loops(seed, thresholds, num_classes, max_gt, ties, tie_break):
    # "crowded": one class, up to 12 overlapping segments per video, so locked ground truth
    # and second-best matches are frequent
    gt_json, res_json = documents(100 + seed, ties == "ties", num_videos=50,
                                  num_classes=num_classes, max_gt=max_gt, max_pred=30,
                                  outside=2)
    gt = parse_ground_truth(gt_json, "validation")
    preds = parse_results(res_json, gt, with_labels=True)
    kwargs = {} if thresholds is None else {"tiou_thresholds": thresholds}
    ours = mean_average_precision(gt.segments, preds, tie_break=tie_break, **kwargs)
    loop_kwargs = {} if thresholds is None else {"thresholds": tuple(thresholds)}
    scores = loops.mean_average_precision(loops.read_ground_truth(gt_json, "validation"),
                                          loops.read_results(res_json), tie_break=tie_break,
                                          **loop_kwargs)
    assert sorted(scores.ap) == list(gt.label_names)
    np.testing.assert_allclose(ours.ap, np.array([scores.ap[name] for name in gt.label_names]).T,
                               rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.mean_ap, scores.mean_ap, rtol=0, atol=1e-6)
    assert ours.average_mean_ap == pytest.approx(scores.average_mean_ap, abs=1e-6)
    assert 0.05 < ours.average_mean_ap < 0.95


def test_loop_thresholds_are_the_package_thresholds():
    assert loops.ACTIVITYNET_THRESHOLDS == tuple(ACTIVITYNET_TIOU)


def test_loops_reproduce_hand_computed_cases():
    # the oracle itself on the hand-computed cases of test_eval_proposals / _detection
    truth = {"a": [("x", 0.0, 10.0)], "b": [("x", 0.0, 10.0)]}
    given = {"a": [(None, 0.9, 20.0, 30.0), (None, 0.8, 0.0, 10.0), (None, 0.7, 0.0, 10.0),
                   (None, 0.1, 40.0, 50.0)],
             "b": [(None, 0.9, 0.0, 5.0), (None, 0.1, 0.0, 10.0)]}
    curve = loops.average_recall_vs_avg_nr_proposals(truth, given, 1.5)
    assert curve.num_proposals_kept == 3
    assert max(curve.average_recall[:99]) == 0
    assert curve.average_recall[99] == pytest.approx(0.55)
    assert curve.auc == pytest.approx(100 * 0.015 * 0.55 / 2 / 1.5)
    # 61 proposals over 7 videos, given average: ratio 0.9999999999999999 cuts one per video
    truth = {f"v{i}": [("x", 0.0, 10.0)] for i in range(7)}
    given = {f"v{i}": [(None, 0.9, 20.0, 30.0)] * (n - 1) + [(None, 0.1, 0.0, 10.0)]
             for i, n in enumerate([9, 9, 9, 9, 9, 9, 7])}
    curve = loops.average_recall_vs_avg_nr_proposals(truth, given, None)
    assert curve.num_proposals_kept == 54 and max(curve.average_recall) == 0
    # locked ground truth: p2 takes g2 up to tIoU 0.783, above it p3 does
    truth = {"a": [("x", 0.0, 10.0), ("x", 2.0, 12.0)]}
    given = {"a": [("x", 0.9, 0.0, 10.0), ("x", 0.8, 0.5, 11.0), ("x", 0.7, 2.0, 12.0)]}
    scores = loops.mean_average_precision(truth, given)
    np.testing.assert_allclose(scores.mean_ap, [1.0] * 6 + [0.5 + 1 / 3] * 4)
    # equal scores: the reference ranks the later one (the hit) first, AP 1; file order
    # ranks the miss first, AP 0.5; a class without predictions has AP 0
    truth = {"a": [("x", 0.0, 10.0), ("y", 20.0, 30.0)]}
    given = {"a": [("x", 0.5, 50.0, 60.0), ("x", 0.5, 0.0, 10.0)]}
    scores = loops.mean_average_precision(truth, given)
    assert scores.ap["x"] == [1.0] * 10 and scores.ap["y"] == [0.0] * 10
    scores = loops.mean_average_precision(truth, given, tie_break="file-order")
    assert scores.ap["x"] == [0.5] * 10
