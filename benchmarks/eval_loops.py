"""Proposal AR@AN / AUC and detection mAP as plain Python loops over (segment, prediction) pairs.

An independent, deliberately straightforward implementation of the rules in
``docs/evaluate.md`` ("Metrics, rule by rule"): no numpy in the metric logic, one tIoU per
(ground truth, prediction) pair, greedy matching one prediction at a time. It serves as the
baseline that ``benchmarks/bench_eval.py`` times the vectorised :mod:`hacs_eval` package
against, and as an oracle for the package in ``tests/hacs_eval/test_eval_loop_agreement.py``.

Inputs are the parsed JSON documents turned into plain lists by :func:`read_ground_truth` and
:func:`read_results` (no validation: callers give clean data). Times are seconds; recalls,
precisions and APs are fractions (0..1); AUC is in percent.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

# 0.5:0.05:0.95 as the protocol spells it out, np.linspace(0.5, 0.95, 10): these exact doubles
# (0.8999999999999999 for 0.9), so that ``tIoU >= threshold`` is decided as the protocol does
ACTIVITYNET_THRESHOLDS = tuple(float(t) for t in np.linspace(0.5, 0.95, 10))

# video id -> [(label, start, end)] in file order
GroundTruthLists = dict[str, list[tuple[str, float, float]]]
# video id -> [(label or None, score, start, end)] in file order (dicts keep the file's order)
ResultLists = dict[str, list[tuple[str | None, float, float, float]]]


def read_ground_truth(document: Mapping, subset: str | None = "validation") -> GroundTruthLists:
    """Annotations of the videos of ``subset`` (``None``: all) of an ActivityNet / HACS
    ground-truth document, in file order; videos without annotations are kept (empty list)."""
    out: GroundTruthLists = {}
    for video_id, entry in document["database"].items():
        if subset is None or entry["subset"] == subset:
            out[video_id] = [(a["label"], float(a["segment"][0]), float(a["segment"][1]))
                             for a in entry.get("annotations", [])]
    return out


def read_results(document: Mapping, videos: Collection[str] | None = None) -> ResultLists:
    """Results of an ActivityNet results document in file order, only those of ``videos``
    when given (``None``: every video, as the reference protocol counts them)."""
    out: ResultLists = {}
    for video_id, rows in document["results"].items():
        if videos is None or video_id in videos:
            out[video_id] = [(r.get("label"), float(r["score"]), float(r["segment"][0]),
                              float(r["segment"][1])) for r in rows]
    return out


def tiou(gt_start: float, gt_end: float, start: float, end: float) -> float:
    """Temporal intersection over union of two segments: intersection length over
    (ground-truth length + prediction length - intersection)."""
    intersection = min(gt_end, end) - max(gt_start, start)
    if intersection < 0:
        intersection = 0.0
    return intersection / ((gt_end - gt_start) + (end - start) - intersection)


def ranked(rows: list, score_of, tie_break: str = "reference") -> list:
    """``rows`` by score, highest first. Equal scores: ``"reference"``, an ascending stable
    sort reversed (the reference's ``argsort()[::-1]``: the later row first);
    ``"file-order"``: the earlier row first (Python's sort is stable)."""
    if tie_break == "reference":
        return sorted(rows, key=score_of)[::-1]
    return sorted(rows, key=lambda row: -score_of(row))


@dataclass(frozen=True)
class LoopProposalCurve:
    """``recall[t][k]``: recall at threshold ``t`` looking at the ``k + 1``-th percentage of
    the average budget; ``average_recall[k]`` its mean over thresholds; ``avg_nr_proposals[k]``
    the average number of proposals per video there; ``auc`` in percent."""

    recall: list[list[float]]
    average_recall: list[float]
    avg_nr_proposals: list[float]
    auc: float
    num_proposals_kept: int


def average_recall_vs_avg_nr_proposals(
        ground_truth: GroundTruthLists, proposals: ResultLists,
        max_avg_nr_proposals: float | None = 100,
        thresholds: Sequence[float] = ACTIVITYNET_THRESHOLDS,
        tie_break: str = "reference") -> LoopProposalCurve:
    """AR@AN curve and AUC, ActivityNet rules, one loop per rule.

    ``proposals`` may hold videos without ground truth: their proposals count in the total
    that sets the per-video truncation. ``max_avg_nr_proposals`` None or 0: the given average.
    """
    evaluated = [v for v, anns in ground_truth.items() if anns]
    num_videos = len(evaluated)
    num_segments = sum(len(ground_truth[v]) for v in evaluated)
    total = sum(len(rows) for rows in proposals.values())
    if num_videos == 0:
        raise ValueError("no ground-truth segment to evaluate")
    if total == 0:
        raise ValueError("no proposals")
    if not max_avg_nr_proposals:
        max_avg_nr_proposals = float(total) / num_videos

    # truncation: each evaluated video keeps its int(n * ratio) best proposals (at most n)
    ratio = max_avg_nr_proposals * float(num_videos) / total
    kept_rows: dict[str, list] = {}
    for video_id in evaluated:
        rows = ranked(proposals.get(video_id, []), lambda r: r[1], tie_break)
        kept_rows[video_id] = rows[:min(int(len(rows) * ratio), len(rows))]
    kept = sum(len(rows) for rows in kept_rows.values())
    if kept == 0:
        raise ValueError("no proposal left after truncation to "
                         f"{max_avg_nr_proposals} per video on average")

    # best[g][n]: best tIoU of segment g with the first n kept proposals of its video
    best: dict[str, list[list[float]]] = {}
    for video_id in evaluated:
        best[video_id] = []
        for _, gt_start, gt_end in ground_truth[video_id]:
            running = [-1.0]
            for _, _, start, end in kept_rows[video_id]:
                running.append(max(running[-1], tiou(gt_start, gt_end, start, end)))
            best[video_id].append(running)

    scale = max_avg_nr_proposals * float(num_videos) / kept
    recall = [[0.0] * 100 for _ in thresholds]
    avg_nr_proposals = []
    for k in range(1, 101):
        fraction = k / 100.0 * scale
        avg_nr_proposals.append(fraction * (float(kept) / num_videos))
        for video_id in evaluated:
            width = len(kept_rows[video_id])
            looked = min(int(width * fraction), width)
            for running in best[video_id]:
                for t, threshold in enumerate(thresholds):
                    if looked > 0 and running[looked] >= threshold:
                        recall[t][k - 1] += 1
    recall = [[hits / num_segments for hits in row] for row in recall]
    average_recall = [sum(recall[t][k] for t in range(len(thresholds))) / len(thresholds)
                      for k in range(100)]
    area = 0.0
    for k in range(1, 100):
        area += ((avg_nr_proposals[k] - avg_nr_proposals[k - 1])
                 * (average_recall[k] + average_recall[k - 1]) / 2)
    return LoopProposalCurve(recall=recall, average_recall=average_recall,
                             avg_nr_proposals=avg_nr_proposals,
                             auc=100.0 * area / avg_nr_proposals[-1], num_proposals_kept=kept)


def interpolated_average_precision(true_positive: Sequence[bool], num_ground_truth: int) -> float:
    """All-point interpolated AP of one ranked list of hits: precision made monotone from the
    right (the best precision at any later rank), summed over the recall increments."""
    precision, recall = [], []
    hits = 0
    for rank, hit in enumerate(true_positive, start=1):
        hits += hit
        precision.append(hits / rank)
        recall.append(hits / num_ground_truth)
    for i in range(len(precision) - 2, -1, -1):
        precision[i] = max(precision[i], precision[i + 1])
    ap, previous_recall = 0.0, 0.0
    for p, r in zip(precision, recall, strict=True):
        ap += (r - previous_recall) * p
        previous_recall = r
    return ap


def greedy_matches(ground_truth: GroundTruthLists, predictions: list[tuple[str, float, float,
                                                                          float]],
                   threshold: float, tie_break: str = "reference") -> list[bool]:
    """True-positive flags of ``predictions`` (``(video, score, start, end)`` of one class, in
    rank order) against ``ground_truth`` (that class's segments per video): each takes the
    not yet matched segment of its video with the highest tIoU >= ``threshold`` (equal tIoU:
    the one last in the file with ``"reference"``, first with ``"file-order"``), else it is a
    false positive."""
    matched: set[tuple[str, int]] = set()
    flags = []
    for video_id, _, start, end in predictions:
        best_index, best_tiou = -1, -1.0
        for g, (gt_start, gt_end) in enumerate(ground_truth.get(video_id, [])):
            if (video_id, g) in matched:
                continue
            overlap = tiou(gt_start, gt_end, start, end)
            better = overlap > best_tiou or (tie_break == "reference" and overlap == best_tiou)
            if overlap >= threshold and better:
                best_index, best_tiou = g, overlap
        if best_index >= 0:
            matched.add((video_id, best_index))
        flags.append(best_index >= 0)
    return flags


@dataclass(frozen=True)
class LoopDetectionScores:
    """``ap[label][t]`` per ground-truth class and threshold, ``mean_ap[t]`` over classes,
    ``average_mean_ap`` over thresholds."""

    ap: dict[str, list[float]]
    mean_ap: list[float]
    average_mean_ap: float


def mean_average_precision(ground_truth: GroundTruthLists, predictions: ResultLists,
                           thresholds: Sequence[float] = ACTIVITYNET_THRESHOLDS,
                           tie_break: str = "reference") -> LoopDetectionScores:
    """Per-class AP and mAP, ActivityNet rules. Classes are the labels of ``ground_truth``;
    predictions of other labels are not scored; predictions in videos without ground truth
    of their class are false positives."""
    labels = sorted({label for anns in ground_truth.values() for label, _, _ in anns})
    if not labels:
        raise ValueError("no ground-truth segment to evaluate")
    ap: dict[str, list[float]] = {}
    for label in labels:
        class_truth = {v: [(s, e) for lab, s, e in anns if lab == label]
                       for v, anns in ground_truth.items()}
        num_ground_truth = sum(len(segments) for segments in class_truth.values())
        in_file_order = [(video_id, score, start, end)
                         for video_id, rows in predictions.items()
                         for lab, score, start, end in rows if lab == label]
        class_predictions = ranked(in_file_order, lambda row: row[1], tie_break)
        ap[label] = [interpolated_average_precision(
            greedy_matches(class_truth, class_predictions, threshold, tie_break),
            num_ground_truth)
            for threshold in thresholds]
    mean_ap = [sum(ap[label][t] for label in labels) / len(labels)
               for t in range(len(thresholds))]
    return LoopDetectionScores(ap=ap, mean_ap=mean_ap,
                               average_mean_ap=sum(mean_ap) / len(mean_ap))
