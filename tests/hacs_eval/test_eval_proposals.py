"""AR@AN / AUC on hand-computed cases, one ActivityNet rule per test."""

import numpy as np
import pytest
from eval_helpers import gt_doc, load, results_doc

from hacs_eval.formats import Issues, parse_ground_truth, parse_results
from hacs_eval.proposals import average_recall_vs_avg_nr_proposals
from hacs_eval.tiou import ACTIVITYNET_TIOU, THUMOS14_TIOU, parse_thresholds, tiou_pairs


def test_tiou_values():
    pred = np.array([[0.0, 10.0], [5.0, 15.0], [20.0, 30.0], [0.0, 5.0]])
    gt = np.array([[0.0, 10.0]])
    # identical, half-shifted (5 / 15), disjoint, contained (5 / 10)
    np.testing.assert_allclose(tiou_pairs(pred, np.repeat(gt, 4, axis=0)),
                               [1.0, 1 / 3, 0.0, 0.5])


def test_threshold_specs():
    np.testing.assert_allclose(parse_thresholds("activitynet"), np.arange(10) * 0.05 + 0.5)
    np.testing.assert_allclose(parse_thresholds("thumos14"), [0.3, 0.4, 0.5, 0.6, 0.7])
    np.testing.assert_allclose(parse_thresholds("0.3:0.1:0.7"), THUMOS14_TIOU)
    np.testing.assert_allclose(parse_thresholds("0.5,0.75"), [0.5, 0.75])
    with pytest.raises(ValueError):
        parse_thresholds("0:0.1:1")
    with pytest.raises(ValueError):
        parse_thresholds("half")


def test_truncation_rule_hand_computed():
    # 2 videos, 6 proposals, max average 1.5: ratio = 1.5 * 2 / 6 = 0.5, so video a keeps
    # int(4 * 0.5) = 2 and video b int(2 * 0.5) = 1 of its best-scored proposals (kept = 3).
    gt = gt_doc({"a": [("x", 0, 10)], "b": [("x", 0, 10)]})
    props = results_doc({
        "a": [(20, 30, 0.9), (0, 10, 0.8), (0, 10, 0.7), (40, 50, 0.1)],
        "b": [(0, 5, 0.9), (0, 10, 0.1)],  # (0, 10) is truncated away: b reaches only 0.5
    })
    truth, p = load(gt, props, with_labels=False)
    r = average_recall_vs_avg_nr_proposals(truth.segments, p, max_avg_nr_proposals=1.5)
    assert r.num_proposals == 6 and r.num_proposals_kept == 3
    # pcn[k] = k/100 * (1.5 * 2 / 3); a looks at int(2 k/100) proposals, b at int(k/100):
    # only at k = 100 does a see its 2nd proposal (tIoU 1) and b its 1st (tIoU exactly 0.5).
    np.testing.assert_allclose(r.avg_nr_proposals, 1.5 * np.arange(1, 101) / 100)
    assert np.all(r.recall[:, :99] == 0)
    np.testing.assert_allclose(r.recall[:, 99], [1.0] + [0.5] * 9)
    assert r.average_recall[99] == pytest.approx(0.55)
    # trapezoid: only the last interval (1.485 -> 1.5) has area, 0.015 * 0.55 / 2
    assert r.auc == pytest.approx(100 * 0.015 * 0.55 / 2 / 1.5)
    assert r.ar_at(1.5) == pytest.approx(0.55)
    assert r.ar_at(2) is None


def test_default_max_is_the_given_average():
    gt = gt_doc({"a": [("x", 0, 10)], "b": [("x", 0, 10)]})
    props = results_doc({"a": [(0, 10, 0.9), (20, 30, 0.5)], "b": [(50, 60, 0.9)]})
    truth, p = load(gt, props, with_labels=False)
    r = average_recall_vs_avg_nr_proposals(truth.segments, p, max_avg_nr_proposals=None)
    # max = 3 / 2, ratio 1, everything kept; a: w=2, looks at int(2 k/100) -> k >= 50
    assert r.num_proposals_kept == 3
    assert r.avg_nr_proposals[-1] == pytest.approx(1.5)
    assert r.average_recall[48] == 0 and r.average_recall[49] == pytest.approx(0.5)
    assert r.average_recall[-1] == pytest.approx(0.5)  # b is never recalled


def test_ranking_by_score_and_recall_pooled_over_segments():
    # a has 2 ground-truth segments, b one; max average 1 -> ratio 1 * 2 / 2 = 1
    gt = gt_doc({"a": [("x", 0, 10), ("x", 20, 30)], "b": [("x", 0, 10)]})
    props = results_doc({"a": [(20, 30, 0.2), (0, 10, 0.9)], "b": []})
    truth, p = load(gt, props, with_labels=False)
    r = average_recall_vs_avg_nr_proposals(truth.segments, p, max_avg_nr_proposals=1)
    # a keeps int(2 * 1) = 2 proposals, (0, 10) first by score; pcn = k/100 * (1 * 2 / 2)
    # so a looks at int(2 k / 100): 1 from k=50, 2 at k=100. b has no proposals.
    assert r.average_recall[49] == pytest.approx(1 / 3)
    assert r.average_recall[99] == pytest.approx(2 / 3)
    assert r.average_recall[48] == 0


def test_threshold_is_inclusive_and_thresholds_change_recall():
    gt = gt_doc({"a": [("x", 0, 10)]})
    props = results_doc({"a": [(0, 5, 1.0)]})  # tIoU exactly 0.5
    truth, p = load(gt, props, with_labels=False)
    anet = average_recall_vs_avg_nr_proposals(truth.segments, p, 1, ACTIVITYNET_TIOU)
    np.testing.assert_allclose(anet.recall[:, -1], [1] + [0] * 9)
    thumos = average_recall_vs_avg_nr_proposals(truth.segments, p, 1, THUMOS14_TIOU)
    np.testing.assert_allclose(thumos.recall[:, -1], [1, 1, 1, 0, 0])


def test_outside_videos_counted_by_default_ignored_with_drop_outside():
    gt = gt_doc({"a": [("x", 0, 10)]})
    props = results_doc({"a": [(30, 40, 0.9), (0, 10, 0.5)],
                         "z": [(0, 10, 0.9), (0, 10, 0.8)]})
    truth = parse_ground_truth(gt, "validation")
    issues = Issues()
    # as the reference: 4 proposals -> ratio 2 * 1 / 4 = 0.5 -> a keeps only its wrong best
    p = parse_results(props, truth, with_labels=False, issues=issues)
    assert issues.counts["video_outside_subset"] == 1 and len(p) == 4
    ref = average_recall_vs_avg_nr_proposals(truth.segments, p, 2)
    assert ref.num_proposals == 4 and ref.num_proposals_kept == 1 and ref.ar_at(2) == 0.0
    dropped = parse_results(props, truth, with_labels=False, drop_outside=True)
    r = average_recall_vs_avg_nr_proposals(truth.segments, dropped, 2)
    assert r.num_proposals_kept == 2 and r.ar_at(2) == 1.0


def test_equal_scores_reference_keeps_the_later_proposal():
    # a: (30, 40) then (0, 10), both 0.5; max 1 per video: ratio 1 * 1 / 2 -> one kept.
    # reference: argsort()[::-1] of [0.5, 0.5] is [1, 0]: (0, 10) kept, AR@1 = 1.
    # file-order: (30, 40) kept, AR@1 = 0
    truth, p = load(gt_doc({"a": [("x", 0, 10)]}),
                    results_doc({"a": [(30, 40, 0.5), (0, 10, 0.5)]}), with_labels=False)
    assert average_recall_vs_avg_nr_proposals(truth.segments, p, 1).ar_at(1) == 1.0
    assert average_recall_vs_avg_nr_proposals(truth.segments, p, 1,
                                              tie_break="file-order").ar_at(1) == 0.0


def test_degenerate_inputs_raise():
    truth, p = load(gt_doc({"a": [("x", 0, 10)]}), results_doc({"a": []}), with_labels=False)
    with pytest.raises(ValueError, match="no proposals"):
        average_recall_vs_avg_nr_proposals(truth.segments, p)
    truth, p = load(gt_doc({"a": [("x", 0, 10)], "b": [("x", 0, 1)]}),
                    results_doc({"a": [(0, 1, 0.5)]}), with_labels=False)
    with pytest.raises(ValueError, match="truncation"):
        average_recall_vs_avg_nr_proposals(truth.segments, p, max_avg_nr_proposals=0.4)


def test_given_average_truncates_in_floating_point():
    # --max-avg-proposals 0: max = 61 / 7, ratio = (61 / 7) * 7 / 61 = 0.9999999999999999 in
    # doubles, so a video with 9 proposals keeps int(8.999999999999998) = 8 and the one with 7
    # keeps 6: 54 of 61. Each video's only hit is its lowest-scored proposal, cut away.
    counts = [9, 9, 9, 9, 9, 9, 7]
    gt = gt_doc({f"v{i}": [("x", 0, 10)] for i in range(7)})
    props = results_doc({f"v{i}": [(20, 30, 0.9)] * (n - 1) + [(0, 10, 0.1)]
                         for i, n in enumerate(counts)})
    truth, p = load(gt, props, with_labels=False)
    given = average_recall_vs_avg_nr_proposals(truth.segments, p, max_avg_nr_proposals=None)
    assert given.num_proposals == 61 and given.num_proposals_kept == 54
    assert given.average_recall.max() == 0
    # a whole-number maximum above the average: ratio = 9 * 7 / 61 > 1, nothing is cut;
    # pcn[k] = k/100 * 63/61, so a video with w proposals sees all w (its hit last) once
    # k/100 * 63/61 >= 1, i.e. from k = 97 (0.96 * 63/61 = 0.991, 0.97 * 63/61 = 1.002)
    explicit = average_recall_vs_avg_nr_proposals(truth.segments, p, max_avg_nr_proposals=9)
    assert explicit.num_proposals_kept == 61
    assert explicit.average_recall[95] == 0 and explicit.average_recall[96] == 1.0
