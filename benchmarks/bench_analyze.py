"""The shared analysis pass vs one decode per filter, and vs a bare decode loop, same run.

    .venv/bin/python -m benchmarks.bench_analyze [--videos DIR] [--repeat 3]
    .venv/bin/python -m benchmarks.bench_analyze --per_part [--videos DIR] [--repeat 3]
    .venv/bin/python -m benchmarks.bench_analyze --in_pass [--person_frames] [--prefetch N]
        [--videos DIR]

For each sample video: a bare OpenCV ``cap.read()`` loop; fingerprinting alone and shot
detection + shot-frame sampling alone (each its own decode, as two separate stages would
do); and the shared pass that feeds all three consumers from one decode (what
``AnalyzeVideos`` runs), all with the same prefetching decoder thread. Prints times (best
of --repeat) and the ratios shared / separate and shared / bare.

``--in_pass``: the job's pass as it runs (fingerprints, shots, candidate clips, thumbnails;
``--person_frames`` adds the frames to score), each part's CPU measured inside it: the thread
CPU of its consumer's ``add`` and of its ``drain``/``finish`` (the H.264 clips' scaling and
encoding shown apart), the decoder thread's CPU and the rest of the pass, as shares of a bare
PyAV decode of the same videos in the same process, least of ``--repeat``, BLAS on one thread
as in the job's workers. One run gives every share, so they add up (the per-consumer table
of benchmarks/RESULTS.md, issue 23). ``--prefetch 0``: the same pass decoding on the
consumers' thread (no decoder thread), to weigh the thread's cost.

``--per_part``: each part of the job's pass (``transforms.analyze.part``, default configs, as
``pipelines.build_dataset.analysis_parts`` makes them) alone in the pass, written to a
temporary work folder as the job writes them, in CPU seconds (user + system of this process,
decoder thread included), against a bare PyAV decode (one decoder thread) and the pass with
no part measured in the same run, configurations interleaved, least of ``--repeat``. A part
that follows shot boundaries runs behind the shots part; its share is the difference.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

from benchmarks.common import add_videos_option, bare_decode, best_of, video_files
from transforms.analyze.decode import PREFETCH, decode_pass, dispatch, open_video
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


def pyav_decode(path: str) -> None:
    """Every frame through PyAV, one decoder thread, nothing converted: the floor."""
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        for _ in container.decode(stream):
            pass


def job_parts() -> dict:
    """The default job's parts by name (person filter and dedup on, default configs)."""
    from transforms.clips.config import ClipConfig
    from transforms.clips.part import CandidateClipsPart
    from transforms.dedup.config import FingerprintConfig
    from transforms.dedup.part import FingerprintPart
    from transforms.output.part import ThumbnailConfig, ThumbnailPart
    from transforms.persons.config import ShotFrameConfig
    from transforms.persons.part import ShotFramesPart
    from transforms.shots.config import ShotDetectorConfig
    from transforms.shots.part import ShotsPart

    return {"fingerprints": FingerprintPart(FingerprintConfig()),
            "shots": ShotsPart(ShotDetectorConfig()),
            "shot_frames": ShotFramesPart(ShotFrameConfig()),
            "clips": CandidateClipsPart(ClipConfig()),
            "thumbnails": ThumbnailPart(ThumbnailConfig())}


# (label, parts in the pass, the configuration its share is measured against)
PART_RUNS = (("pass, no part", (), None),
             ("fingerprints", ("fingerprints",), "pass, no part"),
             ("shots", ("shots",), "pass, no part"),
             ("shot_frames", ("shots", "shot_frames"), "shots"),
             ("clips", ("shots", "clips"), "shots"),
             ("thumbnails", ("thumbnails",), "pass, no part"),
             ("all parts", ("fingerprints", "shots", "shot_frames", "clips", "thumbnails"),
              "pass, no part"))


def run_parts(path: str, parts: list, work: str, spent: dict | None = None,
              prefetch: int = PREFETCH) -> float:
    """One video through the pass with ``parts``, as ``AnalyzeVideos`` runs it (results
    written to ``work``, then removed); returns the decoder thread's CPU seconds (0 with
    ``prefetch`` 0: the caller's thread decodes). With ``spent``, each part's thread CPU (its
    consumer's ``add``, its ``drain`` and ``finish``) is added to ``spent[part.name]``."""
    from contextlib import nullcontext

    from transforms.analyze.part import VideoPass
    from transforms.analyze.results import ResultWriter
    from transforms.types import VideoRef

    def timing(part):
        return nullcontext() if spent is None else _Spent(spent, part.name)

    ref = VideoRef(os.path.basename(path), path)
    writer = ResultWriter(work, ref.video_id)
    with open_video(path) as video:
        here = VideoPass(ref, video.frame_period)
        runs = [part.start(here) for part in parts]
        consumers = [run.consumer if spent is None else _Timed(part.name, run.consumer, spent)
                     for part, run in zip(parts, runs, strict=True)]
        for _ in dispatch(video, consumers, prefetch):
            for part, run in zip(parts, runs, strict=True):
                with timing(part):
                    run.drain(writer)
        for part, run in zip(parts, runs, strict=True):
            with timing(part):
                run.finish(video.stats)
                run.drain(writer)
        decoder = video.stats.decoder_cpu_seconds
    writer.abort()
    return decoder


def per_part(paths: list[str], repeat: int) -> None:
    """Print each part's CPU share of the pass (see the module docstring)."""
    parts = job_parts()
    for part in parts.values():
        part.setup(lambda load: load())
    work = tempfile.mkdtemp(prefix="bench-parts-")
    best: dict[str, float] = {}
    try:
        run_parts(paths[0], list(parts.values()), work)  # imports and first-call costs
        for _ in range(max(repeat, 1)):
            runs = [("bare PyAV decode", lambda: [pyav_decode(p) for p in paths])]
            runs += [(label, lambda names=names: [run_parts(p, [parts[n] for n in names], work)
                                                  for p in paths])
                     for label, names, _ in PART_RUNS]
            for label, fn in runs:
                cpu = time.process_time()
                fn()
                best[label] = min(best.get(label, float("inf")), time.process_time() - cpu)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bare = best["bare PyAV decode"]
    print(f"{len(paths)} videos: " + ", ".join(os.path.basename(p) for p in paths))
    print(f"CPU seconds (user + system, this process), least of {repeat}")
    print(f"{'configuration':22s} {'CPU s':>8s} {'part s':>8s} {'part/decode':>12s} "
          f"{'pass/decode':>12s}")
    print(f"{'bare PyAV decode':22s} {bare:8.2f} {'':8s} {'':12s} {1.0:12.2f}")
    for label, _, base in PART_RUNS:
        cpu = best[label]
        share = cpu - best[base] if base else cpu - bare
        print(f"{label:22s} {cpu:8.2f} {share:8.2f} {share / bare:12.1%} {cpu / bare:12.2f}")


class _Timed:
    """A consumer whose ``add`` adds its thread CPU to ``spent[name]``."""

    def __init__(self, name: str, consumer, spent: dict):
        self._name, self._consumer, self._spent = name, consumer, spent

    def wants(self, index: int, time_: float) -> bool:
        return self._consumer.wants(index, time_)

    def add(self, index: int, time_: float, frame) -> None:
        start = time.thread_time()
        self._consumer.add(index, time_, frame)
        self._spent[self._name] += time.thread_time() - start


class _Spent:
    """A block whose thread CPU adds to ``spent[name]``."""

    def __init__(self, spent: dict, name: str):
        self._spent, self._name = spent, name

    def __enter__(self):
        self._start = time.thread_time()

    def __exit__(self, *exc):
        self._spent[self._name] += time.thread_time() - self._start


def _timing(owner, name: str, key: str, spent: dict) -> None:
    """Wrap ``owner.name`` (a function or method) so its thread CPU adds to ``spent[key]``."""
    original = getattr(owner, name, None)
    if original is None:
        return

    def timed_call(*args, **kwargs):
        start = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[key] += time.thread_time() - start

    setattr(owner, name, timed_call)


def in_pass(paths: list[str], repeat: int, person_frames: bool,
            prefetch: int = PREFETCH) -> None:
    """Print each part's CPU share inside the job's pass (see the module docstring)."""
    from collections import defaultdict

    import transforms.clips.sampler as sampler
    from transforms.analyze.decode import DecodedFrame

    try:
        from transforms.threads import one_blas_thread
        one_blas_thread()
    except ImportError:  # a checkout from before the BLAS limit
        pass
    parts = job_parts()
    names = ["fingerprints", "shots", *(["shot_frames"] if person_frames else []), "clips",
             "thumbnails"]
    spent: dict[str, float] = defaultdict(float)
    _timing(sampler, "encode_h264", "  clips: H.264 encoding", spent)
    # bgr_even_short_side: the h264 pictures of checkouts before issue 23 (measured "before")
    for method in ("i420_even_short_side", "bgr_even_short_side"):
        _timing(DecodedFrame, method, "  clips: H.264 pictures (scaling)", spent)
    best: dict[str, float] = {}
    work = tempfile.mkdtemp(prefix="bench-in-pass-")
    try:
        for rep in range(max(repeat, 1) + 1):  # the first round warms up
            spent.clear()
            bare = decoder = whole = 0.0
            for path in paths:
                cpu = time.process_time()
                pyav_decode(path)
                bare += time.process_time() - cpu
                cpu = time.process_time()
                decoder += run_parts(path, [parts[n] for n in names], work, spent, prefetch)
                whole += time.process_time() - cpu
            if rep == 0:
                continue
            figures = {"bare PyAV decode": bare,
                       **({"decoder thread": decoder} if prefetch > 0 else {}), **spent,
                       "the pass, all of it": whole}
            rest = ("the rest (hand-offs, Python)" if prefetch > 0 else
                    "the rest (decoding on this thread too)")
            figures[rest] = whole - decoder - sum(spent[n] for n in names)
            if whole / bare < best.get("ratio", float("inf")):
                best = {"ratio": whole / bare, **figures}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bare = best.pop("bare PyAV decode")
    ratio = best.pop("ratio")
    print(f"{len(paths)} videos: " + ", ".join(os.path.basename(p) for p in paths))
    print(f"CPU seconds inside the pass (the run of least pass/decode of {repeat}); "
          f"bare PyAV decode {bare:.2f} s")
    print(f"{'part':40s} {'CPU s':>8s} {'/decode':>8s}")
    for label, cpu in best.items():
        print(f"{label:40s} {cpu:8.2f} {cpu / bare:8.1%}")
    print(f"pass / bare decode = {ratio:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_videos_option(ap)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--per_part", action="store_true",
                    help="each part of the job's pass alone, in CPU seconds (see above)")
    ap.add_argument("--in_pass", action="store_true",
                    help="each part's CPU inside the job's pass, one run (see above)")
    ap.add_argument("--prefetch", type=int, default=PREFETCH,
                    help=f"with --in_pass: frames the decoder thread runs ahead (the job's "
                         f"{PREFETCH}); 0 decodes on the consumers' thread, no decoder thread")
    ap.add_argument("--person_frames", action="store_true",
                    help="with --in_pass: the frames to score for people too (the job "
                         "without --skip_person_filter)")
    args = ap.parse_args()
    paths = video_files(args.videos)
    if args.in_pass:
        in_pass(paths, args.repeat, args.person_frames, args.prefetch)
        return
    if args.per_part:
        per_part(paths, args.repeat)
        return
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
