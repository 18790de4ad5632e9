"""Scale of the near-duplicate join on fingerprints modelled on real ones.

``bench_dedup_scale`` gives every video 8 independent random frame hashes; real fingerprints
are minutes long, with shots. This benchmark generates fingerprints with the statistics
measured on the sample videos and a 3.5-minute music video (``--real`` prints them again):

* durations: log-normal, median ``--median_s`` (180 s), sigma ``--sigma`` (0.9: mean 270 s,
  about 4 in 10 000 over an hour, capped at 3 hours); one frame hash per 0.5 s
  (``FINGERPRINT_FPS``);
* shots: log-normal lengths, median 2.5 s, sigma 1.0 (the music video: median 1.2 s, the
  other samples one to four shots of 2 to 80 s); each shot has its own random base hash, and
  per crop window (13) its own base too (the centred 90 % window's base about 46 bits from the
  hash's, as measured: 42 to 46; the others independent, measured 64 to 136 bits);
* within a shot every bit is a two-state Markov chain around the base: resampled with
  probability 3/4 per frame, to "flipped" with probability 3/16. Consecutive frames are then
  about 57 bits apart and frames two or more apart about 76 (measured in shots of the real
  videos at 2 fps: 45 to 77 bits for consecutive frames, 68 to 74 for two or more apart; a
  frame hash is not "a few bits" from the next one: a static camera with people walking
  moves it by 50 bits). So about 16 distinct band keys per second from the hashes, as on the
  real videos (13 to 16); the variants follow the same chain;
* quality: the first frame of one shot in ten is a fade (quality 20, never matched);
* one video in ``--plant_every`` (100) gets a planted copy, the edit kinds in turn:
  ``reencode`` (12 bits flipped per frame), ``crop`` (its frame hashes are one crop window's
  variant hashes of the original, plus 12 bits; its own variants new), ``trim`` (a sub-range
  of 50 to 90 % of the original, plus 12 bits) and ``fps`` (sampled a quarter second later:
  each bit resampled with probability 1/4 from the chain, plus 8 bits).

The join runs three ways on the same fingerprints, in the same run:

* ``DropNearDuplicates`` on the DirectRunner (``--beam``, up to ``--beam_max`` videos);
* the join's pure function (``similarity.join_keys`` + ``candidate_pairs``, exact verify,
  ``resolve_groups``): the same drops, and the way to go to 1e5 and beyond;
* the exhaustive join (every band key of every frame hash and every crop variant of every
  frame: any frame pair within 7 bits is a candidate) with the same verification, as the
  reference the sampled keys must equal (``--reference_max`` videos at most), and a true
  all-pairs brute force (every video pair compared exactly) on the first
  ``--all_pairs`` videos.

Reports keys and shuffle bytes per video and per video-minute, candidates per video, wall and
CPU time, peak memory and planted recall by edit kind, and whether the drops are identical.

    python -m benchmarks.bench_dedup_realistic --n 1000 10000 --beam
    python -m benchmarks.bench_dedup_realistic --n 100000 --reference_max 0
    python -m benchmarks.bench_dedup_realistic --real
    python -m benchmarks.bench_dedup_realistic --contained

``--contained``: a 10 s reference clip (Kinetics-like) cut from inside a longer collection
video (3, 30, 60 minutes), re-encoded: how many join keys the two share, whether they become a
candidate pair and whether the pair is a reference removal, with the reference join as it was
(bottom-k keys only, ``overlap``) and as it is (``reference_key_rate``,
``reference_overlap``), with the keys per video-minute each costs.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import tempfile
from collections import Counter

import numpy as np

from benchmarks.common import SAMPLE_VIDEOS, timed, video_files
from transforms.dedup.fingerprint import CROP_WINDOWS
from transforms.dedup.similarity import (
    BANDS,
    DEFAULT_PARAMS,
    HOT_BUCKET_CAP,
    Edge,
    KeepKey,
    MatchConfig,
    candidate_pairs,
    compare,
    is_duplicate,
    join_keys,
    match_shares,
    resolve_groups,
)
from transforms.types import VideoFingerprint

CHUNK = 100
EDITS = ("reencode", "crop", "trim", "fps")
WINDOWS = len(CROP_WINDOWS)
PERIOD = 0.5
MAX_SECONDS = 3 * 3600
# bytes of one entry of the join's shuffle as the stage emits it: the bucket key (kind, NUL,
# band index, 4 band bytes) and the member (marker + an 11-character YouTube video id), with
# two bytes of length prefix each
ENTRY_BYTES = len(b"phash256\0") + 1 + 4 + 2 + 1 + 11 + 2


def _bits(rng: np.random.Generator, shape, ones: str) -> np.ndarray:
    """Random uint8 bytes whose bits are 1 with probability 3/4 (``"3/4"``), 3/16 or 1/4."""
    a, b = rng.integers(0, 256, shape, np.uint8), rng.integers(0, 256, shape, np.uint8)
    if ones == "3/4":
        return a | b
    if ones == "1/4":
        return a & b
    c, d = rng.integers(0, 256, shape, np.uint8), rng.integers(0, 256, shape, np.uint8)
    return a & b & (c | d)  # 1/4 * 3/4 = 3/16


def _chain(rng: np.random.Generator, frames: int, width: int) -> np.ndarray:
    """(frames, width, 32) uint8: the per-bit Markov chain (resampled with probability 3/4
    per frame to 1 with probability 3/16), unrolled three frames back (a bit held longer,
    probability 1/64, keeps its value of three frames before)."""
    fresh = _bits(rng, (frames + 2, width, 32), "3/16")
    resample = _bits(rng, (frames + 1, width, 32), "3/4")
    now, before, older = fresh[2:], fresh[1:-1], fresh[:-2]
    held = (resample[:-1] & before) | (~resample[:-1] & older)
    return (resample[1:] & now) | (~resample[1:] & held)


def _flip(rng: np.random.Generator, hashes: np.ndarray, bits: int) -> np.ndarray:
    """``hashes`` (..., 32) with ``bits`` random distinct bits flipped in every hash."""
    flat = hashes.reshape(-1, 32).copy()
    pos = np.argsort(rng.random((len(flat), 256)), axis=1)[:, :bits]
    rows = np.repeat(np.arange(len(flat)), bits)
    np.bitwise_xor.at(flat, (rows, pos.ravel() // 8),
                      (1 << (pos.ravel() % 8)).astype(np.uint8))
    return flat.reshape(hashes.shape)


def _shots(rng: np.random.Generator, frames: int) -> np.ndarray:
    """Shot index of each frame: log-normal shot lengths, median 2.5 s, sigma 1.0."""
    lengths = np.maximum(1, np.round(np.exp(rng.normal(np.log(2.5), 1.0, frames // 2 + 2))
                                     / PERIOD)).astype(np.int64)
    ends = np.cumsum(lengths)
    return np.searchsorted(ends, np.arange(frames), side="right")


def _content(rng: np.random.Generator, frames: int) -> tuple[np.ndarray, np.ndarray,
                                                             np.ndarray]:
    """(hashes (frames, 32), variants (frames, 13, 32), qualities (frames,)) of new footage."""
    shot = _shots(rng, frames)
    shots = int(shot[-1]) + 1
    base = rng.integers(0, 256, (shots, 1 + WINDOWS, 32), np.uint8)
    all_hashes = base[shot] ^ _chain(rng, frames, 1 + WINDOWS)
    # the centred 90 % window looks like the whole picture: ~46 bits from the hash, as measured
    all_hashes[:, 1] = all_hashes[:, 0] ^ _bits(rng, (shots, 32), "3/16")[shot]
    quality = np.full(frames, 100, np.int64)
    starts = np.flatnonzero(np.r_[True, shot[1:] != shot[:-1]])
    quality[starts[rng.random(len(starts)) < 0.1]] = 20
    return all_hashes[:, 0], all_hashes[:, 1:], quality


def _fingerprint(video_id: str, hashes, variants, quality, width, height) -> VideoFingerprint:
    n = len(hashes)
    return VideoFingerprint(video_id, round(n * PERIOD, 3), width, height,
                            tuple(round(PERIOD * k, 3) for k in range(n)),
                            np.ascontiguousarray(hashes).tobytes(), tuple(quality.tolist()),
                            variants=np.ascontiguousarray(variants).tobytes())


def _copy(rng: np.random.Generator, i: int, edit: str, hashes, variants, quality
          ) -> VideoFingerprint:
    n = len(hashes)
    new_h, new_v, new_q = _content(rng, n)
    if edit == "reencode":
        h, q = _flip(rng, hashes, 12), quality
    elif edit == "crop":
        h, q = _flip(rng, variants[:, rng.integers(1, WINDOWS)], 12), quality
    elif edit == "trim":
        keep = max(2, int(n * rng.uniform(0.5, 0.9)))
        start = int(rng.integers(0, n - keep + 1))
        h, q = _flip(rng, hashes[start:start + keep], 12), quality[start:start + keep]
        new_v = new_v[:keep]
    else:  # fps: frames a quarter second later, a quarter of the bits moved on
        moved = _bits(rng, hashes.shape, "1/4") & _bits(rng, hashes.shape, "3/16")
        h = _flip(rng, hashes ^ moved, 8)
        q = quality
    return _fingerprint(f"v{i}_copy", h, new_v, q, 480, 270)


def _duration_frames(rng: np.random.Generator, median_s: float, sigma: float) -> int:
    seconds = min(MAX_SECONDS, float(np.exp(rng.normal(np.log(median_s), sigma))))
    return max(4, int(round(seconds / PERIOD)))


def make_chunk(chunk: int, n: int, plant_every: int, seed: int, median_s: float = 180.0,
               sigma: float = 0.9) -> list[VideoFingerprint]:
    """Videos ``chunk*CHUNK .. (chunk+1)*CHUNK - 1`` (``v<i>``) and their planted copies
    (``v<i>_copy``, edit kind ``EDITS[(i // plant_every) % 4]``), deterministic in ``seed``."""
    return [fp for i in range(chunk * CHUNK, min(n, (chunk + 1) * CHUNK))
            for fp in make_video(i, plant_every, seed, median_s, sigma)]


def make_video(i: int, plant_every: int, seed: int, median_s: float = 180.0,
               sigma: float = 0.9) -> list[VideoFingerprint]:
    """Video ``v<i>`` and, when it has one, its planted copy."""
    rng = np.random.default_rng([seed, i])
    hashes, variants, quality = _content(rng, _duration_frames(rng, median_s, sigma))
    out = [_fingerprint(f"v{i}", hashes, variants, quality, 640, 360)]
    if i % plant_every == 0:
        edit = EDITS[(i // plant_every) % len(EDITS)]
        out.append(_copy(rng, i, edit, hashes, variants, quality))
    return out


def planted(n: int, plant_every: int) -> dict[tuple[str, str], str]:
    """``(copy, original) -> edit kind`` of the planted pairs."""
    return {(f"v{i}_copy", f"v{i}"): EDITS[(i // plant_every) % len(EDITS)]
            for i in range(0, n, plant_every)}


def pure_join(chunks, params: MatchConfig, fetch, bands: int = BANDS,
              cap: int = HOT_BUCKET_CAP) -> dict:
    """The join without Beam: keys (``chunks`` yields lists of fingerprints, dropped once
    keyed), candidates, exact verification (``fetch(ids)`` gives the fingerprints back),
    groups."""
    keys, keep, minutes, frames, fp_bytes, durations = [], {}, 0.0, 0, 0, []
    cpu_keys = 0.0
    for fps in chunks:
        with timed() as tk:
            keys.extend((fp.video_id, *join_keys(fp, params, bands)) for fp in fps)
        cpu_keys += tk.cpu
        for fp in fps:
            keep[fp.video_id] = KeepKey.of(fp)
            minutes += fp.duration / 60
            frames += len(fp)
            fp_bytes += len(fp.hashes) + len(fp.variants) + 5 * len(fp)
            durations.append(fp.duration)
    n_full = sum(len(k[1]) for k in keys)
    n_var = sum(len(k[2]) for k in keys)
    with timed() as tc:
        pairs, hot = candidate_pairs(keys, cap, params.min_shared_keys)
    del keys
    by_id = fetch({v for pair in pairs for v in pair})
    with timed() as tv:
        edges = []
        for a, b in sorted(pairs):
            m = compare(by_id[a], by_id[b], params)
            if m.duplicate:
                edges.append(Edge(a, b, m.share_ab, m.share_ba))
        drops = {(d.video_id, d.kept_video_id) for d in resolve_groups(edges, keep)}
    return {"keys": n_full + n_var, "full_keys": n_full, "variant_keys": n_var,
            "candidates": len(pairs), "hot": hot, "drops": drops, "videos": len(keep),
            "minutes": minutes, "cpu_keys": cpu_keys, "cpu_candidates": tc.cpu,
            "cpu_verify": tv.cpu, "frames": frames,
            "fp_bytes": fp_bytes, "durations": np.asarray(durations)}


REF_SECONDS = 10.0  # Kinetics clips: 10 s excerpts


def make_reference(i: int, plant_every: int, seed: int) -> list[VideoFingerprint]:
    """Reference clip ``r<i>`` (10 s, Kinetics-like) and, for one in ``plant_every``, a copy
    of it in the collection (``k<i>``: re-encoded or cropped, the kinds in turn)."""
    rng = np.random.default_rng([seed, 1, i])
    hashes, variants, quality = _content(rng, int(REF_SECONDS / PERIOD))
    out = [_fingerprint(f"r{i}", hashes, variants, quality, 340, 256)]
    if i % plant_every == 0:
        edit = EDITS[(i // plant_every) % 2]  # reencode or crop (same length as the clip)
        copy = _copy(rng, i, edit, hashes, variants, quality)
        out.append(VideoFingerprint(f"k{i}", copy.duration, 640, 360, copy.times, copy.hashes,
                                    copy.qualities, variants=copy.variants))
    return out


def reference_join(refs: int, plant_every: int, seed: int, params: MatchConfig,
                   left_stream, left_fetch) -> None:
    """The survivors-vs-reference join against ``refs`` Kinetics-like clips, pure function:
    the collection side (``left_stream()`` yields lists of fingerprints) keyed as the stage
    keys it for a reference set (``params.reference_key_rate``), pairs decided by
    ``params.for_reference()``."""
    with timed() as tl:
        left_keys = [(fp.video_id, *join_keys(fp, params, rate=params.reference_key_rate))
                     for fps in left_stream() for fp in fps]
    print(f"  collection keys for the reference join (rate {params.reference_key_rate}): "
          f"{sum(len(k[1]) + len(k[2]) for k in left_keys) / len(left_keys):.0f} per video, "
          f"CPU {tl.cpu * 1e3 / len(left_keys):.2f} ms per video")
    ref_params = params.for_reference()
    ref_keys, left_extra, ref_fps, copies = [], [], {}, {}
    index_bytes = 0
    with timed() as tg:
        made = [make_reference(i, plant_every, seed) for i in range(refs)]
    with timed() as tk:
        for group in made:
            ref = group[0]
            index_bytes += len(ref.to_json()) + 1
            ref_keys.append((ref.video_id, *join_keys(ref, params)))
            ref_fps[ref.video_id] = ref
            for copy in group[1:]:
                left_extra.append((copy.video_id, *join_keys(copy, params)))
                copies[copy.video_id] = copy
    with timed() as tc:
        pairs, hot = candidate_pairs(left_keys + left_extra, HOT_BUCKET_CAP,
                                     params.min_shared_keys, right=ref_keys)
    lefts = left_fetch({a for a, _ in pairs if a not in copies})
    lefts.update(copies)
    with timed() as tv:
        matched = {(a, b) for a, b in pairs
                   if compare(lefts[a], ref_fps[b], ref_params).duplicate}
    plants = {(f"k{i}", f"r{i}") for i in range(0, refs, plant_every)}
    n_keys = sum(len(k[1]) + len(k[2]) for k in ref_keys)
    print(f"  reference set: {refs} clips of {REF_SECONDS:g} s (generated in {tg.cpu:.1f} s): "
          f"index {index_bytes / 1e9:.2f} GB as JSON lines ({index_bytes / refs / 1e3:.1f} kB "
          f"per clip), keys {n_keys / refs:.0f} per clip; join against "
          f"{len(left_keys) + len(left_extra)} videos: candidates {len(pairs)}, hot buckets "
          f"{hot}, CPU keys {tk.cpu:.1f} s, candidates {tc.cpu:.1f} s, verify {tv.cpu:.1f} s "
          f"(= {(tk.cpu + tc.cpu + tv.cpu) * 1e3 / len(left_keys):.2f} ms per collection "
          f"video); planted matches {len(plants & matched)}/{len(plants)}, other matches "
          f"{len(matched - plants)}")


def _contained_pair(video: VideoFingerprint, ref: VideoFingerprint, before: MatchConfig,
                    now: MatchConfig) -> dict:
    """One collection video holding a reference clip: keys, shared kept keys, candidate and
    removal, before and now, and the two shares."""
    out = {"shares": match_shares(video, ref, now)}
    ref_keys = [(ref.video_id, *join_keys(ref, now))]
    for name, prm in (("before", before), ("now", now)):
        full, variant = join_keys(video, prm, rate=prm.reference_key_rate)
        out[f"keys_{name}"] = len(full) + len(variant)
        out[f"shared_{name}"] = (len(np.intersect1d(full, ref_keys[0][1]))
                                 + len(np.intersect1d(variant, ref_keys[0][1]))
                                 + len(np.intersect1d(full, ref_keys[0][2])))
        pairs, _ = candidate_pairs([(video.video_id, full, variant)], HOT_BUCKET_CAP,
                                   prm.min_shared_keys, right=ref_keys)
        out[f"found_{name}"] = bool(pairs)
        out[f"removed_{name}"] = bool(pairs) and is_duplicate(*out["shares"],
                                                              prm.for_reference())
    return out


def _contained_row(label: str, minutes: float, rows: list[dict]) -> None:
    n, per_min = len(rows), len(rows) * minutes

    def total(key):
        return sum(r[key] for r in rows)

    sv, sr = np.mean([r["shares"] for r in rows], axis=0)
    print(f"{label:>30s} {total('keys_before') / per_min:8.0f} {total('keys_now') / per_min:8.0f} "
          f"{total('shared_before') / n:5.1f} (min {min(r['shared_before'] for r in rows):2d}) "
          f"{total('shared_now') / n:5.1f} (min {min(r['shared_now'] for r in rows):2d}) "
          f"{total('found_before'):3d}/{n:<3d} {total('found_now'):3d}/{n:<3d} "
          f"{total('removed_before'):3d}/{n:<3d} {total('removed_now'):3d}/{n:<3d} "
          f"{sr:6.2f} {sv:7.3f}")


def _padded(fp: VideoFingerprint, minutes: float, rng: np.random.Generator) -> VideoFingerprint:
    """``fp`` followed by generated footage up to ``minutes`` (the same 0.5 s period)."""
    extra = int(minutes * 60 / PERIOD) - len(fp)
    if extra <= 0:
        return fp
    h, v, q = _content(rng, extra)
    return _fingerprint(f"{fp.video_id}_{minutes:g}m",
                        np.concatenate([fp.hash_array(), h]),
                        np.concatenate([fp.variant_array(), v]),
                        np.concatenate([np.asarray(fp.qualities, np.int64), q]),
                        fp.width, fp.height)


def contained(args) -> None:
    """``--contained``: see the module docstring."""
    now = MatchConfig(reference_key_rate=args.reference_key_rate)
    before = MatchConfig(reference_overlap=now.overlap, reference_key_rate=0.0)
    print(f"10 s clips inside longer videos; reference join before (overlap {before.overlap}, "
          f"bottom-{before.key_budget} keys) and now (reference_overlap "
          f"{now.reference_overlap}, + keys under rate {now.reference_key_rate})")
    print(f"{'collection video':>30s} {'keys/video-minute':>17s} {'shared kept keys':>27s} "
          f"{'candidates':>15s} {'removed':>15s} {'clip':>6s} {'video':>7s}")
    print(f"{'':>30s} {'before':>8s} {'now':>8s} {'before':>13s} {'now':>13s} "
          f"{'before':>7s} {'now':>7s} {'before':>7s} {'now':>7s} {'share':>6s} {'share':>7s}")
    clip = int(REF_SECONDS / PERIOD)
    for minutes in args.contained_minutes:
        frames = int(minutes * 60 / PERIOD)
        rows = []
        for t in range(args.trials):
            rng = np.random.default_rng([args.seed, 2, int(minutes * 60), t])
            hashes, variants, quality = _content(rng, frames)
            start = int(rng.integers(0, frames - clip + 1))
            ref = _fingerprint(f"r{t}", _flip(rng, hashes[start:start + clip], 12),
                               variants[start:start + clip], quality[start:start + clip],
                               340, 256)
            video = _fingerprint(f"v{t}", hashes, variants, quality, 640, 360)
            rows.append(_contained_pair(video, ref, before, now))
        _contained_row(f"generated {minutes:g} min x{args.trials}", minutes, rows)
    for path in args.contained_videos:
        from tests.media import encode_video, iter_frames
        from transforms.dedup.fingerprint import fingerprint_video

        name = os.path.basename(path)
        full = fingerprint_video(name, path)
        # the excerpt starts on the source's sampling grid (its 2 fps frames are the
        # source's) or a quarter second after it (its frames fall between the source's)
        start0 = np.floor((full.duration / 2 - REF_SECONDS / 2) / PERIOD) * PERIOD
        for offset in (0.0, PERIOD / 2):
            start = start0 + offset
            with tempfile.TemporaryDirectory(prefix="hacs-contained-") as work:
                frames = [f.image for f in iter_frames(path)
                          if start - 1e-3 <= f.time < start + REF_SECONDS - 1e-3]
                rate = round(len(frames) / REF_SECONDS)
                excerpt = encode_video(os.path.join(work, "clip.mp4"), frames, fps=rate)
                ref = fingerprint_video("clip", excerpt)
            rng = np.random.default_rng([args.seed, 3])
            for minutes in [full.duration / 60, *args.contained_minutes]:
                if minutes < full.duration / 60:
                    continue
                video = _padded(full, minutes, rng)
                label = (f"{name} {minutes:.1f} min" if video is full
                         else f"{name}+gen. {minutes:g} min") + f" +{offset:g}s"
                _contained_row(label, minutes, [_contained_pair(video, ref, before, now)])


def all_pairs(fps: list[VideoFingerprint], params: MatchConfig) -> set[tuple[str, str]]:
    """Every video pair compared exactly (no join at all): the drops."""
    edges = []
    for i, a in enumerate(fps):
        for b in fps[i + 1:]:
            m = compare(a, b, params)
            if m.duplicate:
                edges.append(Edge(a.video_id, b.video_id, m.share_ab, m.share_ba))
    return {(d.video_id, d.kept_video_id) for d in resolve_groups(
        edges, {fp.video_id: KeepKey.of(fp) for fp in fps})}


def run_beam(args, n: int, params: MatchConfig, work: str) -> dict:
    import apache_beam as beam
    from apache_beam.metrics.metric import MetricsFilter
    from apache_beam.options.pipeline_options import PipelineOptions

    from transforms.dedup.stage import DropNearDuplicates

    chunks = (n + CHUNK - 1) // CHUNK
    with timed() as t, beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"])) as p:
        fps = (p | "Chunks" >> beam.Create(range(chunks))
               | "Spread" >> beam.Reshuffle()
               | "Generate" >> beam.FlatMap(make_chunk, n, args.plant_every, args.seed,
                                            args.median_s, args.sigma))
        out = fps | DropNearDuplicates(params=params)
        (out.dropped
         | "DropJson" >> beam.Map(lambda o: json.dumps([o.video_id,
                                                        o.evidence["kept_video_id"]]))
         | "WriteDrops" >> beam.io.WriteToText(os.path.join(work, "drops"), ".jsonl"))
    counters = {m.key.metric.name: m.committed for m in p.result.metrics().query(
        MetricsFilter().with_namespace("dedup"))["counters"]}
    drops = set()
    for path in glob.glob(os.path.join(work, "drops*.jsonl")):
        with open(path) as f:
            drops.update(tuple(json.loads(line)) for line in f)
    return {"wall": t.wall, "cpu": t.cpu, "counters": counters, "drops": drops,
            "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}


def _recall(drops: set, plants: dict) -> str:
    found = Counter(kind for pair, kind in plants.items()
                    if pair in drops or (pair[1], pair[0]) in drops)
    total = Counter(plants.values())
    return " ".join(f"{k} {found[k]}/{total[k]}" for k in EDITS if total[k])


def _extra(drops: set, plants: dict) -> int:
    return len({d for d in drops if d not in plants and (d[1], d[0]) not in plants})


def bench(args, n: int) -> None:
    params = MatchConfig(key_budget=args.key_budget,
                         variant_key_budget=args.variant_key_budget,
                         variant_key_stride=args.variant_key_stride,
                         min_shared_keys=args.min_shared_keys)
    exhaustive = MatchConfig(key_budget=0, variant_key_budget=0, variant_key_stride=1,
                             min_shared_keys=1)
    before = MatchConfig(key_budget=0, variant_key_budget=0, min_shared_keys=1,
                         variant_key_stride=DEFAULT_PARAMS.variant_key_stride)
    plants = planted(n, args.plant_every)
    gen = (args.plant_every, args.seed, args.median_s, args.sigma)
    chunks = (n + CHUNK - 1) // CHUNK

    def stream():
        for c in range(chunks):
            yield make_chunk(c, n, *gen)

    def fetch(ids):
        return {fp.video_id: fp for i in sorted({int(v[1:].split("_")[0]) for v in ids})
                for fp in make_video(i, *gen)}

    def describe(r: dict) -> None:
        durations, total = r["durations"], r["videos"]
        print(f"\n== N={n} originals + {len(plants)} planted copies = {total} videos: "
              f"{r['minutes'] / total:.2f} min per video on average (median "
              f"{np.median(durations) / 60:.2f}, max {durations.max() / 60:.1f}, "
              f"{(durations > 3600).sum()} over an hour), {r['frames'] / total:.0f} frames; "
              f"fingerprints {r['fp_bytes'] / total / 1e3:.0f} kB per video, "
              f"{r['fp_bytes'] / 1e9:.2f} GB in all")

    rows = [("sampled (default)", params)]
    if n <= args.before_max:
        rows.append(("before: every key, variants of every 2nd frame", before))
    if n <= args.reference_max:
        rows.append(("exhaustive: every key of every frame and variant", exhaustive))
    results = {}
    for name, prm in rows:
        r = pure_join(stream(), prm, fetch)
        results[name] = r
        if prm is params:
            describe(r)
            total, minutes = r["videos"], r["minutes"]
        join = r["cpu_keys"] + r["cpu_candidates"] + r["cpu_verify"]
        print(f"  {name}: keys {r['keys'] / total:.0f} per video "
              f"({r['full_keys'] / total:.0f} hash + {r['variant_keys'] / total:.0f} variant), "
              f"{r['keys'] / minutes:.0f} per video-minute, shuffle "
              f"{r['keys'] * ENTRY_BYTES / total / 1e3:.1f} kB per video; "
              f"candidates {r['candidates'] / total:.4f} per video, hot buckets {r['hot']}; "
              f"CPU keys {r['cpu_keys'] * 1e3 / total:.2f} "
              f"ms/video, candidates {r['cpu_candidates'] * 1e3 / total:.2f}, verify "
              f"{r['cpu_verify'] * 1e3 / total:.2f} (= {join * 1e3 / minutes:.2f} ms per "
              f"video-minute); drops {len(r['drops'])}, planted recall "
              f"{_recall(r['drops'], plants)}, other drops {_extra(r['drops'], plants)}; "
              f"peak RSS so far "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
    if args.refs:
        reference_join(args.refs, args.plant_every, args.seed, params, stream, fetch)
    ref = results.get("exhaustive: every key of every frame and variant")
    if ref is not None:
        for name, r in results.items():
            print(f"  drops of '{name}' identical to the exhaustive join's: "
                  f"{r['drops'] == ref['drops']}")
    if args.all_pairs:
        sub = [fp for fps in stream() for fp in fps][:args.all_pairs]
        ids = {fp.video_id for fp in sub}
        with timed() as ta:
            truth = all_pairs(sub, params)
        mine = {d for d in results["sampled (default)"]["drops"]
                if d[0] in ids and d[1] in ids}
        print(f"  all-pairs brute force on the first {len(sub)} videos "
              f"({len(sub) * (len(sub) - 1) // 2} pairs, {ta.cpu:.1f} s CPU): drops "
              f"{len(truth)}, identical to the sampled join's among them: {truth == mine}")
    beams = [("sampled (default)", params)] if args.beam else []
    if args.beam_before:
        beams.append(("before: every key, variants of every 2nd frame", before))
    if beams and n <= args.beam_max:
        with timed() as tg:
            for _ in stream():
                pass
        print(f"  generating the fingerprints alone: {tg.cpu:.1f} s CPU")
    for name, prm in beams if n <= args.beam_max else ():
        with tempfile.TemporaryDirectory(prefix="hacs-dedup-realistic-") as work:
            b = run_beam(args, n, prm, work)
        c = b["counters"]
        join_cpu = b["cpu"] - tg.cpu
        same = (f"drops identical to the pure function's: "
                f"{b['drops'] == results[name]['drops']}" if name in results else "")
        print(f"  DirectRunner, {name}: wall {b['wall']:.1f} s, CPU {b['cpu']:.1f} s (less "
              f"generating the fingerprints, {tg.cpu:.1f} s: "
              f"{join_cpu * 1e3 / total:.1f} ms CPU per video = "
              f"{join_cpu * 1e3 / minutes:.2f} ms per video-minute); peak RSS "
              f"{b['peak_gb']:.2f} GB; candidates {c.get('candidate_pairs', 0)}, verified "
              f"{c.get('verified_pairs', 0)}, hot buckets {c.get('hot_buckets_skipped', 0)}; "
              f"planted recall {_recall(b['drops'], plants)}; {same}")


def real(videos: str) -> None:
    """Keys per video before/after on the real footage, drift statistics, analysis CPU."""
    from transforms.analyze.decode import PREFETCH, decode_pass
    from transforms.dedup.fingerprint import Fingerprinter
    from transforms.persons.sampling import ShotFrameSampler
    from transforms.shots.histogram import HistogramShotDetector

    paths = video_files(videos)
    extra = os.path.join(os.path.dirname(np.__file__), "..", "tests", "test.mp4")
    if os.path.exists(extra):
        paths.append(os.path.normpath(extra))
    before = MatchConfig(key_budget=0, variant_key_budget=0, min_shared_keys=1)
    print(f"{'video':20s} {'s':>6s} {'keys before':>11s} {'/s':>6s} {'no variants':>11s} "
          f"{'keys after':>10s} {'/s':>6s} {'drift lag1':>10s} {'lag>=2':>6s} {'shots':>5s} "
          f"{'analysis ms/s':>13s} {'keys ms/s':>9s}")
    for path in paths:
        fp = Fingerprinter(os.path.basename(path))
        det = HistogramShotDetector()
        sampler = ShotFrameSampler(det, "v")
        with timed() as ta:
            stats = decode_pass(path, [fp, det, sampler], PREFETCH)
            sampler.result(stats)
            shots = det.result(stats)
            f = fp.result(stats)
        with timed() as tk:
            after = sum(map(len, join_keys(f, DEFAULT_PARAMS)))
        n_before = sum(map(len, join_keys(f, before)))
        n_novar = len(join_keys(f, MatchConfig(key_budget=0, crop_variants=False))[0])
        bits = np.unpackbits(f.hash_array(), axis=1).astype(np.int16)
        times = np.asarray(f.times)
        lag1, lag2 = [], []
        for s in shots:
            h = bits[(times >= s.start) & (times < s.end)]
            lag1 += np.abs(np.diff(h, axis=0)).sum(1).tolist()
            if len(h) > 2:
                lag2 += np.abs(h[2:] - h[:-2]).sum(1).tolist()
        d = f.duration
        print(f"{os.path.basename(path):20s} {d:6.1f} {n_before:11d} {n_before / d:6.1f} "
              f"{n_novar:11d} {after:10d} {after / d:6.1f} "
              f"{np.median(lag1) if lag1 else float('nan'):10.0f} "
              f"{np.median(lag2) if lag2 else float('nan'):6.0f} {len(shots):5d} "
              f"{ta.cpu * 1e3 / d:13.1f} {tk.cpu * 1e3 / d:9.2f}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, nargs="*", default=[1000],
                        help="original videos (several: one run each, smallest first)")
    parser.add_argument("--plant_every", type=int, default=100)
    parser.add_argument("--median_s", type=float, default=180.0)
    parser.add_argument("--sigma", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--key_budget", type=int, default=DEFAULT_PARAMS.key_budget)
    parser.add_argument("--variant_key_budget", type=int,
                        default=DEFAULT_PARAMS.variant_key_budget)
    parser.add_argument("--variant_key_stride", type=int,
                        default=DEFAULT_PARAMS.variant_key_stride)
    parser.add_argument("--min_shared_keys", type=int, default=DEFAULT_PARAMS.min_shared_keys)
    parser.add_argument("--reference_max", type=int, default=10_000,
                        help="run the exhaustive join up to this many originals")
    parser.add_argument("--before_max", type=int, default=10_000,
                        help="run the join as it was (every key) up to this many originals")
    parser.add_argument("--all_pairs", type=int, default=0,
                        help="also compare every pair of the first this many videos")
    parser.add_argument("--refs", type=int, default=0,
                        help="also join against a reference set of this many 10 s clips")
    parser.add_argument("--beam", action="store_true", help="run DropNearDuplicates too")
    parser.add_argument("--beam_before", action="store_true",
                        help="run DropNearDuplicates with every key too (as before)")
    parser.add_argument("--beam_max", type=int, default=10_000)
    parser.add_argument("--real", action="store_true",
                        help="keys before/after and drift on the real videos (--videos)")
    parser.add_argument("--videos", default=SAMPLE_VIDEOS)
    parser.add_argument("--contained", action="store_true",
                        help="10 s reference clips inside longer videos (recall, keys)")
    parser.add_argument("--contained_minutes", type=float, nargs="*", default=[3, 30, 60])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--contained_videos", nargs="*", default=[],
                        help="real videos: a 10 s excerpt of the middle, re-encoded, as the "
                             "reference clip of the video and of it padded to the lengths")
    parser.add_argument("--reference_key_rate", type=float,
                        default=DEFAULT_PARAMS.reference_key_rate)
    args = parser.parse_args(argv)
    if args.contained:
        contained(args)
        return
    if args.real:
        real(args.videos)
        return
    for n in args.n:
        bench(args, n)


if __name__ == "__main__":
    main()
