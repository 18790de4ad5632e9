"""Detection mAP on hand-computed cases, plus hypothesis properties."""

import numpy as np
import pytest
from eval_helpers import gt_doc, load, results_doc
from hypothesis import given, settings
from hypothesis import strategies as st

from hacs_eval.detection import interpolated_ap, match_detections, mean_average_precision
from hacs_eval.formats import Segments
from hacs_eval.tiou import THUMOS14_TIOU


def test_interpolated_ap_envelope():
    # precision 1, 0.5, 2/3 at recall 0.5, 0.5, 1: envelope 1, 2/3, 2/3 -> 0.5 + 0.5 * 2/3
    assert interpolated_ap(np.array([1, 0.5, 2 / 3]), np.array([0.5, 0.5, 1.0])) == \
        pytest.approx(0.5 + 1 / 3)
    # recall never reaches 1: the missing part counts 0
    assert interpolated_ap(np.array([1.0]), np.array([0.25])) == pytest.approx(0.25)
    # a late true positive lifts earlier precision (monotone envelope)
    assert interpolated_ap(np.array([0.0, 0.5]), np.array([0.0, 1.0])) == pytest.approx(0.5)


def test_locked_ground_truth_goes_to_next_best():
    # g1 = (0, 10), g2 = (2, 12). p2 = (0.5, 11) overlaps g1 by 9.5/11 = 0.864 and g2 by
    # 9/11.5 = 0.783. p1 takes g1; p2 then takes g2 where 0.783 >= t (g1 is locked), which
    # leaves p3 = g2 without a match: tp = [1, 1, 0] -> AP 1.0. Above 0.783, p2 is a false
    # positive and p3 matches g2: tp = [1, 0, 1] -> AP 0.5 + 0.5 * 2/3.
    gt = gt_doc({"a": [("x", 0, 10), ("x", 2, 12)]})
    res = results_doc({"a": [("x", 0, 10, 0.9), ("x", 0.5, 11, 0.8), ("x", 2, 12, 0.7)]})
    truth, preds = load(gt, res, with_labels=True)
    r = mean_average_precision(truth.segments, preds)
    expected = [1.0] * 6 + [0.5 + 1 / 3] * 4  # thresholds 0.50..0.75 | 0.80..0.95
    np.testing.assert_allclose(r.mean_ap, expected)
    assert r.average_mean_ap == pytest.approx((6 + 4 * (0.5 + 1 / 3)) / 10)
    order, tp = match_detections(truth.segments, preds)
    assert list(order) == [0, 1, 2]
    assert tp[:, 0].tolist() == [True, True, False]
    assert tp[:, -1].tolist() == [True, False, True]


def test_duplicate_detection_is_false_positive():
    gt = gt_doc({"a": [("x", 0, 10)]})
    res = results_doc({"a": [("x", 0, 10, 0.9), ("x", 0, 10, 0.8)]})
    truth, preds = load(gt, res, with_labels=True)
    r = mean_average_precision(truth.segments, preds)
    np.testing.assert_allclose(r.ap[:, 0], 1.0)  # tp then fp: recall reached at precision 1
    res = results_doc({"a": [("x", 0, 10, 0.8), ("x", 50, 60, 0.9)]})
    truth, preds = load(gt, res, with_labels=True)
    np.testing.assert_allclose(mean_average_precision(truth.segments, preds).ap[:, 0], 0.5)


def test_equal_scores_reference_ranks_the_later_prediction_first():
    # file order: p0 = miss (50, 60), p1 = hit (0, 10), both 0.5. The reference's
    # argsort()[::-1] over [0.5, 0.5]: ascending [0, 1], reversed [1, 0] -> hit first:
    # tp [1, 0], precision [1, 0.5], recall [1, 1] -> AP 1. file-order: miss first:
    # tp [0, 1], precision [0, 0.5], recall [0, 1] -> AP 0.5
    gt = gt_doc({"a": [("x", 0, 10)]})
    res = results_doc({"a": [("x", 50, 60, 0.5), ("x", 0, 10, 0.5)]})
    truth, preds = load(gt, res, with_labels=True)
    assert mean_average_precision(truth.segments, preds).average_mean_ap == pytest.approx(1.0)
    assert mean_average_precision(truth.segments, preds, tie_break="file-order"
                                  ).average_mean_ap == pytest.approx(0.5)


def test_equal_scores_across_videos_follow_reversed_file_order():
    # one class over two videos, file order a then b: a's hit, b's miss, both 0.5.
    # reference: b's miss first: tp [0, 1], recall [0, 0.5], precision [0, 0.5] -> AP 0.25.
    # file-order: a's hit first: tp [1, 0], recall [0.5, 0.5], precision [1, .5] -> AP 0.5
    gt = gt_doc({"a": [("x", 0, 10)], "b": [("x", 0, 10)]})
    res = results_doc({"a": [("x", 0, 10, 0.5)], "b": [("x", 20, 30, 0.5)]})
    truth, preds = load(gt, res, with_labels=True)
    np.testing.assert_allclose(mean_average_precision(truth.segments, preds).mean_ap, 0.25)
    np.testing.assert_allclose(
        mean_average_precision(truth.segments, preds, tie_break="file-order").mean_ap, 0.5)
    # scores 0.5, 0.9, 0.5, 0.5 in file order: 0.9 first, then the tied rows 3, 2, 0
    # (reference) or 0, 2, 3 (file order)
    res = results_doc({"a": [("x", 0, 1, 0.5), ("x", 0, 2, 0.9), ("x", 0, 3, 0.5),
                             ("x", 0, 4, 0.5)]})
    truth, preds = load(gt, res, with_labels=True)
    assert match_detections(truth.segments, preds)[0].tolist() == [1, 3, 2, 0]
    assert match_detections(truth.segments, preds, tie_break="file-order")[0].tolist() == \
        [1, 0, 2, 3]


def test_equal_tiou_reference_takes_the_later_ground_truth():
    # g0 = (0, 10), g1 = (4, 14); p1 = (2, 12) has tIoU 8/12 = 0.667 with both (exactly
    # equal in floating point); p2 = (4, 14) has 1.0 with g1 and 6/14 = 0.43 with g0.
    # reference (tiou argsort()[::-1]): p1 takes g1 at t <= 0.65; p2 finds g1 locked and g0
    # below 0.5: tp [1, 0], recall [0.5, 0.5] -> AP 0.5. file-order: p1 takes g0, p2 takes g1:
    # AP 1. At t >= 0.70 p1 misses and p2 takes g1 in both: tp [0, 1], AP 0.5 * 0.5 = 0.25
    gt = gt_doc({"a": [("x", 0, 10), ("x", 4, 14)]})
    res = results_doc({"a": [("x", 2, 12, 0.9), ("x", 4, 14, 0.8)]})
    truth, preds = load(gt, res, with_labels=True)
    np.testing.assert_allclose(mean_average_precision(truth.segments, preds).mean_ap,
                               [0.5] * 4 + [0.25] * 6)
    np.testing.assert_allclose(
        mean_average_precision(truth.segments, preds, tie_break="file-order").mean_ap,
        [1.0] * 4 + [0.25] * 6)


def test_classes_videos_and_missing_predictions():
    # class y has ground truth but no prediction: AP 0, still in the mean.
    # The x prediction in video b (no x ground truth there) is a false positive.
    gt = gt_doc({"a": [("x", 0, 10), ("y", 20, 30)], "b": [("y", 0, 5)]})
    res = results_doc({"a": [("x", 0, 10, 0.5)], "b": [("x", 0, 10, 0.9)]})
    truth, preds = load(gt, res, with_labels=True)
    r = mean_average_precision(truth.segments, preds)
    assert r.label_names == ("x", "y")
    np.testing.assert_allclose(r.ap[:, 0], 0.5)
    np.testing.assert_allclose(r.ap[:, 1], 0.0)
    assert r.average_mean_ap == pytest.approx(0.25)
    assert r.num_ground_truth.tolist() == [1, 2] and r.num_predictions.tolist() == [2, 0]


def test_thumos_thresholds():
    gt = gt_doc({"a": [("x", 0, 10)]})
    res = results_doc({"a": [("x", 0, 6, 0.9)]})  # tIoU 0.6
    truth, preds = load(gt, res, with_labels=True)
    r = mean_average_precision(truth.segments, preds, THUMOS14_TIOU)
    np.testing.assert_allclose(r.mean_ap, [1, 1, 1, 1, 0])


def test_outside_subset_detections_are_false_positives_unless_dropped():
    # zz is not in the subset: the reference finds no ground truth for it (fp = 1). Ranked:
    # zz 0.9 (fp), a 0.5 (tp): precision [0, 0.5], recall [0, 1] -> AP 0.5. Dropped: AP 1.
    # A video of another subset is outside too (tr is training).
    gt = gt_doc({"a": [("x", 0, 10)]})
    gt["database"]["tr"] = {"subset": "training", "annotations": [
        {"label": "x", "segment": [0, 10]}]}
    res = results_doc({"a": [("x", 0, 10, 0.5)], "zz": [("x", 0, 10, 0.9)]})
    truth, preds = load(gt, res, with_labels=True)
    assert mean_average_precision(truth.segments, preds).average_mean_ap == pytest.approx(0.5)
    truth, preds = load(gt, res, with_labels=True, drop_outside=True)
    assert mean_average_precision(truth.segments, preds).average_mean_ap == 1.0
    res = results_doc({"a": [("x", 0, 10, 0.5)], "tr": [("x", 0, 10, 0.4), ("x", 0, 9, 0.6)]})
    truth, preds = load(gt, res, with_labels=True)
    # ranked: tr 0.6 (fp), a 0.5 (tp), tr 0.4 (fp): precision [0, .5, 1/3] -> AP 0.5
    assert mean_average_precision(truth.segments, preds).average_mean_ap == pytest.approx(0.5)


def test_labels_outside_ground_truth_rejected():
    truth, preds = load(gt_doc({"a": [("x", 0, 10)]}), results_doc({"a": []}), True)
    bad = Segments(videos=("a",), video=np.array([0]), segments=np.array([[0.0, 1.0]]),
                   label=np.array([-1]), score=np.array([1.0]), label_names=("x",))
    with pytest.raises(ValueError, match="labels outside"):
        mean_average_precision(truth.segments, bad)


segment = st.tuples(st.floats(0, 100, allow_nan=False), st.floats(0.5, 30, allow_nan=False))
video = st.lists(st.tuples(st.sampled_from("abc"), segment), min_size=1, max_size=5)
ground_truths = st.dictionaries(st.sampled_from([f"v{i}" for i in range(6)]), video,
                                min_size=1, max_size=6)


def _docs(gts, scores_seed):
    rng = np.random.default_rng(scores_seed)
    gt = gt_doc({v: [(lab, s, s + d) for lab, (s, d) in anns] for v, anns in gts.items()})
    perfect = {v: [(lab, s, s + d, float(rng.random())) for lab, (s, d) in anns]
               for v, anns in gts.items()}
    return gt, perfect


@settings(max_examples=60, deadline=None)
@given(ground_truths, st.integers(0, 2**32 - 1))
def test_perfect_predictions_score_one(gts, seed):
    gt, perfect = _docs(gts, seed)
    truth, preds = load(gt, results_doc(perfect), with_labels=True)
    r = mean_average_precision(truth.segments, preds)
    np.testing.assert_allclose(r.mean_ap, 1.0)


@settings(max_examples=60, deadline=None)
@given(ground_truths, st.integers(0, 2**32 - 1), st.sampled_from("abc"),
       st.floats(0, 0.99), segment)
def test_false_positive_at_top_never_increases_map(gts, seed, label, jitter, fp_segment):
    gt, perfect = _docs(gts, seed)
    rng = np.random.default_rng(seed + 1)
    # degrade: shift some predictions so that the base mAP is not trivially 1
    noisy = {v: [(lab, s + jitter * (e - s) * rng.integers(0, 2), e, sc)
                 for lab, s, e, sc in rows] for v, rows in perfect.items()}
    truth, preds = load(gt, results_doc(noisy), with_labels=True)
    if label not in truth.label_names:
        label = truth.label_names[0]
    base = mean_average_precision(truth.segments, preds)
    # a prediction in a video with no ground truth is a false positive at every threshold
    noisy["fp_video"] = [(label, fp_segment[0], fp_segment[0] + fp_segment[1], 2.0)]
    gt["database"]["fp_video"] = {"subset": "validation", "annotations": []}
    truth2, preds2 = load(gt, results_doc(noisy), with_labels=True)
    worse = mean_average_precision(truth2.segments, preds2)
    assert np.all(worse.mean_ap <= base.mean_ap + 1e-12)
    assert worse.average_mean_ap <= base.average_mean_ap + 1e-12
