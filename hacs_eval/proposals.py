"""Temporal action proposals: average recall vs average number of proposals (AR@AN) and AUC.

Follows the ActivityNet reference (``Evaluation/eval_proposal.py``,
``average_recall_vs_avg_nr_proposals``) rule for rule, vectorised:

1. The evaluated videos are those with at least one ground-truth segment (``V`` of them).
2. ``ratio = max_avg_nr_proposals * V / total``, where ``total`` counts every proposal given
   (also those of videos without ground truth). Each evaluated video keeps its
   ``min(int(n * ratio), n)`` best-scored proposals (``n``: its proposal count); their sum is
   ``kept``.
3. For ``k = 1..100``: ``pcn[k] = k / 100 * (max_avg_nr_proposals * V / kept)``; a video with
   ``w`` kept proposals (1 when it has none) looks at its first ``min(int(w * pcn[k]), w)``.
   A ground-truth segment is recalled at threshold ``t`` if one of those reaches tIoU >= t.
4. Recall pools all ground-truth segments; AR averages recall over the thresholds; the average
   number of proposals is ``AN[k] = pcn[k] * kept / V`` (= ``k / 100 * max_avg_nr_proposals``).
5. AUC = 100 * trapezoid(AR, AN) / AN[-1], in percent.

Proposals of one video are ranked by score, descending (``eval_proposal.py`` line 222,
``proposals_videoid['score'].argsort()[::-1]``). Equal scores: with ``tie_break="reference"``
(default) the later proposal in the file first, as that reversed stable sort gives; with
``"file-order"`` the earlier one first. Proposals of videos outside the subset count in
``total`` (line 192) unless the reader dropped them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hacs_eval.formats import Segments, group_score_order
from hacs_eval.tiou import ACTIVITYNET_TIOU, tiou_pairs


@dataclass(frozen=True)
class ProposalResult:
    """AR-vs-AN curve of one proposal set.

    ``recall`` is ``(thresholds, 100)``; ``average_recall`` and ``avg_nr_proposals`` are
    ``(100,)``; ``auc`` is in percent (0..100); recalls are fractions (0..1).
    """

    tiou_thresholds: np.ndarray
    recall: np.ndarray
    average_recall: np.ndarray
    avg_nr_proposals: np.ndarray
    auc: float
    num_videos: int
    num_ground_truth: int
    num_proposals: int
    num_proposals_kept: int

    def ar_at(self, an: float) -> float | None:
        """Average recall at an average number of proposals ``an`` (None if not on the curve)."""
        hits = np.flatnonzero(np.isclose(self.avg_nr_proposals, an, rtol=0, atol=1e-9))
        return float(self.average_recall[hits[0]]) if hits.size else None


def _running_levels(gt: Segments, proposals: Segments, keep: np.ndarray,
                    thresholds: np.ndarray, tie_break: str) -> tuple[np.ndarray, np.ndarray]:
    """For every ground-truth segment and every prefix of its video's kept proposals (in
    score order), how many thresholds the best tIoU so far reaches.

    Returns ``(levels, first_pair)``: ``levels[first_pair[g] + n - 1]`` is the number of
    thresholds ``t`` with ``max(tIoU of segment g with the first n proposals) >= t``.
    ``keep[v]`` is how many proposals of video ``v`` are kept; ``thresholds`` ascending;
    ``tie_break`` orders equal scores.
    """
    num_videos = max(len(gt.videos), len(proposals.videos))
    order = group_score_order(proposals.video, proposals.score, tie_break)
    sorted_segments = proposals.segments[order]
    counts = np.bincount(proposals.video, minlength=num_videos)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])

    pairs_per_gt = keep[gt.video]
    total_pairs = int(pairs_per_gt.sum())
    gt_of_pair = np.repeat(np.arange(len(gt)), pairs_per_gt)
    first_pair = np.concatenate([[0], np.cumsum(pairs_per_gt)[:-1]])
    rank_of_pair = np.arange(total_pairs) - first_pair[gt_of_pair]
    prop_of_pair = starts[gt.video[gt_of_pair]] + rank_of_pair
    tiou = tiou_pairs(sorted_segments[prop_of_pair], gt.segments[gt_of_pair])
    # thresholds reached, by the same float comparisons as ``tiou >= t``
    level = np.searchsorted(thresholds, tiou, side="right")
    # running maximum inside each segment's run of pairs: offsetting by the segment index
    # keeps runs apart, and integers keep it exact
    stride = thresholds.size + 1
    running = np.maximum.accumulate(gt_of_pair * stride + level) - gt_of_pair * stride
    return running, first_pair


def average_recall_vs_avg_nr_proposals(
        gt: Segments, proposals: Segments, max_avg_nr_proposals: float | None = 100,
        tiou_thresholds: np.ndarray = ACTIVITYNET_TIOU,
        tie_break: str = "reference") -> ProposalResult:
    """AR@AN curve and AUC of ``proposals`` against ``gt`` (video indexes must agree, as
    :func:`hacs_eval.formats.parse_results` makes them). ``max_avg_nr_proposals`` None means
    the given average (total proposals / evaluated videos), as in the reference;
    ``tie_break`` orders equal scores (see :data:`hacs_eval.formats.TIE_BREAKS`).

    Raises ValueError when there is no ground truth or no proposal survives truncation.
    """
    thresholds = np.asarray(tiou_thresholds, dtype=np.float64)
    gt_videos = np.unique(gt.video)
    num_videos = gt_videos.size
    total = len(proposals)
    if num_videos == 0:
        raise ValueError("no ground-truth segment to evaluate")
    if total == 0:
        raise ValueError("no proposals")
    if not max_avg_nr_proposals:
        max_avg_nr_proposals = float(total) / num_videos
    ratio = max_avg_nr_proposals * float(num_videos) / total

    counts = np.bincount(proposals.video, minlength=max(len(gt.videos), len(proposals.videos)))
    n_video = counts[gt_videos]
    kept_video = np.minimum((n_video * ratio).astype(np.int64), n_video)
    kept = int(kept_video.sum())
    if kept == 0:
        raise ValueError("no proposal left after truncation to "
                         f"{max_avg_nr_proposals} per video on average")
    keep = np.zeros(counts.size, dtype=np.int64)
    keep[gt_videos] = kept_video
    ascending = np.argsort(thresholds, kind="stable")
    levels, first_pair = _running_levels(gt, proposals, keep, thresholds[ascending],
                                         tie_break)

    pcn = np.arange(1, 101) / 100.0 * (max_avg_nr_proposals * float(num_videos) / kept)
    # a video without proposals is a (segments x 1) zero matrix in the reference
    width = np.where(n_video > 0, kept_video, 1)
    looked = np.minimum((width[:, None] * pcn[None, :]).astype(np.int64), width[:, None])
    looked_full = np.zeros((counts.size, pcn.size), dtype=np.int64)
    looked_full[gt_videos] = looked
    looked_gt = looked_full[gt.video]
    # a video without proposals looks at one column of zeros: nothing reached
    seen = (looked_gt > 0) & (keep[gt.video] > 0)[:, None]
    reached = np.where(seen, levels[np.where(seen, first_pair[:, None] + looked_gt - 1, 0)], 0)
    # matches[l, j]: segments reaching at least l + 1 thresholds when looking at pcn[j]
    histogram = np.zeros((thresholds.size + 1, pcn.size), dtype=np.int64)
    np.add.at(histogram, (reached, np.broadcast_to(np.arange(pcn.size), reached.shape)), 1)
    matches = histogram[::-1].cumsum(axis=0)[::-1][1:]
    recall = np.empty((thresholds.size, pcn.size))
    recall[ascending] = matches / float(len(gt))
    average_recall = recall.mean(axis=0)
    avg_nr = pcn * (float(kept) / num_videos)
    auc = 100.0 * float(np.trapezoid(average_recall, avg_nr)) / avg_nr[-1]
    return ProposalResult(tiou_thresholds=thresholds, recall=recall,
                          average_recall=average_recall, avg_nr_proposals=avg_nr, auc=auc,
                          num_videos=int(num_videos), num_ground_truth=len(gt),
                          num_proposals=total, num_proposals_kept=kept)


def plot_ar_an(result: ProposalResult, path: str, title: str = "Proposals") -> None:
    """Write the AR-vs-AN curve (and recall at the lowest / highest threshold) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
    ax.plot(result.avg_nr_proposals, result.average_recall, lw=2,
            label=f"AR (tIoU {result.tiou_thresholds[0]:.2f}:{result.tiou_thresholds[-1]:.2f}),"
                  f" AUC {result.auc:.2f}%")
    for ti in (0, result.tiou_thresholds.size - 1):
        ax.plot(result.avg_nr_proposals, result.recall[ti], lw=1, ls="--",
                label=f"recall @ tIoU {result.tiou_thresholds[ti]:.2f}")
    ax.set_xlabel("average number of proposals per video")
    ax.set_ylabel("recall")
    ax.set_ylim(0, 1)
    ax.set_xlim(0, result.avg_nr_proposals[-1])
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
