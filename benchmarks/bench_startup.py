"""The start-up of a one-video job: CPU and wall seconds of the whole process, and what its
interpreter imported.

    python -m benchmarks.bench_startup [--repeats 3] [--against OTHER_CHECKOUT]

The job (``python -m pipelines.build_dataset``) runs on a 1-second 64x48 H.264 clip (the one
``bench_pipeline`` subtracts as the job's fixed cost; built in ``--work``), with its default
options (person filter on, OpenCV's SSD) and with ``--skip_person_filter``, each into a new
output folder. Every figure is the CPU time (user + system, ``RUSAGE_CHILDREN`` deltas) and
wall time of the child process, least of ``--repeats``. ``--against`` names another checkout
of this repository (an earlier commit, e.g. from ``git worktree add``) whose job is measured in
the same run, the runs alternating, so the two compare under the same load. Also prints
the CPU seconds of ``import pipelines.build_dataset`` alone and whether it loaded torch.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

from benchmarks.bench_pipeline import ChildRun, build_tiny, run_child
from benchmarks.common import REPO_ROOT

OPTIONS = {"default options": [], "--skip_person_filter": ["--skip_person_filter"]}
IMPORT = ("import resource, sys, time; c = time.process_time(); import pipelines.build_dataset; "
          "import json; print(json.dumps({'import_cpu': time.process_time() - c, "
          "'torch': 'torch' in sys.modules}))")


def measure(repo: str, tiny_folder: str, options: list[str], runs: str) -> ChildRun:
    """One job run of checkout ``repo`` on the tiny clip (a ChildRun)."""
    output = os.path.join(tempfile.mkdtemp(dir=runs), "out")
    result = run_child([sys.executable, "-m", "pipelines.build_dataset", "--input",
                        tiny_folder, "--output", output, *options], repo=repo)
    shutil.rmtree(os.path.dirname(output))
    return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "hacs_bench_pipeline"),
                    help="folder of the tiny clip (shared with bench_pipeline); default: "
                         "%(default)s")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each; the least counts")
    ap.add_argument("--against", default=None,
                    help="another checkout of this repository, measured in the same run")
    args = ap.parse_args(argv)
    tiny_folder = os.path.dirname(build_tiny(os.path.abspath(args.work)))
    repos = {"this checkout": REPO_ROOT}
    if args.against:
        repos[f"--against {args.against}"] = os.path.abspath(args.against)
    runs = tempfile.mkdtemp(prefix="bench-startup-")
    best: dict = {}
    try:
        for _ in range(max(args.repeats, 1)):
            for name, repo in repos.items():
                imported = run_child([sys.executable, "-c", IMPORT], repo=repo)
                key = (name, "import pipelines.build_dataset")
                if key not in best or imported.cpu < best[key][0].cpu:
                    best[key] = (imported, imported.result)
                for label, options in OPTIONS.items():
                    run = measure(repo, tiny_folder, options, runs)
                    if (name, label) not in best or run.cpu < best[(name, label)][0].cpu:
                        best[(name, label)] = (run, None)
    finally:
        shutil.rmtree(runs, ignore_errors=True)
    print(f"one-video job on {tiny_folder} (1 s, 64x48 H.264), least of {args.repeats}, "
          "runs alternating:")
    print(f"{'checkout':40s} {'what':32s} {'CPU s':>7s} {'wall s':>7s}")
    for (name, label), (run, extra) in best.items():
        note = f"  (in-process import {extra['import_cpu']:.2f} s CPU, torch " \
               f"{'loaded' if extra['torch'] else 'not loaded'})" if extra else ""
        print(f"{name:40s} {label:32s} {run.cpu:7.2f} {run.wall:7.2f}{note}")
    if args.against:
        other = f"--against {args.against}"
        for label in OPTIONS:
            print(f"{label}: this checkout's CPU / the other's = "
                  f"{best[('this checkout', label)][0].cpu / best[(other, label)][0].cpu:.2f}")


if __name__ == "__main__":
    main()
