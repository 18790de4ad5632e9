"""Download throughput and cost per worker: downloads per second and CPU per downloaded MB with
1 and 8 concurrent downloads, against the tests' HTTP server on 127.0.0.1 (in a child
process, so that its CPU is not counted) serving the committed sample videos (0.9-1.3 MB).

The downloads go through the job's own DoFn (``transforms.download.stage._DownloadFn``:
``process`` then ``finish_bundle``, one worker's threads and its WorkerGate), so each one
is fetched, hashed, checked with the decoder (open and first frame), renamed into place and
recorded, as in a run. ``--latency`` makes the server wait that many seconds before each
response (a remote server's time to first byte); CPU per MB is the process's user + system
time over all threads divided by the MB downloaded.

    python -m benchmarks.bench_download [--videos_per_run 40] [--latency 0 0.2]
        [--concurrency 1 8] [--downloaders direct yt-dlp]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile

from benchmarks.common import REPO_ROOT, timed
from transforms.download.config import DownloadConfig
from transforms.download.stage import _DownloadFn
from transforms.types import DownloadTarget

NAMES = ("vtest_a.mp4", "vtest_b.mp4", "Megamind.avi", "Megamind_bugy.avi", "tree.avi")
SERVER = ("import sys, time\n"
          "from tests.download.server import TestServer\n"
          "s = TestServer().start()\n"
          "print(s.url, flush=True)\n"
          "sys.stdin.read()\n"
          "s.close()\n")


def _start_server() -> tuple[subprocess.Popen, str]:
    child = subprocess.Popen([sys.executable, "-c", SERVER], cwd=REPO_ROOT,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return child, child.stdout.readline().strip()


def measure(url: str, videos: int, concurrency: int, latency: float, downloader: str,
            run: int) -> dict:
    """Download ``videos`` distinct URLs through one worker's DoFn; the figures."""
    cfg = DownloadConfig(concurrent_downloads=concurrency, downloads_per_second=0,
                         url_downloader=downloader)
    out = tempfile.mkdtemp(prefix="bench-download-")
    targets = [DownloadTarget(f"v{i}", f"{url}/slow/{latency}/{NAMES[i % len(NAMES)]}/"
                                       f"{run}-{i}", ("walking",)) for i in range(videos)]
    fn = _DownloadFn(cfg, out, os.path.join(out, "work"), total=videos)
    fn.setup()
    try:
        # the progress lines go nowhere: the run's figures are the output
        with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull), \
                timed() as t:
            outcomes = [o for target in targets for o in fn.process(target)]
            outcomes += [w.value for w in fn.finish_bundle()]
    finally:
        fn.teardown()
        shutil.rmtree(out, ignore_errors=True)
    failed = [o for o in outcomes if o.status != "downloaded"]
    assert len(outcomes) == videos and not failed, failed[:3]
    mb = sum(o.size_bytes for o in outcomes) / 1e6
    return {"downloader": downloader, "concurrency": concurrency, "latency": latency,
            "videos": videos, "mb": mb, "wall": t.wall, "per_second": videos / t.wall,
            "mb_per_second": mb / t.wall, "cpu": t.cpu, "cpu_ms_per_mb": 1000 * t.cpu / mb}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos_per_run", type=int, default=40)
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.2],
                        help="seconds the server waits before each response")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--downloaders", nargs="+", default=["direct", "yt-dlp"],
                        choices=["direct", "yt-dlp"])
    args = parser.parse_args(argv)
    child, url = _start_server()
    rows = []
    try:
        measure(url, 3, 1, 0.0, "direct", -1)  # warm up: imports, first decoder open
        for downloader in args.downloaders:
            for latency in args.latency:
                for concurrency in args.concurrency:
                    rows.append(measure(url, args.videos_per_run, concurrency, latency,
                                        downloader, len(rows)))
    finally:
        child.stdin.close()
        child.wait(10)
    print(f"{'downloader':10s} {'conc':>4s} {'latency':>7s} {'videos':>6s} {'MB':>6s} "
          f"{'wall s':>7s} {'dl/s':>6s} {'MB/s':>6s} {'CPU s':>6s} {'CPU ms/MB':>9s}")
    for r in rows:
        print(f"{r['downloader']:10s} {r['concurrency']:4d} {r['latency']:7.2f} "
              f"{r['videos']:6d} {r['mb']:6.1f} {r['wall']:7.2f} {r['per_second']:6.2f} "
              f"{r['mb_per_second']:6.1f} {r['cpu']:6.2f} {r['cpu_ms_per_mb']:9.1f}")


if __name__ == "__main__":
    main()
