"""Untrimmed video classification: hit@k and mAP over videos, as ActivityNet scores it.

Follows ``Evaluation/eval_classification.py`` of github.com/activitynet/ActivityNet (commit
82304fa; line numbers below are of that file) rule for rule, vectorised:

* **Ground truth** (lines 73-86): the distinct (video, class) pairs of the subset, from every
  annotation's label; a video of the subset without annotations is not evaluated. The classes
  are those annotated in the subset (read by :func:`hacs_eval.formats.parse_video_labels`).
* **Predictions** (lines 110-118): every results entry of every video, also of videos outside
  the subset (:func:`hacs_eval.formats.parse_video_predictions`).
* **AP of a class** (lines 180-210, with ``utils.interpolated_prec_rec``): the class's
  predictions over all videos, in file order, ranked by score, descending; equal scores as
  ``argsort()[::-1]`` (line 183), the later entry first (``tie_break="reference"``) or, with
  ``"file-order"``, the earlier one. A prediction is a true positive when its video has the
  class and no higher-ranked prediction of the class in that video was one (lines 193-203):
  a second guess of the same class in a video, and any guess in a video without the class
  (videos outside the subset included), is a false positive. Recall divides by the number of
  videos with the class. AP is the all-point interpolated area (VOC 2011): precision made
  monotone from the right, summed over the recall steps. A class without predictions has AP 0
  (the reference's interpolation of empty arrays gives 0 too).
* **mAP** (line 149): the mean AP over the classes of the subset.
* **hit@k** (lines 231-249, ``top_k=3`` by default, line 17): per evaluated video, its k
  best-scored predictions (equal scores ordered as above, line 239; a repeated label takes
  a place each time); the video scores the fraction of its classes among them
  (``avg_hit_at_k``, "Avg Hit@k") or 1 when at least one is (``hit_at_k``, the ceiling of
  that fraction, line 248). A video without predictions scores 0 (line 235). Both average
  over the evaluated videos.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hacs_eval.classification import plot_class_bars
from hacs_eval.detection import interpolated_ap
from hacs_eval.formats import VideoLabels, VideoScores, group_score_order

DEFAULT_TOP_K = 3  # eval_classification.py line 17


@dataclass(frozen=True)
class VideoClassificationResult:
    """``ap`` per class (0..1, indexed like ``label_names``), their mean ``mean_ap``;
    ``hit_at_k`` / ``avg_hit_at_k`` (0..1) at ``top_k`` over ``num_videos`` evaluated videos
    (those with at least one class), ``num_videos_without_prediction`` of them had none;
    per class the number of videos with it (``num_ground_truth``) and of predictions of it
    (``num_predictions``)."""

    label_names: tuple[str, ...]
    ap: np.ndarray
    mean_ap: float
    top_k: int
    hit_at_k: float
    avg_hit_at_k: float
    num_videos: int
    num_videos_without_prediction: int
    num_ground_truth: np.ndarray
    num_predictions: np.ndarray


def average_precision_per_class(gt: VideoLabels, preds: VideoScores,
                                tie_break: str = "reference") -> np.ndarray:
    """AP of each class of ``gt.label_names`` (see the module docstring); predictions with
    label -1 belong to no class and are not looked at."""
    num_classes = len(gt.label_names)
    rows = np.flatnonzero(preds.label >= 0)
    order = rows[group_score_order(preds.label[rows], preds.score[rows], tie_break)]
    num_videos = max(len(preds.videos), len(gt.videos), 1)
    key = preds.label[order] * num_videos + preds.video[order]
    # the best-ranked prediction of a (class, video) pair is the one that can match
    first = np.zeros(order.size, dtype=bool)
    first[np.unique(key, return_index=True)[1]] = True
    tp = first & np.isin(key, gt.label * num_videos + gt.video)
    npos = np.bincount(gt.label, minlength=num_classes)
    npred = np.bincount(preds.label[rows], minlength=num_classes)
    start = np.concatenate([[0], np.cumsum(npred)[:-1]])
    ap = np.zeros(num_classes)
    for c in np.flatnonzero(npred):
        class_tp = tp[start[c]:start[c] + npred[c]]
        tp_cum = np.cumsum(class_tp).astype(np.float64)
        fp_cum = np.cumsum(~class_tp).astype(np.float64)
        ap[c] = interpolated_ap(tp_cum / (tp_cum + fp_cum), tp_cum / npos[c])
    return ap


def hit_at_k(gt: VideoLabels, preds: VideoScores, top_k: int = DEFAULT_TOP_K,
             tie_break: str = "reference") -> tuple[float, float]:
    """``(hit_at_k, avg_hit_at_k)`` over the videos of ``gt`` with at least one class (see
    the module docstring)."""
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    num_classes = max(len(gt.label_names), 1)
    order = group_score_order(preds.video, preds.score, tie_break)
    video_sorted = preds.video[order]
    rank = np.arange(order.size) - np.searchsorted(video_sorted, video_sorted, side="left")
    top = order[rank < top_k]
    top = top[preds.label[top] >= 0]
    hits = np.isin(gt.video * num_classes + gt.label,
                   preds.video[top] * num_classes + preds.label[top])
    num_videos = len(gt.videos)
    labels_per_video = np.bincount(gt.video, minlength=num_videos)
    hits_per_video = np.bincount(gt.video, weights=hits, minlength=num_videos)
    evaluated = labels_per_video > 0
    fraction = hits_per_video[evaluated] / labels_per_video[evaluated]
    return float((fraction > 0).mean()), float(fraction.mean())


def evaluate_video_classification(gt: VideoLabels, preds: VideoScores,
                                  top_k: int = DEFAULT_TOP_K,
                                  tie_break: str = "reference") -> VideoClassificationResult:
    """Per-class AP, mAP, hit@k and avg hit@k of ``preds`` against ``gt``; ``tie_break``
    orders equal scores (see :data:`hacs_eval.formats.TIE_BREAKS`)."""
    if len(gt.video) == 0:
        raise ValueError("no video of the subset has a class label to evaluate")
    ap = average_precision_per_class(gt, preds, tie_break)
    hit, avg_hit = hit_at_k(gt, preds, top_k, tie_break)
    evaluated = np.unique(gt.video)
    predicted = np.unique(preds.video)
    num_classes = len(gt.label_names)
    return VideoClassificationResult(
        label_names=gt.label_names, ap=ap, mean_ap=float(ap.mean()), top_k=top_k,
        hit_at_k=hit, avg_hit_at_k=avg_hit, num_videos=int(evaluated.size),
        num_videos_without_prediction=int((~np.isin(evaluated, predicted)).sum()),
        num_ground_truth=np.bincount(gt.label, minlength=num_classes),
        num_predictions=np.bincount(preds.label[preds.label >= 0], minlength=num_classes))


def plot_per_class_ap(result: VideoClassificationResult, path: str,
                      title: str = "Video classification: AP per class") -> None:
    """Write a bar chart of per-class AP (classes by AP, descending) with the mAP as a line,
    as a PNG."""
    order = sorted(range(len(result.label_names)),
                   key=lambda c: (-result.ap[c], result.label_names[c]))
    plot_class_bars(path, [result.label_names[c] for c in order],
                    [100 * result.ap[c] for c in order], 100 * result.mean_ap, "mAP",
                    "AP (%)", title)
