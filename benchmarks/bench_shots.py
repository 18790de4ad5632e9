"""Shot boundary accuracy and speed: ours against PySceneDetect, on real footage with known cuts.

Builds a composite video from the sample videos with boundaries at known frames (hard cuts
between excerpts of different videos and of different parts of one video, dissolves and fades
through black), and uses ``Megamind.avi`` with its cuts labelled by hand
(``benchmarks/data/megamind_cuts.json``). Prints precision, recall and F1 (a detection matches
a hard cut within +-2 frames, and a gradual transition anywhere inside its span +-2 frames) and
frames per second for our detector and for PySceneDetect's ContentDetector, AdaptiveDetector
and HistogramDetector at their defaults, run in a separate venv (``--scenedetect_python``).

    python -m benchmarks.bench_shots [--videos DIR] [--sweep]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass

import cv2
import numpy as np

from benchmarks.common import (
    BENCH_DATA,
    REPO_ROOT,
    DecodeOnly,
    add_videos_option,
    best_of,
    timed,
)
from tests.media import iter_frames
from transforms.analyze.decode import decode_pass
from transforms.shots.histogram import ShotDetector, ShotParams

SIZE = (384, 288)
FPS = 25.0
TOLERANCE = 2


@dataclass(frozen=True)
class Boundary:
    """A true boundary: ``frame`` is the first frame of the new shot; a gradual transition
    also spans ``[lo, hi]`` (frames of the mix)."""

    frame: int
    lo: int
    hi: int
    kind: str


def load(path: str) -> list[np.ndarray]:
    return [cv2.resize(f.image, SIZE, interpolation=cv2.INTER_AREA)
            for f in iter_frames(path)]


def build_composite(videos: str) -> tuple[list[np.ndarray], list[Boundary]]:
    """Frames and true boundaries of the composite test video."""
    vt = load(os.path.join(videos, "vtest.avi"))
    mm = load(os.path.join(videos, "Megamind.avi"))
    bug = load(os.path.join(videos, "Megamind_bugy.avi"))
    tree = load(os.path.join(videos, "tree.avi"))
    # (frames, transition into it, cut frames inside the excerpt relative to its start)
    plan = [
        (vt[0:60], None, []),
        (mm[120:180], "cut", [154 - 120]),      # Megamind's own cut at 154 inside
        (tree[0:40], "cut", []),
        (vt[300:360], "dissolve", []),
        (vt[600:660], "cut", []),                # same camera, another minute
        (mm[210:260], "fade", []),
        (mm[20:80], "cut", []),                  # same film, an earlier part of another shot
        (tree[40:68], "dissolve", []),
        (bug[160:200], "cut", []),
        (vt[100:160], "fade", []),
        (mm[100:150], "cut", []),
    ]
    frames: list[np.ndarray] = []
    truth: list[Boundary] = []
    for part, into, inside in plan:
        if into == "cut":
            truth.append(Boundary(len(frames), len(frames), len(frames), "cut"))
        elif into == "dissolve":
            n = 10
            a, b = frames[-n:], part[:n]
            del frames[-n:]
            start = len(frames)
            for k in range(n):
                alpha = (k + 1) / (n + 1)
                frames.append(cv2.addWeighted(a[k], 1 - alpha, b[k], alpha, 0))
            truth.append(Boundary(start + n // 2, start, start + n - 1, "dissolve"))
            part = part[n:]
        elif into == "fade":
            n = 8
            start = len(frames) - n
            for k in range(n):
                frames[start + k] = (frames[start + k] * (1 - (k + 1) / n)).astype(np.uint8)
            for k in range(n):
                part[k] = (part[k] * (k / n)).astype(np.uint8)
            truth.append(Boundary(len(frames), start, len(frames) + n - 1, "fade"))
        base = len(frames)
        truth.extend(Boundary(base + c, base + c, base + c, "cut") for c in inside)
        frames.extend(f.copy() for f in part)
    return frames, truth


def write_video(frames: list[np.ndarray], path: str) -> None:
    out = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    for f in frames:
        out.write(f)
    out.release()


def megamind_truth(path: str) -> list[Boundary]:
    with open(path) as f:
        data = json.load(f)
    return [Boundary(c, c, c, "cut") for c in data["cuts"]]


def score(found: list[int], truth: list[Boundary]) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives); each truth matches one detection."""
    unused = sorted(found)
    tp = 0
    for b in truth:
        match = [c for c in unused if b.lo - TOLERANCE <= c <= b.hi + TOLERANCE]
        if match:
            unused.remove(min(match, key=lambda c: abs(c - b.frame)))
            tp += 1
    return tp, len(unused), len(truth) - tp


def times_of(path: str) -> list[float]:
    return [f.time for f in iter_frames(path, short_side=16)]


def decode_seconds(path: str) -> float:
    """Best of 2 decode-only passes of ``path``, in seconds."""
    return best_of(lambda: decode_pass(path, [DecodeOnly()]), 2)[0]


def run_ours(path: str, params: ShotParams, repeats: int = 2
             ) -> tuple[list[int], float, float, int]:
    """Cuts (decode indices), best end-to-end seconds of ``repeats`` passes, seconds inside
    the detector (one more, instrumented pass), frames."""
    total = float("inf")
    for _ in range(repeats):
        detector = ShotDetector(params)
        with timed() as t:
            stats = decode_pass(path, [detector])
            shots = detector.result(stats)
        total = min(total, t.wall)

    detector = ShotDetector(params)
    spent = [0.0]
    add = detector.add

    # per frame (tens of microseconds): the bare clock, without timed()'s CPU counters
    def timed_add(index: int, t: float, frame) -> None:
        t0 = time.perf_counter()
        add(index, t, frame)
        spent[0] += time.perf_counter() - t0

    detector.add = timed_add  # type: ignore[method-assign]
    detector.result(decode_pass(path, [detector]))
    return [s.start_frame for s in shots[1:]], total, spent[0], stats.frames_decoded


def run_scenedetect(python: str, paths: list[str]) -> dict | None:
    if not os.path.exists(python):
        print(f"PySceneDetect skipped: {python} is absent (python3 -m venv /tmp/sdvenv && "
              "/tmp/sdvenv/bin/pip install scenedetect opencv-python-headless)")
        return None
    out = subprocess.run([python, "-m", "benchmarks.scenedetect_runner", *paths], check=True,
                         capture_output=True, text=True, cwd=REPO_ROOT)
    return json.loads(out.stdout)


def to_indices(seconds: list[float], times: list[float]) -> list[int]:
    t = np.asarray(times)
    return [int(np.argmin(np.abs(t - s))) for s in seconds]


def report(name: str, rows: list[tuple[int, int, int]], frames: int, seconds: float,
           extra: str = "") -> float:
    tp, fp, fn = (sum(r[i] for r in rows) for i in range(3))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    print(f"{name:<34} P {p:.3f}  R {r:.3f}  F1 {f1:.3f}  (tp {tp} fp {fp} fn {fn})  "
          f"{frames / seconds:7.0f} frames/s end-to-end{extra}")
    return f1


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_videos_option(ap)
    ap.add_argument("--scenedetect_python", default="/tmp/sdvenv/bin/python")
    ap.add_argument("--sweep", action="store_true",
                    help="also print F1 for each distance, bin count and threshold")
    args = ap.parse_args(argv)

    work = tempfile.mkdtemp(prefix="bench-shots-")
    frames, truth = build_composite(args.videos)
    composite = os.path.join(work, "composite.mp4")
    write_video(frames, composite)
    # absolute: the PySceneDetect runner runs from the repository root and echoes the paths
    megamind = os.path.abspath(os.path.join(args.videos, "Megamind.avi"))
    sets = {composite: truth,
            megamind: megamind_truth(os.path.join(BENCH_DATA, "megamind_cuts.json"))}
    kinds = {k: sum(b.kind == k for b in truth) for k in ("cut", "dissolve", "fade")}
    print(f"composite: {len(frames)} frames at {FPS:g} fps, {SIZE[0]}x{SIZE[1]}, boundaries "
          f"{kinds}; Megamind.avi: {len(sets[megamind])} hand-labelled cuts")
    times = {p: times_of(p) for p in sets}

    if args.sweep:
        for distance in ("chi2", "bhattacharyya", "l1"):
            for bins in ((8, 4, 4), (16, 8, 8), (16, 16, 16)):
                for threshold in (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5):
                    params = ShotParams(distance=distance, bins=bins, threshold=threshold,
                                        gradual_threshold=threshold * 1.5)
                    rows, n, sec = [], 0, 0.0
                    for path, t in sets.items():
                        cuts, total, _, count = run_ours(path, params, repeats=1)
                        rows.append(score(cuts, t))
                        n += count
                        sec += total
                    report(f"{distance} {bins} t={threshold}", rows, n, sec)

    variants = {"ours (default)": ShotParams(),
                "ours (adaptive)": ShotParams(adaptive=True),
                "ours (no gradual)": ShotParams(gradual_frames=0)}
    decode = sum(decode_seconds(p) for p in sets)
    total_frames = sum(len(t) for t in times.values())
    print(f"decoding alone (OpenCV 4, every frame retrieved): {total_frames / decode:.0f} "
          "frames/s")
    speed, inside_speed = {}, {}
    for name, params in variants.items():
        rows, n, sec, inside = [], 0, 0.0, 0.0
        for path, t in sets.items():
            cuts, total, spent, count = run_ours(path, params)
            rows.append(score(cuts, t))
            n, sec, inside = n + count, sec + total, inside + spent
        report(name, rows, n, sec, f", {n / inside:6.0f} frames/s inside the detector")
        speed[name], inside_speed[name] = n / sec, n / inside

    sd = run_scenedetect(args.scenedetect_python, list(sets))
    if sd is not None:
        sd_decode = sum(sd["decode_seconds"].values())
        print(f"PySceneDetect {sd['version']} (separate venv, OpenCV 5, defaults); decoding "
              f"alone there: {total_frames / sd_decode:.0f} frames/s; 'outside decoding' = "
              "its time less that")
        ours, ours_inside = speed["ours (default)"], inside_speed["ours (default)"]
        for name, per_path in sd["results"].items():
            rows, n, sec = [], 0, 0.0
            for path, t in sets.items():
                res = per_path[path]
                rows.append(score(to_indices(res["cut_seconds"], times[path]), t))
                n += len(times[path])
                sec += res["seconds"]
            outside = n / max(sec - sd_decode, 1e-9)
            report(f"PySceneDetect {name}", rows, n, sec,
                   f", {outside:6.0f} frames/s outside decoding; ours (default) x"
                   f"{ours / (n / sec):.1f} end-to-end, x{ours_inside / outside:.1f} outside "
                   "decoding")


if __name__ == "__main__":
    main()
