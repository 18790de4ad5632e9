"""The shared analysis pass vs one decode per filter, and vs a bare decode loop, same run.

    .venv/bin/python -m benchmarks.bench_analyze [--videos DIR] [--repeat 3]

For each sample video: a bare OpenCV ``cap.read()`` loop; fingerprinting alone and shot
detection + shot-frame sampling alone (each its own decode, as two separate stages would
do); and the shared pass that feeds all three consumers from one decode (what
``AnalyzeVideos`` runs), all with the same prefetching decoder thread. Prints times (best
of --repeat) and the ratios shared / separate and shared / bare.
"""

from __future__ import annotations

import argparse
import os

from benchmarks.common import add_videos_option, bare_decode, best_of, video_files
from transforms.analyze.decode import PREFETCH, decode_pass
from transforms.dedup.fingerprint import Fingerprinter
from transforms.persons.sampling import ShotFrameSampler
from transforms.shots.histogram import HistogramShotDetector


def fingerprint_only(path: str) -> None:
    fp = Fingerprinter("v")
    fp.result(decode_pass(path, [fp], PREFETCH))


def shots_only(path: str) -> None:
    detector = HistogramShotDetector()
    sampler = ShotFrameSampler(detector, "v")
    stats = decode_pass(path, [detector, sampler], PREFETCH)
    sampler.result(stats)
    detector.result(stats)


def shared(path: str) -> None:
    fp = Fingerprinter("v")
    detector = HistogramShotDetector()
    sampler = ShotFrameSampler(detector, "v")
    stats = decode_pass(path, [fp, detector, sampler], PREFETCH)
    sampler.result(stats)
    detector.result(stats)
    fp.result(stats)


def best(fn, path: str, repeat: int) -> float:
    return best_of(lambda: fn(path), repeat)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_videos_option(ap)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    paths = video_files(args.videos)
    cols = ("bare", "fingerprint", "shots", "separate", "shared")
    print(f"{'video':22s} " + " ".join(f"{c:>11s}" for c in cols)
          + f" {'shared/sep':>10s} {'shared/bare':>11s}")
    total = dict.fromkeys(cols, 0.0)
    for path in paths:
        row = {"bare": best(bare_decode, path, args.repeat),
               "fingerprint": best(fingerprint_only, path, args.repeat),
               "shots": best(shots_only, path, args.repeat),
               "shared": best(shared, path, args.repeat)}
        row["separate"] = row["fingerprint"] + row["shots"]
        for c in cols:
            total[c] += row[c]
        print(f"{os.path.basename(path):22s} " + " ".join(f"{row[c]:11.3f}" for c in cols)
              + f" {row['shared'] / row['separate']:10.2f} {row['shared'] / row['bare']:11.2f}")
    print(f"{'TOTAL':22s} " + " ".join(f"{total[c]:11.3f}" for c in cols)
          + f" {total['shared'] / total['separate']:10.2f}"
          f" {total['shared'] / total['bare']:11.2f}")


if __name__ == "__main__":
    main()
