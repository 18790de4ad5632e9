"""``python -m hacs_eval classification|video-classification|proposals|detection``: score
predictions, print a table, write ``<out>/<command>.json`` and a PNG plot.

Exit status: 0 on success, 2 when an input cannot be evaluated (the message says why).
Input warnings (counted, see :class:`hacs_eval.formats.Issues`) go to stderr and into the JSON;
``--strict`` turns the first one into an error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence

import numpy as np

from hacs_eval.classification import ClassificationResult, classification_accuracy, plot_per_class
from hacs_eval.detection import DetectionResult, mean_average_precision, plot_map
from hacs_eval.formats import (
    TIE_BREAKS,
    FormatError,
    Issues,
    load_blocked,
    load_clip_labels,
    load_clip_predictions,
    load_ground_truth,
    load_results,
    load_video_labels,
    load_video_predictions,
)
from hacs_eval.proposals import ProposalResult, average_recall_vs_avg_nr_proposals, plot_ar_an
from hacs_eval.tiou import parse_thresholds
from hacs_eval.video_classification import (
    DEFAULT_TOP_K,
    VideoClassificationResult,
    evaluate_video_classification,
    plot_per_class_ap,
)

AR_POINTS = (1, 5, 10, 50, 100)


def _subset(value: str) -> str | None:
    return None if value == "all" else value


def _table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def proposals_report(result: ProposalResult) -> dict:
    """JSON-ready summary of a proposal evaluation (recalls as fractions, AUC in percent)."""
    return {
        "auc_percent": result.auc,
        # AN = 1, 5, 10, 50, 100 (null where the curve has no such point) and the curve's
        # last point, AN = the maximum average number of proposals
        "ar_at": {**{str(an): result.ar_at(an) for an in AR_POINTS},
                  "max": float(result.average_recall[-1])},
        "max_avg_nr_proposals": float(result.avg_nr_proposals[-1]),
        "tiou_thresholds": result.tiou_thresholds.tolist(),
        "avg_nr_proposals": result.avg_nr_proposals.tolist(),
        "average_recall": result.average_recall.tolist(),
        "recall": result.recall.tolist(),
        "num_videos": result.num_videos,
        "num_ground_truth": result.num_ground_truth,
        "num_proposals": result.num_proposals,
        "num_proposals_kept": result.num_proposals_kept,
    }


def detection_report(result: DetectionResult) -> dict:
    """JSON-ready summary of a detection evaluation (AP as fractions)."""
    present = result.num_ground_truth > 0
    return {
        "average_mAP": result.average_mean_ap,
        "mAP": {f"{t:.2f}": float(m) for t, m in zip(result.tiou_thresholds, result.mean_ap,
                                                       strict=True)},
        "tiou_thresholds": result.tiou_thresholds.tolist(),
        "per_class": {name: {"ap": result.ap[:, c].tolist(),
                             "average_ap": float(result.ap[:, c].mean()),
                             "num_ground_truth": int(result.num_ground_truth[c]),
                             "num_predictions": int(result.num_predictions[c])}
                      for c, name in enumerate(result.label_names) if present[c]},
    }


def classification_report(result: ClassificationResult) -> dict:
    """JSON-ready summary of a clip classification evaluation (accuracies as fractions)."""
    def group(g):
        return {"k": len(g.classes), "mean_class_accuracy": g.mean_class_accuracy,
                "clip_accuracy": g.clip_accuracy, "classes": list(g.classes)}
    return {
        "num_clips": result.num_clips,
        "num_predicted": result.num_predicted,
        "top1": result.top1,
        "top5": result.top5,
        "mean_class_accuracy": result.mean_class_accuracy,
        "top_classes": group(result.top_classes),
        "bottom_classes": group(result.bottom_classes),
        "per_class": [{"label": s.label, "clips": s.clips, "correct": s.correct,
                       "rank_count": s.rank_count, "top1": s.top1, "top5": s.top5,
                       "confused_with": s.confused_with, "confused_count": s.confused_count}
                      for s in result.per_class],
        "confusions": [{"true": t, "predicted": p, "clips": n} for t, p, n in result.confusions],
    }


def video_classification_report(result: VideoClassificationResult) -> dict:
    """JSON-ready summary of a video classification evaluation (fractions)."""
    return {
        "mAP": result.mean_ap,
        "top_k": result.top_k,
        "hit_at_k": result.hit_at_k,
        "avg_hit_at_k": result.avg_hit_at_k,
        "num_videos": result.num_videos,
        "num_videos_without_prediction": result.num_videos_without_prediction,
        "per_class": {name: {"ap": float(result.ap[c]),
                             "num_videos": int(result.num_ground_truth[c]),
                             "num_predictions": int(result.num_predictions[c])}
                      for c, name in enumerate(result.label_names)},
    }


def _run_proposals(args, issues: Issues) -> tuple[dict, str]:
    blocked = load_blocked(args.blocked)
    gt = load_ground_truth(args.ground_truth, _subset(args.subset), blocked, issues)
    props = load_results(args.proposals, gt, with_labels=False, drop_outside=args.drop_outside,
                         blocked=blocked, issues=issues)
    result = average_recall_vs_avg_nr_proposals(gt.segments, props,
                                                args.max_avg_proposals or None,
                                                parse_thresholds(args.tiou), args.tie_break)
    if not args.no_plot:
        plot_ar_an(result, os.path.join(args.out, "proposals.png"))
    report = proposals_report(result)
    rows = [(f"AR@{an}", _pct(report["ar_at"][str(an)])) for an in AR_POINTS]
    rows.append((f"AR@max (AN {report['max_avg_nr_proposals']:g})",
                 _pct(report["ar_at"]["max"])))
    rows.append(("AUC", f"{result.auc:.2f}"))
    text = (f"{result.num_videos} videos, {result.num_ground_truth} ground-truth segments, "
            f"{result.num_proposals_kept} of {result.num_proposals} proposals kept\n"
            + _table(rows, ("metric", "value (%)")))
    return report, text


def _run_detection(args, issues: Issues) -> tuple[dict, str]:
    blocked = load_blocked(args.blocked)
    gt = load_ground_truth(args.ground_truth, _subset(args.subset), blocked, issues)
    preds = load_results(args.detections, gt, with_labels=True, drop_outside=args.drop_outside,
                         blocked=blocked, issues=issues)
    result = mean_average_precision(gt.segments, preds, parse_thresholds(args.tiou),
                                    args.tie_break)
    if not args.no_plot:
        plot_map(result, os.path.join(args.out, "detection.png"))
    rows = [(f"{t:.2f}", _pct(m)) for t, m in zip(result.tiou_thresholds, result.mean_ap,
                                                  strict=True)]
    rows.append(("average", _pct(result.average_mean_ap)))
    present = int((result.num_ground_truth > 0).sum())
    text = (f"{present} classes, {len(gt.segments)} ground-truth segments, "
            f"{len(preds)} predictions\n" + _table(rows, ("tIoU", "mAP (%)")))
    return detection_report(result), text


def _run_classification(args, issues: Issues) -> tuple[dict, str]:
    blocked = load_blocked(args.blocked)
    labels = load_clip_labels(args.labels, _subset(args.subset), args.include_unannotated,
                              issues, blocked)
    if not labels:
        raise FormatError(f"{args.labels}: no labelled clip in subset {args.subset!r} "
                          "(see --subset, --include-unannotated)")
    rank_counts = None
    if args.rank_labels:
        ranked = load_clip_labels(args.rank_labels, _subset(args.rank_subset),
                                  args.include_unannotated, Issues(), blocked)
        rank_counts = Counter(c.label for c in ranked)
    preds = load_clip_predictions(args.predictions, issues)
    result = classification_accuracy(labels, preds, k=args.k, rank_counts=rank_counts,
                                     issues=issues)
    if not args.no_plot:
        plot_per_class(result, os.path.join(args.out, "classification.png"))
    rows = [("top-1", _pct(result.top1)), ("top-5", _pct(result.top5)),
            ("mean per-class", _pct(result.mean_class_accuracy)),
            (f"top {len(result.top_classes.classes)} classes (mean per-class)",
             _pct(result.top_classes.mean_class_accuracy)),
            (f"bottom {len(result.bottom_classes.classes)} classes (mean per-class)",
             _pct(result.bottom_classes.mean_class_accuracy))]
    confusions = [(t, p, n) for t, p, n in result.confusions[:10]]
    text = (f"{result.num_clips} clips, {result.num_predicted} with a prediction, "
            f"{len(result.per_class)} classes\n" + _table(rows, ("metric", "accuracy (%)")))
    if confusions:
        text += "\n\nmost frequent confusions\n" + _table(confusions,
                                                          ("true", "predicted", "clips"))
    return classification_report(result), text


def _run_video_classification(args, issues: Issues) -> tuple[dict, str]:
    blocked = load_blocked(args.blocked)
    gt = load_video_labels(args.ground_truth, _subset(args.subset), blocked, issues)
    preds = load_video_predictions(args.predictions, gt, drop_outside=args.drop_outside,
                                   blocked=blocked, issues=issues)
    result = evaluate_video_classification(gt, preds, args.top_k, args.tie_break)
    if not args.no_plot:
        plot_per_class_ap(result, os.path.join(args.out, "video-classification.png"))
    rows = [("mAP", _pct(result.mean_ap)), (f"hit@{result.top_k}", _pct(result.hit_at_k)),
            (f"avg hit@{result.top_k}", _pct(result.avg_hit_at_k))]
    text = (f"{result.num_videos} videos ({result.num_videos_without_prediction} without "
            f"predictions), {len(result.label_names)} classes, {len(preds)} predictions\n"
            + _table(rows, ("metric", "value (%)")))
    return video_classification_report(result), text


def build_parser(parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser
                 ) -> argparse.ArgumentParser:
    """The command line's parser, of class ``parser_class`` (docs/options.md is made with
    one that lists what is added to it)."""
    parser = parser_class(
        prog="python -m hacs_eval",
        description="Score clip classification, video classification, temporal proposals "
                    "or temporal detection the ActivityNet / HACS way.")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text)

    def common(p):
        p.add_argument("--subset", default="validation",
                       help="subset to evaluate ('all': every subset); default validation")
        p.add_argument("--blocked", help="local list of video ids to leave out (one per line "
                                         "or a JSON list); replaces the reference's network "
                                         "look-up")
        p.add_argument("--out", default="out/evaluate",
                       help="folder for <command>.json and <command>.png")
        p.add_argument("--no-plot", action="store_true", help="do not write the PNG")
        p.add_argument("--strict", action="store_true",
                       help="fail on the first input warning instead of counting it")

    def tie_break(p, what):
        p.add_argument("--tie-break", choices=TIE_BREAKS, default="reference",
                       help=f"order of equal scores among the {what}: reference (default: as "
                            "ActivityNet's argsort()[::-1], the later entry in the file "
                            "first) or file-order (the earlier entry first; departs from the "
                            "reference)")

    p = command("proposals", "AR@AN and AUC of temporal proposals")
    p.add_argument("--ground-truth", required=True, help="ActivityNet / HACS Segments JSON")
    p.add_argument("--proposals", required=True, help="ActivityNet results JSON")
    p.add_argument("--max-avg-proposals", type=float, default=100,
                   help="maximum average number of proposals per video (default 100, the "
                        "ActivityNet protocol); 0: the average given")
    p.add_argument("--tiou", default="activitynet",
                   help="tIoU thresholds: activitynet (0.5:0.05:0.95), thumos14 "
                        "(0.3:0.1:0.7), START:STEP:STOP or a comma list")
    p.add_argument("--drop-outside", action="store_true",
                   help="ignore proposals of videos outside the subset (default: count them "
                        "in the total that sets the per-video truncation, as the reference "
                        "does); departs from the reference")
    tie_break(p, "proposals of one video")
    common(p)

    p = command("detection", "mAP at tIoU thresholds of temporal detections")
    p.add_argument("--ground-truth", required=True, help="ActivityNet / HACS Segments JSON")
    p.add_argument("--detections", required=True, help="ActivityNet results JSON")
    p.add_argument("--tiou", default="activitynet",
                   help="tIoU thresholds: activitynet (0.5:0.05:0.95), thumos14 "
                        "(0.3:0.1:0.7), START:STEP:STOP or a comma list")
    p.add_argument("--drop-outside", action="store_true",
                   help="ignore detections in videos outside the subset (default: count them "
                        "as false positives, as the reference does); departs from the "
                        "reference")
    tie_break(p, "detections of one class, and equal tIoU with two ground-truth segments")
    common(p)

    p = command("classification", "clip top-1 / top-5 and per-class accuracy")
    p.add_argument("--labels", required=True,
                   help="HACS Clips CSV (*.csv) or TFRecord clip shards (glob or folder)")
    p.add_argument("--predictions", required=True, help="per-clip predictions, CSV or JSON")
    p.add_argument("--k", type=int, default=50,
                   help="size of the top / bottom class groups (HACS supplementary: 50)")
    p.add_argument("--rank-labels",
                   help="rank classes by positive-clip count in these labels (e.g. the "
                        "training CSV) instead of in the evaluated ones")
    p.add_argument("--rank-subset", default="training",
                   help="subset of --rank-labels to count (default training)")
    p.add_argument("--include-unannotated", action="store_true",
                   help="shards: also score labelled clips not yet annotated (annotation 0)")
    common(p)

    p = command("video-classification",
                "hit@k and mAP over videos (ActivityNet untrimmed video classification)")
    p.add_argument("--ground-truth", required=True, help="ActivityNet / HACS Segments JSON")
    p.add_argument("--predictions", required=True,
                   help="ActivityNet classification results JSON: {results: {video_id: "
                        "[{label, score}, ...]}}")
    p.add_argument("--top-k", type=int, default=DEFAULT_TOP_K,
                   help=f"k of hit@k: how many best-scored labels per video count (default "
                        f"{DEFAULT_TOP_K}, as eval_classification.py)")
    p.add_argument("--drop-outside", action="store_true",
                   help="ignore predictions for videos outside the subset (default: they are "
                        "false positives of their class's AP, as the reference counts them); "
                        "departs from the reference")
    tie_break(p, "predictions of one class (AP) and of one video (hit@k)")
    common(p)
    return parser


RUNNERS = {"proposals": _run_proposals, "detection": _run_detection,
           "classification": _run_classification,
           "video-classification": _run_video_classification}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    issues = Issues(strict=args.strict)
    os.makedirs(args.out, exist_ok=True)
    try:
        report, text = RUNNERS[args.command](args, issues)
    except (FormatError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for line in issues.lines():
        print(line, file=sys.stderr)
    options = {k: v for k, v in vars(args).items() if k != "command"}
    document = {"command": args.command, "options": options, "metrics": report,
                "input_issues": issues.as_dict()}
    path = os.path.join(args.out, f"{args.command}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=1, default=_json_default)
    print(text)
    print(f"\nwrote {path}" + ("" if args.no_plot else
                               f" and {os.path.join(args.out, args.command + '.png')}"))
    return 0


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value)}")
