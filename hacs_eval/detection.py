"""Temporal action detection: mean average precision (mAP) at tIoU thresholds.

Follows the ActivityNet reference (``Evaluation/eval_detection.py``,
``compute_average_precision_detection``) rule for rule, vectorised:

* Per class, predictions are ranked by score, descending. **Tie-break** (``tie_break``):
  ``"reference"`` (default) orders equal scores as the reference's
  ``prediction['score'].values.argsort()[::-1]`` over the class's predictions in file order
  (``eval_detection.py`` line 211): reversed file order, the later prediction first.
  ``"file-order"``: the earlier prediction first.
* Each prediction, in that order, is a true positive at threshold ``t`` if some ground-truth
  segment of its class in its video has tIoU >= ``t`` and is not yet matched at ``t``; it takes
  the one with the highest tIoU. Equal tIoU (reference, ``tiou_arr.argsort()[::-1]``, line
  235): the segment later in the ground-truth file; with ``"file-order"`` the earlier one.
  Matched ground truth is locked per threshold, so a duplicate detection is a false positive.
  Predictions in videos without ground truth of their class are false positives (lines
  224-229), also those of videos outside the evaluated subset unless they were dropped.
* AP is the all-point interpolated area (VOC 2011): precision made monotone from the right,
  summed over the recall steps. A class with ground truth and no predictions has AP 0.
* mAP at ``t`` is the mean AP over the classes of the ground-truth subset; the headline number
  is the mean over thresholds (ActivityNet 0.5:0.05:0.95; THUMOS14 0.3:0.1:0.7).

The greedy matching is sequential only inside one (class, video) group, so it runs as a loop
over the rank within the group, each step vectorised over all groups and thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hacs_eval.formats import Segments, group_score_order
from hacs_eval.tiou import ACTIVITYNET_TIOU, tiou_pairs


@dataclass(frozen=True)
class DetectionResult:
    """Per-class AP ``ap`` (thresholds x classes, 0..1), ``mean_ap`` per threshold and their
    mean ``average_mean_ap``; counts per class of ground-truth segments and predictions."""

    tiou_thresholds: np.ndarray
    label_names: tuple[str, ...]
    ap: np.ndarray
    mean_ap: np.ndarray
    average_mean_ap: float
    num_ground_truth: np.ndarray
    num_predictions: np.ndarray


def interpolated_ap(precision: np.ndarray, recall: np.ndarray) -> float | np.ndarray:
    """All-point interpolated AP (VOC 2011) of one ranked list: ``precision`` / ``recall``
    after each prediction (fractions), shape ``(n,)`` or ``(n, thresholds)``; returns a float
    or one AP per column.

    Precision is made monotone from the right and summed over the recall increments; steps
    without a recall increment add exactly 0, as in the reference's ``np.where`` selection.
    """
    envelope = np.maximum.accumulate(precision[::-1], axis=0)[::-1]
    gain = np.diff(recall, axis=0, prepend=0.0)
    ap = (gain * envelope).sum(axis=0)
    return float(ap) if np.ndim(ap) == 0 else ap


def match_detections(gt: Segments, preds: Segments,
                     tiou_thresholds: np.ndarray = ACTIVITYNET_TIOU,
                     tie_break: str = "reference") -> tuple[np.ndarray, np.ndarray]:
    """Greedy matching of predictions to ground truth, per class and threshold.

    Returns ``(order, tp)``: ``order`` lists prediction rows sorted by (class, score desc,
    ``tie_break``, see :data:`hacs_eval.formats.TIE_BREAKS`); ``tp[i, t]`` is True when
    prediction ``order[i]`` is a true positive at threshold
    ``t``. Video and label indexes of ``gt`` and ``preds`` must agree.
    """
    thresholds = np.asarray(tiou_thresholds, dtype=np.float64)
    n = len(preds)
    order = group_score_order(preds.label, preds.score, tie_break)
    num_videos = max(len(gt.videos), len(preds.videos), 1)

    # ground truth grouped by (class, video), file order inside a group
    gt_key = gt.label * num_videos + gt.video
    gt_sort = np.argsort(gt_key, kind="stable")
    gt_segments = gt.segments[gt_sort]
    group_keys, group_start, group_size = np.unique(gt_key[gt_sort], return_index=True,
                                                    return_counts=True)

    # predictions in class-score order, then grouped the same way (stable: score order kept)
    tp = np.zeros((n, thresholds.size), dtype=bool)
    if n == 0 or group_keys.size == 0:
        return order, tp
    pred_key = preds.label[order] * num_videos + preds.video[order]
    pos = np.minimum(np.searchsorted(group_keys, pred_key), group_keys.size - 1)
    pred_segments = preds.segments[order]
    cand = np.flatnonzero(group_keys[pos] == pred_key)
    if cand.size == 0:
        return order, tp
    # A prediction below the lowest threshold with every segment of its group is a false
    # positive at all thresholds and locks nothing: keep it out of the sequential part.
    size = group_size[pos[cand]]
    first_pair = np.cumsum(size) - size
    pair_pred = np.repeat(cand, size)
    pair_gt = np.repeat(group_start[pos[cand]] - first_pair, size) + np.arange(size.sum())
    best_tiou = np.maximum.reduceat(tiou_pairs(pred_segments[pair_pred],
                                               gt_segments[pair_gt]), first_pair)
    cand = cand[best_tiou >= thresholds.min()]
    if cand.size == 0:
        return order, tp

    # rank of each candidate inside its (class, video) group, in score order (stable sorts)
    by_group = cand[np.argsort(pred_key[cand], kind="stable")]
    sorted_key = pred_key[by_group]
    new_group = np.ones(by_group.size, dtype=bool)
    new_group[1:] = sorted_key[1:] != sorted_key[:-1]
    group_first = np.flatnonzero(new_group)
    rank = np.arange(by_group.size) - group_first[np.cumsum(new_group) - 1]
    rank_order = np.argsort(rank, kind="stable")
    by_rank = by_group[rank_order]
    rank_bounds = np.searchsorted(rank[rank_order], np.arange(rank.max() + 2))

    locked = np.zeros((len(gt), thresholds.size), dtype=bool)
    for r in range(rank_bounds.size - 1):
        p = by_rank[rank_bounds[r]:rank_bounds[r + 1]]
        start, size = group_start[pos[p]], group_size[pos[p]]
        slot = np.arange(size.max())
        valid = slot[None, :] < size[:, None]
        gidx = np.where(valid, start[:, None] + slot[None, :], 0)
        g = gt_segments[gidx]
        ps = pred_segments[p]
        inter = (np.minimum(ps[:, None, 1], g[..., 1])
                 - np.maximum(ps[:, None, 0], g[..., 0])).clip(0)
        tiou = inter / ((g[..., 1] - g[..., 0]) + (ps[:, None, 1] - ps[:, None, 0]) - inter)
        ok = ((tiou[..., None] >= thresholds) & valid[..., None] & ~locked[gidx])
        candidates = np.where(ok, tiou[..., None], -1.0)
        if tie_break == "reference":
            # equal tIoU: the last slot (later in the file), as a reversed stable sort gives
            best = slot.size - 1 - np.argmax(candidates[:, ::-1], axis=1)
        else:
            best = np.argmax(candidates, axis=1)
        got = ok.any(axis=1)
        tp[p] = got
        rows, ts = np.nonzero(got)
        locked[gidx[rows, best[rows, ts]], ts] = True
    return order, tp


def mean_average_precision(gt: Segments, preds: Segments,
                           tiou_thresholds: np.ndarray = ACTIVITYNET_TIOU,
                           tie_break: str = "reference") -> DetectionResult:
    """Per-class AP and mAP of ``preds`` against ``gt`` at each tIoU threshold; ``tie_break``
    orders equal scores and equal tIoU (see :data:`hacs_eval.formats.TIE_BREAKS`).

    Classes are ``gt.label_names`` that have at least one ground-truth segment; predictions
    of other labels must have been dropped (as :func:`hacs_eval.formats.parse_results` does).
    """
    thresholds = np.asarray(tiou_thresholds, dtype=np.float64)
    num_classes = len(gt.label_names)
    if len(gt) == 0 or num_classes == 0:
        raise ValueError("no ground-truth segment to evaluate")
    if len(preds) and (preds.label.min() < 0 or preds.label.max() >= num_classes):
        raise ValueError("predictions carry labels outside the ground-truth classes")
    order, tp = match_detections(gt, preds, thresholds, tie_break)
    npos = np.bincount(gt.label, minlength=num_classes)
    npred = np.bincount(preds.label, minlength=num_classes)
    class_start = np.concatenate([[0], np.cumsum(npred)[:-1]])
    ap = np.zeros((thresholds.size, num_classes))
    for c in np.flatnonzero(npos > 0):
        if npred[c] == 0:
            continue
        class_tp = tp[class_start[c]:class_start[c] + npred[c]]
        tp_cum = np.cumsum(class_tp, axis=0).astype(np.float64)
        fp_cum = np.cumsum(~class_tp, axis=0).astype(np.float64)
        recall = tp_cum / npos[c]
        precision = tp_cum / (tp_cum + fp_cum)
        ap[:, c] = interpolated_ap(precision, recall)
    present = npos > 0
    mean_ap = ap[:, present].mean(axis=1)
    return DetectionResult(tiou_thresholds=thresholds, label_names=gt.label_names, ap=ap,
                           mean_ap=mean_ap, average_mean_ap=float(mean_ap.mean()),
                           num_ground_truth=npos, num_predictions=npred)


def plot_map(result: DetectionResult, path: str, title: str = "Detection") -> None:
    """Write a bar chart of mAP per tIoU threshold (with the average) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    labels = [f"{t:.2f}" for t in result.tiou_thresholds]
    bars = ax.bar(labels, 100 * result.mean_ap, color="#4c72b0")
    ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.axhline(100 * result.average_mean_ap, color="#c44e52", ls="--",
               label=f"average mAP {100 * result.average_mean_ap:.2f}%")
    ax.set_xlabel("tIoU threshold")
    ax.set_ylabel("mAP (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
