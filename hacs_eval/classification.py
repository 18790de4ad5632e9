"""Clip classification: top-1 / top-5 accuracy, per-class accuracy and a confusion summary.

A clip counts once, with its true class; a clip without a prediction counts as wrong (and is
reported). Per-class accuracy is top-1 accuracy over the clips of that class; the mean
per-class accuracy averages it over the classes that have clips. Classes are also ranked by
positive-clip count (by default in the evaluated labels; pass ``rank_counts`` to rank by the
training set, as the HACS supplementary material does) and the accuracy of the first and last
``k`` classes is reported both as the mean of their per-class accuracies and as pooled clip
accuracy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hacs_eval.formats import ClipPrediction, ClipTarget, Issues


@dataclass(frozen=True)
class ClassStats:
    """Accuracy of one class (fractions 0..1; ``top5`` None when predictions have no
    scores); ``correct`` clips are right at top-1; ``confused_with`` is the most frequent
    wrong top-1 label and its clip count."""

    label: str
    clips: int
    correct: int
    rank_count: int
    top1: float
    top5: float | None
    confused_with: str | None
    confused_count: int


@dataclass(frozen=True)
class GroupAccuracy:
    """Accuracy of a group of classes: mean of per-class top-1 and pooled clip top-1."""

    classes: tuple[str, ...]
    mean_class_accuracy: float
    clip_accuracy: float


@dataclass(frozen=True)
class ClassificationResult:
    """Accuracies are fractions (0..1). ``per_class`` follows the positive-clip ranking
    (count descending, then name); ``confusions`` are the most frequent (true, predicted,
    clips) errors."""

    num_clips: int
    num_predicted: int
    top1: float
    top5: float | None
    mean_class_accuracy: float
    per_class: tuple[ClassStats, ...]
    top_classes: GroupAccuracy
    bottom_classes: GroupAccuracy
    confusions: tuple[tuple[str, str, int], ...]


def _group(stats: Sequence[ClassStats]) -> GroupAccuracy:
    clips = sum(s.clips for s in stats)
    correct = sum(s.correct for s in stats)
    return GroupAccuracy(classes=tuple(s.label for s in stats),
                         mean_class_accuracy=sum(s.top1 for s in stats) / len(stats),
                         clip_accuracy=correct / clips)


def classification_accuracy(labels: Sequence[ClipTarget], predictions: Sequence[ClipPrediction],
                            k: int = 50, rank_counts: Mapping[str, int] | None = None,
                            num_confusions: int = 20,
                            issues: Issues | None = None) -> ClassificationResult:
    """Score ``predictions`` against ``labels``.

    Counted in ``issues``: clips without a prediction (``clip_without_prediction``, scored
    wrong), predictions for clips not in the labels (``prediction_for_unknown_clip``, ignored),
    repeated predictions (``duplicate_prediction``, first kept) and predicted labels that are
    not a known class (``unknown_label``, scored wrong). Raises ValueError without labels.
    """
    issues = issues if issues is not None else Issues()
    if not labels:
        raise ValueError("no labelled clip to evaluate")
    truth = {c.clip_id: c.label for c in labels}
    known = set(truth.values()) | set(rank_counts or ())
    ranked: dict[str, tuple[str, ...]] = {}
    scored = True
    unknown_seen: set[str] = set()
    for p in predictions:
        if p.clip_id not in truth:
            issues.add("prediction_for_unknown_clip", p.clip_id)
            continue
        if p.clip_id in ranked:
            issues.add("duplicate_prediction", p.clip_id)
            continue
        ranked[p.clip_id] = p.ranked
        scored = scored and p.scored
        for name in p.ranked:
            if name not in known and name not in unknown_seen:
                unknown_seen.add(name)
                issues.add("unknown_label", f"{name!r} (clip {p.clip_id})")

    clips, hit1, hit5 = Counter(), Counter(), Counter()
    confusions = Counter()
    for clip_id, label in truth.items():
        clips[label] += 1
        guess = ranked.get(clip_id)
        if guess is None:
            issues.add("clip_without_prediction", clip_id)
            continue
        if guess and guess[0] == label:
            hit1[label] += 1
        elif guess:
            confusions[(label, guess[0])] += 1
        if label in guess[:5]:
            hit5[label] += 1

    counts = rank_counts if rank_counts is not None else clips
    order = sorted(clips, key=lambda name: (-counts.get(name, 0), name))
    worst = {}
    for (true, pred), n in sorted(confusions.items(), key=lambda kv: (-kv[1], kv[0])):
        worst.setdefault(true, (pred, n))
    per_class = tuple(
        ClassStats(label=name, clips=clips[name], correct=hit1[name],
                   rank_count=int(counts.get(name, 0)), top1=hit1[name] / clips[name],
                   top5=hit5[name] / clips[name] if scored else None,
                   confused_with=worst.get(name, (None, 0))[0],
                   confused_count=worst.get(name, (None, 0))[1])
        for name in order)
    k = max(1, min(k, len(per_class)))
    total = len(truth)
    return ClassificationResult(
        num_clips=total, num_predicted=sum(1 for c in truth if c in ranked),
        top1=sum(hit1.values()) / total,
        top5=sum(hit5.values()) / total if scored else None,
        mean_class_accuracy=sum(s.top1 for s in per_class) / len(per_class),
        per_class=per_class, top_classes=_group(per_class[:k]),
        bottom_classes=_group(per_class[-k:]),
        confusions=tuple((t, p, n) for (t, p), n in sorted(
            confusions.items(), key=lambda kv: (-kv[1], kv[0]))[:num_confusions]))


def plot_class_bars(path: str, names: Sequence[str], percents: Sequence[float],
                    mean_percent: float, mean_label: str, ylabel: str, title: str) -> None:
    """Write a PNG bar chart of one percentage per class (in the given order) with their mean
    as a dashed line labelled ``mean_label``: the per-class chart of clip accuracy and of
    video-classification AP."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = max(6.0, 0.09 * len(names) + 1.5)
    fig, ax = plt.subplots(figsize=(width, 4.5), dpi=100)
    ax.bar(range(len(names)), list(percents), color="#4c72b0", width=0.8)
    ax.axhline(mean_percent, color="#c44e52", ls="--",
               label=f"{mean_label} {mean_percent:.1f}%")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(list(names), rotation=90, fontsize=5 if len(names) > 60 else 8)
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_ylim(0, 100)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_per_class(result: ClassificationResult, path: str,
                   title: str = "Per-class clip accuracy") -> None:
    """Write a bar chart of per-class top-1 accuracy (classes by accuracy, descending) with
    the mean per-class accuracy as a line, as a PNG."""
    stats = sorted(result.per_class, key=lambda s: (-s.top1, s.label))
    plot_class_bars(path, [s.label for s in stats], [100 * s.top1 for s in stats],
                    100 * result.mean_class_accuracy, "mean per-class accuracy",
                    "top-1 accuracy (%)", title)
