"""What the benchmark scripts share: the repository's paths, the ``--videos`` option, timing.

Benchmarks run as modules from the repository root (``python -m benchmarks.bench_x``), so
they import the project's packages without touching ``sys.path``. Paths here are resolved from
this file, never from the current directory.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import cv2

T = TypeVar("T")

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the shared sample videos (OpenCV's samples: vtest.avi, Megamind.avi, Megamind_bugy.avi,
# tree.avi) live beside the repository, not in it
SAMPLE_VIDEOS = os.path.normpath(os.path.join(REPO_ROOT, "..", "shared", "data", "videos"))
# the committed test videos (short excerpts, see tests/data/videos/README.md)
TEST_VIDEOS = os.path.join(REPO_ROOT, "tests", "data", "videos")
BENCH_DATA = os.path.join(REPO_ROOT, "benchmarks", "data")


def add_videos_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--videos``: the folder of the sample videos, by default the shared one."""
    parser.add_argument("--videos", default=SAMPLE_VIDEOS,
                        help="folder of the sample videos (vtest.avi, Megamind.avi, "
                             "Megamind_bugy.avi, tree.avi); default: ../shared/data/videos "
                             "beside the repository, %(default)s")


def video_files(folder: str) -> list[str]:
    """The ``.avi`` and ``.mp4`` files in ``folder``, sorted by path."""
    return sorted(glob.glob(os.path.join(folder, "*.avi")) +
                  glob.glob(os.path.join(folder, "*.mp4")))


@dataclass
class Timing:
    """Seconds spent in a ``with timed() as t:`` block: wall clock, CPU (user + system) of
    this process with all its threads, and CPU of its children that ended and were waited for
    meanwhile. Filled in when the block ends."""

    wall: float = 0.0
    cpu: float = 0.0
    children_cpu: float = 0.0


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def timed() -> Iterator[Timing]:
    """Time the block; the wall clock starts after and stops before the CPU counters are
    read, so reading them does not count in ``wall``."""
    timing = Timing()
    cpu, children = _cpu_seconds(resource.RUSAGE_SELF), _cpu_seconds(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        yield timing
    finally:
        timing.wall = time.perf_counter() - start
        timing.cpu = _cpu_seconds(resource.RUSAGE_SELF) - cpu
        timing.children_cpu = _cpu_seconds(resource.RUSAGE_CHILDREN) - children


def best_of(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """The least wall seconds of ``repeat`` calls of ``fn`` (at least one), and the last
    call's result."""
    best = float("inf")
    for _ in range(max(repeat, 1)):
        with timed() as t:
            result = fn()
        best = min(best, t.wall)
    return best, result


def bare_decode(path: str, grab_only: bool = False) -> int:
    """Decode every frame of ``path`` with a plain OpenCV loop (``cap.read()``, or with
    ``grab_only`` ``cap.grab()``: no frame retrieved) and return the frames decoded: the
    baseline no decoding stage can beat."""
    cap = cv2.VideoCapture(path)
    frames = 0
    while cap.grab() if grab_only else cap.read()[0]:
        frames += 1
    cap.release()
    return frames


class DecodeOnly:
    """A frame consumer wanting every frame and doing nothing with it: run through
    ``decode_pass`` it times the pass's own decoding."""

    def wants(self, index: int, time: float) -> bool:
        return True

    def add(self, index: int, time: float, frame) -> None:
        pass


def sha256(path: str) -> str:
    """The hex SHA-256 of a file (how footage the benchmarks find in packages is checked)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
