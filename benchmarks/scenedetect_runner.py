"""Run PySceneDetect's detectors at their defaults on videos; print cuts and timings as JSON.

Runs inside the separate PySceneDetect venv (it pulls OpenCV 5, which must not enter the
project's venv); called by ``bench_shots`` via subprocess, from the repository root. Usage:
``/tmp/sdvenv/bin/python -m benchmarks.scenedetect_runner VIDEO...``
"""

import json
import sys
import time

import cv2
import scenedetect
from scenedetect import AdaptiveDetector, ContentDetector, HashDetector, HistogramDetector

DETECTORS = {"ContentDetector": ContentDetector, "AdaptiveDetector": AdaptiveDetector,
             "HistogramDetector": HistogramDetector, "HashDetector": HashDetector}


def decode_seconds(path: str) -> float:
    """Seconds to decode every frame with this venv's OpenCV (what detect() reads with)."""
    t0 = time.perf_counter()
    cap = cv2.VideoCapture(path)
    while cap.read()[0]:
        pass
    cap.release()
    return time.perf_counter() - t0


def main(paths: list[str]) -> None:
    out: dict = {"version": scenedetect.__version__, "results": {},
                 "decode_seconds": {p: min(decode_seconds(p) for _ in range(2)) for p in paths}}
    for name, make in DETECTORS.items():
        for path in paths:
            seconds = float("inf")
            for _ in range(2):  # best of 2, as for ours
                t0 = time.perf_counter()
                scenes = scenedetect.detect(path, make())
                seconds = min(seconds, time.perf_counter() - t0)
            # 0.7 places frames by presentation time: report seconds, matched to decode
            # indices by the caller (an AVI's first frame may carry a one-frame offset).
            cuts = [start.seconds for start, _ in scenes[1:]]
            out["results"].setdefault(name, {})[path] = {"cut_seconds": cuts,
                                                        "seconds": seconds}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
