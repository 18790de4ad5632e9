"""Decode-and-sample stage vs a bare OpenCV decode loop over the same videos, same run.

    .venv/bin/python -m benchmarks.bench_decode_sample [--videos DIR] [--repeat 3]

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
import os
import sys
import tempfile

from benchmarks.common import add_videos_option, bare_decode, best_of, timed, video_files
from transforms.clips.config import ClipConfig
from transforms.clips.stage import _SampleClipsFn
from transforms.types import ClipJob, VideoRef


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_videos_option(ap)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    paths = video_files(args.videos)
    print(f"{'video':22s} {'frames':>6s} {'read s':>8s} {'grab s':>8s} {'stage s':>8s} "
          f"{'clips':>5s} {'stage/read':>10s} {'stage/grab':>10s}")
    tot = {"read": 0.0, "grab": 0.0, "stage": 0.0, "clips": 0}
    for path in paths:
        t_read, frames = best_of(lambda p=path: bare_decode(p), args.repeat)
        t_grab, _ = best_of(lambda p=path: bare_decode(p, grab_only=True), args.repeat)
        t_stage, clips = best_of(lambda p=path: stage(p), args.repeat)
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
        try:
            with timed() as job:
                report = run(["--input", args.videos, "--output", out, "--num_shards", "4",
                              "--skip_dedup", "--skip_person_filter",
                              "--runner", "DirectRunner", "--direct_num_workers=1"],
                             save_main_session=False)
        finally:
            sys.stderr = saved
            devnull.close()
        t_job = job.wall
    print(f"whole job without filters (DirectRunner, 1 worker, incl. Beam start-up, shards, "
          f"indexes, report): {t_job:.2f} s, "
          f"{report['clips']} clips, ratio to bare read loop {t_job / tot['read']:.2f}")


if __name__ == "__main__":
    main()
