"""Decode-and-sample stage vs a bare OpenCV decode loop over the same videos, same run.

    .venv/bin/python benchmarks/bench_decode_sample.py [--videos DIR] [--repeat 3]

Prints, per video and in total: the bare loop's time (``cap.read()`` on every frame, and
``cap.grab()`` only as the floor of any decoder), the stage's time (the SampleClips DoFn run
in-process: decode, clip sampling, resize, JPEG, tf.train.Example), the ratio stage / bare,
and clips per second; then the whole job on the DirectRunner (one worker, filters off: the
same decode-and-sample work) for the end to end. The stage decodes on a prefetching thread
(``transforms.analyze.decode.PREFETCH``), so resizing and JPEG encoding overlap decoding.
Times are the best of --repeat runs.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile
import time

import cv2

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from transforms.clips.stage import ClipConfig, ClipJob, _SampleClipsFn  # noqa: E402
from transforms.types import VideoRef  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_VIDEOS = os.path.join(HERE, "..", "..", "shared", "data", "videos")


def bare_loop(path: str, grab_only: bool) -> int:
    cap = cv2.VideoCapture(path)
    n = 0
    while cap.grab() if grab_only else cap.read()[0]:
        n += 1
    cap.release()
    return n


def stage(path: str) -> int:
    fn = _SampleClipsFn(ClipConfig(), {}, total=1)
    fn.setup()
    devnull = open(os.devnull, "w")
    saved, sys.stderr = sys.stderr, devnull
    try:
        out = list(fn.process(ClipJob(VideoRef(os.path.basename(path), path))))
    finally:
        sys.stderr = saved
        devnull.close()
    return len(out) - 1  # the last element is the video's outcome


def best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", default=DEFAULT_VIDEOS)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    paths = sorted(glob.glob(os.path.join(args.videos, "*.avi")) +
                   glob.glob(os.path.join(args.videos, "*.mp4")))
    print(f"{'video':22s} {'frames':>6s} {'read s':>8s} {'grab s':>8s} {'stage s':>8s} "
          f"{'clips':>5s} {'stage/read':>10s} {'stage/grab':>10s}")
    tot = {"read": 0.0, "grab": 0.0, "stage": 0.0, "clips": 0}
    for path in paths:
        t_read, frames = best(lambda p=path: bare_loop(p, False), args.repeat)
        t_grab, _ = best(lambda p=path: bare_loop(p, True), args.repeat)
        t_stage, clips = best(lambda p=path: stage(p), args.repeat)
        tot["read"] += t_read
        tot["grab"] += t_grab
        tot["stage"] += t_stage
        tot["clips"] += clips
        print(f"{os.path.basename(path):22s} {frames:6d} {t_read:8.3f} {t_grab:8.3f} "
              f"{t_stage:8.3f} {clips:5d} {t_stage / t_read:10.2f} {t_stage / t_grab:10.2f}")
    print(f"{'TOTAL':22s} {'':6s} {tot['read']:8.3f} {tot['grab']:8.3f} {tot['stage']:8.3f} "
          f"{tot['clips']:5d} {tot['stage'] / tot['read']:10.2f} "
          f"{tot['stage'] / tot['grab']:10.2f}")
    print(f"stage throughput: {tot['clips'] / tot['stage']:.1f} clips/s on one worker")

    from pipelines.build_dataset import run

    with tempfile.TemporaryDirectory() as out:
        devnull = open(os.devnull, "w")
        saved, sys.stderr = sys.stderr, devnull
        t = time.perf_counter()
        try:
            report = run(["--input", args.videos, "--output", out, "--num_shards", "4",
                          "--skip_dedup", "--skip_person_filter",
                          "--runner", "DirectRunner", "--direct_num_workers=1"],
                         save_main_session=False)
        finally:
            sys.stderr = saved
            devnull.close()
        t_job = time.perf_counter() - t
    print(f"whole job without filters (DirectRunner, 1 worker, incl. Beam start-up, shards, "
          f"indexes, report): {t_job:.2f} s, "
          f"{report['clips']} clips, ratio to bare read loop {t_job / tot['read']:.2f}")


if __name__ == "__main__":
    main()
