"""Benchmark: vectorised proposal AR@AN and detection mAP vs straightforward per-pair loops.

Synthetic HACS-like data: ``--videos`` videos (default 5,000) with 1-4 ground-truth segments
each, ``--per-video`` (default 100) proposals / detections per video around them; detection
labels are mostly the video's class, out of ``--classes`` (default 200). The baseline is
``benchmarks/eval_loops.py``, an independent plain-Python implementation of the same rules
that loops over (ground truth, prediction) pairs. Both get the same documents; times exclude
JSON parsing and conversion. Prints the times, the ratio and the largest difference between the
two results (must be below 1e-6).

    python -m benchmarks.bench_eval [--videos 5000] [--per-video 100] [--repeat 3]
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks import eval_loops as loops
from benchmarks.common import best_of, timed
from hacs_eval.detection import mean_average_precision
from hacs_eval.formats import parse_ground_truth, parse_results
from hacs_eval.proposals import average_recall_vs_avg_nr_proposals


def make_data(num_videos: int, per_video: int, num_classes: int,
              seed: int = 0) -> tuple[dict, dict]:
    """Ground truth and results documents; scores are continuous (no ties)."""
    rng = np.random.default_rng(seed)
    labels = [f"class{i:03d}" for i in range(num_classes)]
    database, results = {}, {}
    for v in range(num_videos):
        vid = f"video{v:05d}"
        duration = rng.uniform(30, 240)
        label = labels[rng.integers(num_classes)]
        starts = rng.uniform(0, duration * 0.8, rng.integers(1, 5))
        ends = np.minimum(starts + rng.uniform(2, duration * 0.4, starts.size), duration)
        anns = [{"label": label, "segment": [float(s), float(e)]}
                for s, e in zip(starts, ends, strict=True)]
        database[vid] = {"subset": "validation", "duration": duration, "annotations": anns}
        near = rng.random(per_video) < 0.5
        pick = rng.integers(0, starts.size, per_video)
        ps = np.where(near, starts[pick] + rng.normal(0, 3, per_video),
                      rng.uniform(0, duration * 0.9, per_video))
        pe = np.where(near, ends[pick] + rng.normal(0, 3, per_video),
                      ps + rng.uniform(1, duration * 0.5, per_video))
        pe = np.maximum(pe, ps + 0.5)
        plabel = np.where(rng.random(per_video) < 0.8, label,
                          np.array(labels)[rng.integers(0, num_classes, per_video)])
        results[vid] = [{"label": str(lab), "score": float(sc), "segment": [float(s), float(e)]}
                        for lab, sc, s, e in zip(plabel, rng.random(per_video), ps, pe,
                                                 strict=True)]
    return {"database": database}, {"results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=5000)
    parser.add_argument("--per-video", type=int, default=100)
    parser.add_argument("--classes", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours (best is kept)")
    args = parser.parse_args()

    gt_json, res_json = make_data(args.videos, args.per_video, args.classes)
    with timed() as parse:
        gt = parse_ground_truth(gt_json, "validation")
        props = parse_results(res_json, gt, with_labels=False)
        dets = parse_results(res_json, gt, with_labels=True)
    loop_gt = loops.read_ground_truth(gt_json, "validation")
    loop_results = loops.read_results(res_json, loop_gt)
    print(f"data: {args.videos} videos, {len(gt.segments)} ground-truth segments, "
          f"{len(props)} proposals / detections, {len(gt.label_names)} classes "
          f"(our parse + validation: {parse.wall:.2f} s)")

    t_ours, ours = best_of(lambda: average_recall_vs_avg_nr_proposals(gt.segments, props, 100),
                           args.repeat)
    with timed() as loop:  # one run: the baseline is slow
        curve = loops.average_recall_vs_avg_nr_proposals(loop_gt, loop_results, 100)
    diff = max(np.abs(ours.recall - np.array(curve.recall)).max(), abs(ours.auc - curve.auc))
    print(f"proposals  AR@100 {100 * ours.ar_at(100):.2f}%  AUC {ours.auc:.2f}%  | "
          f"vectorised {t_ours:.3f} s  per-pair loop {loop.wall:.2f} s  "
          f"ratio {loop.wall / t_ours:.0f}x  max |diff| {diff:.1e}")

    t_ours, det = best_of(lambda: mean_average_precision(gt.segments, dets), args.repeat)
    with timed() as loop:
        scores = loops.mean_average_precision(loop_gt, loop_results)
    loop_ap = np.array([scores.ap[name] for name in gt.label_names]).T
    diff = max(np.abs(det.ap - loop_ap).max(), abs(det.average_mean_ap - scores.average_mean_ap))
    print(f"detection  mAP@0.5 {100 * det.mean_ap[0]:.2f}%  average mAP "
          f"{100 * det.average_mean_ap:.2f}%  | vectorised {t_ours:.3f} s  "
          f"per-pair loop {loop.wall:.2f} s  ratio {loop.wall / t_ours:.0f}x  "
          f"max |diff| {diff:.1e}")


if __name__ == "__main__":
    main()
