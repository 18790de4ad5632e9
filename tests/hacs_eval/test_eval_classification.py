"""Clip classification metrics on a hand-computed case."""

import pytest

from hacs_eval.classification import classification_accuracy, plot_per_class
from hacs_eval.formats import ClipPrediction, ClipTarget, Issues

LABELS = [ClipTarget(c, lab, "validation") for c, lab in
          [("a1", "A"), ("a2", "A"), ("a3", "A"), ("b1", "B"), ("b2", "B"), ("c1", "C")]]
PREDS = [
    ClipPrediction("a1", ("A", "B", "C"), True),
    ClipPrediction("a2", ("B", "A", "C"), True),   # A wrong at top-1, right at top-5
    ClipPrediction("a3", ("A", "C", "B"), True),
    ClipPrediction("b1", ("A", "B", "C"), True),   # B confused with A
    ClipPrediction("b2", ("B", "A", "C"), True),
    ClipPrediction("zz", ("A",), True),            # not a labelled clip
]                                                  # c1 has no prediction


def test_hand_computed_accuracies():
    issues = Issues()
    r = classification_accuracy(LABELS, PREDS, k=2, issues=issues)
    assert r.num_clips == 6 and r.num_predicted == 5
    assert r.top1 == pytest.approx(3 / 6)
    assert r.top5 == pytest.approx(5 / 6)
    assert [(s.label, s.clips, s.correct) for s in r.per_class] == [
        ("A", 3, 2), ("B", 2, 1), ("C", 1, 0)]
    assert [s.top1 for s in r.per_class] == pytest.approx([2 / 3, 1 / 2, 0])
    assert r.mean_class_accuracy == pytest.approx((2 / 3 + 1 / 2) / 3)
    assert r.top_classes.classes == ("A", "B")
    assert r.top_classes.mean_class_accuracy == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert r.top_classes.clip_accuracy == pytest.approx(3 / 5)
    assert r.bottom_classes.classes == ("B", "C")
    assert r.bottom_classes.mean_class_accuracy == pytest.approx(0.25)
    assert r.bottom_classes.clip_accuracy == pytest.approx(1 / 3)
    assert r.confusions == (("A", "B", 1), ("B", "A", 1))
    assert (r.per_class[0].confused_with, r.per_class[0].confused_count) == ("B", 1)
    assert r.per_class[2].confused_with is None
    assert dict(issues.counts) == {"prediction_for_unknown_clip": 1,
                                   "clip_without_prediction": 1}


def test_ranking_by_other_counts_and_k_clamped():
    r = classification_accuracy(LABELS, PREDS, k=1, rank_counts={"C": 10, "B": 5, "A": 1})
    assert [s.label for s in r.per_class] == ["C", "B", "A"]
    assert r.top_classes.classes == ("C",) and r.top_classes.mean_class_accuracy == 0
    assert r.bottom_classes.classes == ("A",)
    assert r.bottom_classes.mean_class_accuracy == pytest.approx(2 / 3)
    assert classification_accuracy(LABELS, PREDS, k=50).top_classes.classes == ("A", "B", "C")


def test_top_label_only_and_unknown_labels():
    preds = [ClipPrediction(c.clip_id, ("A",), False) for c in LABELS[:5]]
    preds.append(ClipPrediction("c1", ("Zebra",), False))
    issues = Issues()
    r = classification_accuracy(LABELS, preds, issues=issues)
    assert r.top5 is None and r.per_class[0].top5 is None
    assert r.top1 == pytest.approx(3 / 6)
    assert issues.counts["unknown_label"] == 1
    with pytest.raises(ValueError):
        classification_accuracy([], preds)
    issues = Issues()
    classification_accuracy(LABELS, preds + preds[:1], issues=issues)
    assert issues.counts["duplicate_prediction"] == 1


def test_bar_chart_png(tmp_path):
    r = classification_accuracy(LABELS, PREDS)
    path = tmp_path / "per_class.png"
    plot_per_class(r, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
