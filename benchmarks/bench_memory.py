"""Peak memory of the whole dataset job against the number of videos and the bytes of clips.

    python -m benchmarks.bench_memory [--work DIR] [--counts 1,24,96] [--minutes 1,20]
                                      [--filter on,off] [--videos DIR]

The corpus is built once and cached in ``--work``: a 1-minute and a 20-minute video of real
footage (15-second excerpts of the sample videos ``vtest.avi`` and ``Megamind.avi`` in turn,
so a hard cut every 15 s), 160x120 at 25 fps, H.264 (``tests.media.looped_footage``).

Each measurement is one run of ``python -m pipelines.build_dataset`` in a child process
(``--skip_dedup --num_shards 2``; the person filter on, ``--filter on``, or off,
``--skip_person_filter``) into a new output folder; its peak RSS is the child's
``ru_maxrss`` (``os.wait4``). Runs:

* ``--counts``: a manifest listing the 1-minute video N times under N video ids (every copy
  is decoded and written: dedup is off);
* ``--minutes``: one video of that many minutes.

Prints one row per run: videos, minutes, person filter, clip bytes written (the shards),
peak RSS, its growth over the 1-video 1-minute run with the same filter, and that growth
per byte of clips. Only the job's command line and output files are used.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from benchmarks.common import REPO_ROOT, add_videos_option

SOURCES = ("vtest.avi", "Megamind.avi")
SIZE = (160, 120)
FPS = 25


def make_video(work: str, videos: str, minutes: int) -> str:
    """The cached ``minutes``-long test video in ``work`` (made on first use)."""
    from tests.media import encode_video, looped_footage

    path = os.path.join(work, f"footage-{minutes}min.mp4")
    if not os.path.exists(path):
        tmp = path + ".tmp.mp4"
        encode_video(tmp, looped_footage(tuple(os.path.join(videos, s) for s in SOURCES),
                                         60 * minutes, fps=FPS, size=SIZE), fps=FPS, gop=50)
        os.replace(tmp, path)
    return path


def run_job(manifest: str, output: str, person_filter: bool) -> dict:
    """Run the job in a child process; its peak RSS (MB), wall seconds, clip bytes and
    clips from the published dataset.json and report."""
    args = [sys.executable, "-m", "pipelines.build_dataset", "--input", manifest,
            "--output", output, "--skip_dedup", "--num_shards", "2"]
    if not person_filter:
        args.append("--skip_person_filter")
    start = time.perf_counter()
    child = subprocess.Popen(args, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the job failed:\n{stderr.decode()[-3000:]}")
    with open(os.path.join(output, "dataset.json")) as f:
        doc = json.load(f)
    return {"peak_mb": usage.ru_maxrss / 1024, "wall": wall,
            "clip_bytes": sum(row["bytes"] for row in doc["shards"]),
            "clips": doc["num_records"]}


def manifest_of(work: str, video: str, copies: int) -> str:
    path = os.path.join(work, f"manifest-{os.path.basename(video)}-{copies}.csv")
    with open(path, "w") as f:
        f.write("video_id,uri,label,subset\n")
        for i in range(copies):
            f.write(f"copy{i:05d},{video},walking,training\n")
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(),
                                                       "hacs-bench-memory"),
                        help="folder for the cached videos and the runs' outputs "
                             "(default: %(default)s)")
    parser.add_argument("--counts", default="1,24,96",
                        help="numbers of copies of the 1-minute video, comma-separated")
    parser.add_argument("--minutes", default="20",
                        help="lengths of single videos in minutes, comma-separated")
    parser.add_argument("--filter", default="on,off",
                        help="person filter on, off or both (comma-separated)")
    add_videos_option(parser)
    args = parser.parse_args(argv)
    os.makedirs(args.work, exist_ok=True)
    one = make_video(args.work, args.videos, 1)
    cases = [(int(n), 1) for n in args.counts.split(",") if n]
    cases += [(1, int(m)) for m in args.minutes.split(",") if m and (1, int(m)) not in cases]
    if (1, 1) not in cases:
        cases.insert(0, (1, 1))
    print(f"{'filter':>6} {'videos':>6} {'min':>4} {'clips':>6} {'clip MB':>8} "
          f"{'peak MB':>8} {'growth MB':>9} {'per clip MB':>11} {'wall s':>7}", flush=True)
    for on in [f == "on" for f in args.filter.split(",")]:
        base = None
        for copies, minutes in cases:
            video = one if minutes == 1 else make_video(args.work, args.videos, minutes)
            out = os.path.join(args.work, "runs", f"{'on' if on else 'off'}-{copies}x{minutes}")
            shutil.rmtree(out, ignore_errors=True)
            row = run_job(manifest_of(args.work, video, copies), out, on)
            shutil.rmtree(out, ignore_errors=True)
            if (copies, minutes) == (1, 1):
                base = row
            growth = row["peak_mb"] - base["peak_mb"]
            clip_mb = row["clip_bytes"] / 1e6
            extra = clip_mb - base["clip_bytes"] / 1e6
            per = f"{growth / extra:.2f}" if extra > 0 else "-"
            print(f"{'on' if on else 'off':>6} {copies:>6} {minutes:>4} {row['clips']:>6} "
                  f"{clip_mb:>8.1f} {row['peak_mb']:>8.0f} {growth:>+9.0f} {per:>11} "
                  f"{row['wall']:>7.1f}", flush=True)


if __name__ == "__main__":
    main()
