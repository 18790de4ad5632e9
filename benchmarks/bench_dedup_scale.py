"""Scale of the near-duplicate join: synthetic fingerprints with planted duplicate pairs
through ``DropNearDuplicates`` on the DirectRunner.

Every video has ``--frames`` random 256-bit frame hashes (quality 100) and ``--variants``
random crop-variant hashes per frame (5, as the default fingerprints; 0: none). One video in
``--plant_every`` gets a planted copy: alternately a re-encode (``--flip`` random bits flipped
in every frame hash) and, when there are variants, a crop (its frame hashes are the
original's first variants with ``--flip`` bits flipped, as a copy cropped to that window
would hash). Reports wall time, peak memory, candidate pairs per video (Beam counter), verified
pairs and planted-pair recall (the copy or its original dropped with the other as the kept
video). With ``--brute_force`` (only sensible at 1e4) the same fingerprints are also compared
all against all (every frame hash of every video with every frame hash and crop variant of
every other, numpy popcount in blocks) and the resulting drops must be identical to the
pipeline's. (The brute force computes the first 128 bits of every hash pair and the full 256
only where those are within the distance: exact, half the work.)

    python -m benchmarks.bench_dedup_scale --n 10000 --brute_force
    python -m benchmarks.bench_dedup_scale --n 100000
    python -m benchmarks.bench_dedup_scale --n 100000 --variants 0
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import shutil
import signal
import sys
import tempfile

import apache_beam as beam
import numpy as np
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions

from benchmarks.common import timed
from transforms.dedup.similarity import (
    DEFAULT_PARAMS,
    VARIANT_KEY_STRIDE,
    Edge,
    KeepKey,
    MatchConfig,
    compare,
    resolve_groups,
)
from transforms.dedup.stage import DropNearDuplicates
from transforms.types import VideoFingerprint

CHUNK = 1000
WORK_PREFIX = "hacs-dedup-scale-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_work_dirs() -> None:
    """Remove the work folders of earlier runs that were killed before they could clean up
    (SIGKILL, e.g. by the out-of-memory killer): each folder's name carries its run's pid."""
    for path in glob.glob(os.path.join(tempfile.gettempdir(), WORK_PREFIX + "*")):
        pid = os.path.basename(path)[len(WORK_PREFIX):].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _flipped(hashes: np.ndarray, flip: int, rng: np.random.Generator) -> np.ndarray:
    out = hashes.copy()
    for row in out:
        for pos in rng.choice(256, flip, replace=False):
            row[pos // 8] ^= np.uint8(1 << (pos % 8))
    return out


def make_chunk(chunk: int, n: int, frames: int, variants: int, plant_every: int, flip: int,
               seed: int) -> list[VideoFingerprint]:
    """The videos ``chunk*CHUNK .. (chunk+1)*CHUNK - 1`` (ids ``v<i>``) and their planted
    copies (``v<i>_copy``), deterministically from ``seed``."""
    rng = np.random.default_rng([seed, chunk])
    out = []
    times = tuple(round(0.5 * k, 3) for k in range(frames))

    def random_variants() -> bytes:
        return rng.integers(0, 256, (frames, variants, 32), dtype=np.uint8).tobytes()

    for i in range(chunk * CHUNK, min(n, (chunk + 1) * CHUNK)):
        hashes = rng.integers(0, 256, (frames, 32), dtype=np.uint8)
        fp = VideoFingerprint(f"v{i}", frames * 0.5, 640, 360, times, hashes.tobytes(),
                              (100,) * frames, variants=random_variants())
        out.append(fp)
        if i % plant_every == 0:
            crop = variants and (i // plant_every) % 2
            source = fp.variant_array()[:, 0] if crop else hashes
            out.append(VideoFingerprint(f"v{i}_copy", frames * 0.5, 480, 270, times,
                                        _flipped(source, flip, rng).tobytes(),
                                        (100,) * frames, variants=random_variants()))
    return out


def run_pipeline(args, work: str) -> tuple[float, dict[str, int], set[tuple[str, str]]]:
    chunks = (args.n + CHUNK - 1) // CHUNK
    options = PipelineOptions(["--runner=DirectRunner"])
    with timed() as t, beam.Pipeline(options=options) as p:
        fps = (p | "Chunks" >> beam.Create(range(chunks))
               | "Spread" >> beam.Reshuffle()
               | "Generate" >> beam.FlatMap(make_chunk, args.n, args.frames, args.variants,
                                            args.plant_every, args.flip, args.seed))
        out = fps | DropNearDuplicates(
            params=MatchConfig(variant_key_stride=args.variant_key_stride))
        (out.dropped
         | "DropJson" >> beam.Map(lambda o: json.dumps([o.video_id,
                                                        o.evidence["kept_video_id"]]))
         | "WriteDrops" >> beam.io.WriteToText(os.path.join(work, "drops"), ".jsonl"))
    wall = t.wall
    result = p.result
    counters = {m.key.metric.name: m.committed for m in result.metrics().query(
        MetricsFilter().with_namespace("dedup"))["counters"]}
    drops = set()
    for path in glob.glob(os.path.join(work, "drops*.jsonl")):
        with open(path) as f:
            drops.update(tuple(json.loads(line)) for line in f)
    return wall, counters, drops


def brute_force(args) -> tuple[set[tuple[str, str]], int]:
    """All-against-all: every frame pair of different videos; exact compare on pairs with a
    frame pair within the distance (no other pair can be a duplicate). Returns the drops and
    the number of videos."""
    fps = [fp for c in range((args.n + CHUNK - 1) // CHUNK)
           for fp in make_chunk(c, args.n, args.frames, args.variants, args.plant_every,
                                args.flip, args.seed)]
    owner = np.repeat(np.arange(len(fps)), args.frames)
    words = np.ascontiguousarray(np.concatenate([fp.hash_array() for fp in fps])).view(np.uint64)
    # targets: every frame hash, then every crop variant (a frame hash matches either)
    targets, target_owner = words, owner
    if args.variants:
        variant_words = np.concatenate([fp.variant_array().reshape(-1, 32) for fp in fps])
        targets = np.concatenate([words, np.ascontiguousarray(variant_words).view(np.uint64)])
        target_owner = np.concatenate([owner, np.repeat(np.arange(len(fps)),
                                                        args.frames * args.variants)])
    limit = DEFAULT_PARAMS.distance
    close_pairs = set()
    block = 256
    for start in range(0, len(words), block):
        part = words[start:start + block]
        # exact: a hash pair within `limit` bits is within `limit` on its first 128 bits,
        # so the full distance is only computed where those pass
        first = (np.bitwise_count(part[:, None, 0] ^ targets[None, :, 0])
                 + np.bitwise_count(part[:, None, 1] ^ targets[None, :, 1]))
        rows, cols = np.nonzero(first <= limit)
        full = np.bitwise_count(part[rows] ^ targets[cols]).sum(axis=1)
        rows, cols = rows[full <= limit], cols[full <= limit]
        a, b = owner[rows + start], target_owner[cols]
        pairs = np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)[a != b]
        close_pairs.update(map(tuple, pairs.tolist()))
    edges = []
    for a, b in close_pairs:
        m = compare(fps[a], fps[b])
        if m.duplicate:
            edges.append(Edge(fps[a].video_id, fps[b].video_id, m.share_ab, m.share_ba))
    keys = {fp.video_id: KeepKey.of(fp) for fp in fps}
    drops = {(d.video_id, d.kept_video_id) for d in resolve_groups(edges, keys)}
    return drops, len(fps)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="original videos")
    parser.add_argument("--frames", type=int, default=8, help="frame hashes per video")
    parser.add_argument("--variants", type=int, default=5,
                        help="crop-variant hashes per frame (5 as the default fingerprints)")
    parser.add_argument("--plant_every", type=int, default=100)
    parser.add_argument("--variant_key_stride", type=int, default=VARIANT_KEY_STRIDE,
                        help="key the crop variants of every n-th frame in the join")
    parser.add_argument("--flip", type=int, default=12, help="bits flipped per planted frame")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--brute_force", action="store_true")
    args = parser.parse_args(argv)
    planted = {(f"v{i}_copy", f"v{i}") for i in range(0, args.n, args.plant_every)}
    _remove_stale_work_dirs()
    # a terminated run (SIGTERM) unwinds, so the work folder is removed on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix=f"{WORK_PREFIX}{os.getpid()}-") as work:
        wall, counters, drops = run_pipeline(args, work)
    total = args.n + len(planted)
    found = {d for d in drops if d in planted or (d[1], d[0]) in planted}
    print(f"N={args.n} originals + {len(planted)} planted copies = {total} videos, "
          f"{args.frames} frames and {args.frames * args.variants} crop-variant hashes each")
    print(f"pipeline (DirectRunner): wall {wall:.1f}s, {total / wall:.0f} videos/s, "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
    print(f"  candidate pairs {counters.get('candidate_pairs', 0)} "
          f"({counters.get('candidate_pairs', 0) / total:.4f} per video), "
          f"verified {counters.get('verified_pairs', 0)}, "
          f"hot buckets skipped {counters.get('hot_buckets_skipped', 0)}, "
          f"dropped {len(drops)}")
    print(f"  planted-pair recall {len(found)}/{len(planted)} = {len(found) / len(planted):.4f}; "
          f"drops that are not planted pairs: {len(drops - found)}")
    if args.brute_force:
        with timed() as bf:
            bf_drops, n = brute_force(args)
        secs = bf.wall
        print(f"brute force (all {n * (n - 1) // 2} video pairs, "
              f"{(n * args.frames) ** 2 * (1 + args.variants)} hash pairs): {secs:.1f}s; "
              f"drops identical to the pipeline's: {bf_drops == drops} "
              f"({len(bf_drops)} vs {len(drops)})")


if __name__ == "__main__":
    main()
