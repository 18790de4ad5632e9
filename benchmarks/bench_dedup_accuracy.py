"""Near-duplicate accuracy: edited copies of the real sample videos, and hard negatives.

Builds the benchmark set in a temporary folder from ``../shared/data/videos`` beside the
repository (or ``--videos``): the sources are four non-overlapping 18-second segments of
``vtest.avi`` (the same campus path: different videos of the same place, the hard
negatives), ``Megamind.avi`` and ``tree.avi``. Every source gets each edit below, re-encoded
with OpenCV (``mp4v``); the real pair ``Megamind.avi`` / ``Megamind_bugy.avi`` is added as its
own edit type.

Positives are (source, edited copy) pairs; negatives are all pairs of videos from different
sources. Each video is decoded once, feeding several ``Fingerprinter``s (hash kinds x rates)
and the middle frame of the baseline (``imagehash.phash``, distance <= 10, its usual cut-off).
Prints precision, recall and F1 per edit and overall at the defaults, the same without the crop
variants (``MatchConfig.crop_variants``), the baseline's in the same run, and a sweep over hash
kinds, rates, crop variants and thresholds that the defaults were chosen from.

    python -m benchmarks.bench_dedup_accuracy [--videos DIR]
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
from collections import defaultdict

import cv2
import numpy as np

from benchmarks.common import add_videos_option, timed
from tests.media import iter_frames
from transforms.analyze.decode import decode_pass
from transforms.dedup.fingerprint import (
    FINGERPRINT_FPS,
    HASHERS,
    VARIANT_KINDS,
    Fingerprinter,
    VideoFingerprint,
    content_box,
    dct_matrix,
    median_bits,
    quality_of,
)
from transforms.dedup.similarity import (
    BANDS,
    HOT_BUCKET_CAP,
    MatchConfig,
    candidate_pairs,
    frame_distances,
    is_duplicate,
    join_keys,
)
from transforms.types import HASH_BYTES


def _area(gray: np.ndarray, side: int) -> np.ndarray:
    return cv2.resize(gray, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32)


_DCT_32_8 = dct_matrix(32, 8)


def phash64(gray: np.ndarray) -> tuple[bytes, int]:
    """Classic 64-bit pHash (8 bytes: 32x32 -> 8x8 DCT, median threshold) and the quality of
    the same frame (borders trimmed first, as for ``phash256``)."""
    top, bottom, left, right = content_box(gray)
    crop = gray[top:bottom, left:right]
    small = _area(crop, 32)
    return median_bits(_DCT_32_8 @ small @ _DCT_32_8.T), quality_of(_area(crop, 64))


def pdq256(gray: np.ndarray) -> tuple[bytes, int]:
    """PDQ hash (32 bytes) and PDQ quality via the optional ``pdqhash`` package (C++), after
    the same border trim."""
    import pdqhash

    top, bottom, left, right = content_box(gray)
    crop = np.ascontiguousarray(gray[top:bottom, left:right])
    bits, quality = pdqhash.compute(cv2.cvtColor(crop, cv2.COLOR_GRAY2RGB))
    return np.packbits(bits.astype(np.uint8)).tobytes(), int(quality)


# The hashes compared with the job's phash256 are this benchmark's own, not options of the job:
# main() adds them to the hash registries for its Fingerprinters: kind -> (hasher, bytes).
OTHER_HASHES = {"phash64": (phash64, 8), "pdq256": (pdq256, 32)}
try:  # PDQ is compared when the optional pdqhash package (C++ build) is installed
    import pdqhash  # noqa: F401

    KINDS: tuple[str, ...] = ("phash256", "phash64", "pdq256")
except ImportError:
    KINDS = ("phash256", "phash64")
RATES = (1.0, 2.0, 4.0)
BASELINE_DISTANCE = 10


def _saturation(img, k):
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 1] = np.clip(hsv[..., 1] * k, 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)


def _contrast(img, k):
    mean = img.mean()
    return np.clip((img.astype(np.float32) - mean) * k + mean, 0, 255).astype(np.uint8)


def _gamma(img, g):
    lut = (255.0 * (np.arange(256) / 255.0) ** g).astype(np.uint8)
    return cv2.LUT(img, lut)


def _bars(img, vertical, share, colour=0):
    h, w = img.shape[:2]
    if vertical:  # letterbox: bars above and below, content scaled to keep the frame size
        inner = cv2.resize(img, (w, int(h * (1 - 2 * share))), interpolation=cv2.INTER_AREA)
        pad = (h - inner.shape[0]) // 2
        return cv2.copyMakeBorder(inner, pad, h - inner.shape[0] - pad, 0, 0,
                                  cv2.BORDER_CONSTANT, value=(colour,) * 3)
    inner = cv2.resize(img, (int(w * (1 - 2 * share)), h), interpolation=cv2.INTER_AREA)
    pad = (w - inner.shape[1]) // 2
    return cv2.copyMakeBorder(inner, 0, 0, pad, w - inner.shape[1] - pad,
                              cv2.BORDER_CONSTANT, value=(colour,) * 3)


def _crop(img, left, top, right, bottom):
    h, w = img.shape[:2]
    part = img[int(h * top):h - int(h * bottom), int(w * left):w - int(w * right)]
    return cv2.resize(part, (w, h), interpolation=cv2.INTER_LINEAR)


def _logo(img, width_share, height_share):
    """A white box with red text in the top-right corner (a broadcaster's logo)."""
    out = img.copy()
    h, w = out.shape[:2]
    x0, y0 = int(w * (0.96 - width_share)), int(h * 0.05)
    y1 = y0 + int(h * height_share)
    cv2.rectangle(out, (x0, y0), (int(w * 0.96), y1), (255, 255, 255), -1)
    cv2.putText(out, "TV9", (x0 + 2, y1 - 3), cv2.FONT_HERSHEY_SIMPLEX,
                h * height_share / 40, (0, 0, 200), 2)
    return out


def _jpeg(img, q):
    return cv2.imdecode(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])[1], 1)


# name -> (per-frame function, fps factor, kept time range as shares of the duration)
EDITS = {
    "reencode_lowq": (lambda f: _jpeg(f, 12), 1.0, (0, 1)),
    "resize_half": (lambda f: cv2.resize(f, (f.shape[1] // 2 // 2 * 2, f.shape[0] // 2 // 2 * 2),
                                          interpolation=cv2.INTER_AREA), 1.0, (0, 1)),
    "fps_x0.5": (None, 0.5, (0, 1)),
    "saturation_0.3": (lambda f: _saturation(f, 0.3), 1.0, (0, 1)),
    "saturation_1.6": (lambda f: _saturation(f, 1.6), 1.0, (0, 1)),
    "contrast_0.6": (lambda f: _contrast(f, 0.6), 1.0, (0, 1)),
    "contrast_1.4": (lambda f: _contrast(f, 1.4), 1.0, (0, 1)),
    "brightness_+40": (lambda f: cv2.add(f, np.full_like(f, 40)), 1.0, (0, 1)),
    "brightness_-40": (lambda f: cv2.subtract(f, np.full_like(f, 40)), 1.0, (0, 1)),
    "gamma_0.6": (lambda f: _gamma(f, 0.6), 1.0, (0, 1)),
    "gamma_1.6": (lambda f: _gamma(f, 1.6), 1.0, (0, 1)),
    "letterbox_12%": (lambda f: _bars(f, True, 0.12), 1.0, (0, 1)),
    "pillarbox_12%": (lambda f: _bars(f, False, 0.125), 1.0, (0, 1)),
    "crop_10%_centre": (lambda f: _crop(f, 0.05, 0.05, 0.05, 0.05), 1.0, (0, 1)),
    "crop_10%_corner": (lambda f: _crop(f, 0.10, 0.10, 0.0, 0.0), 1.0, (0, 1)),
    "crop_10%_left": (lambda f: _crop(f, 0.10, 0.0, 0.0, 0.0), 1.0, (0, 1)),
    "crop_10%_top": (lambda f: _crop(f, 0.0, 0.10, 0.0, 0.0), 1.0, (0, 1)),
    "crop_6%_corner": (lambda f: _crop(f, 0.0, 0.0, 0.06, 0.06), 1.0, (0, 1)),
    "crop_5%_centre": (lambda f: _crop(f, 0.025, 0.025, 0.025, 0.025), 1.0, (0, 1)),
    "logo_10%x7%": (lambda f: _logo(f, 0.10, 0.07), 1.0, (0, 1)),
    "logo_18%x11%": (lambda f: _logo(f, 0.18, 0.11), 1.0, (0, 1)),
    "trim_first_half": (None, 1.0, (0.0, 0.5)),
    "trim_last_60%": (None, 1.0, (0.4, 1.0)),
    "trim_middle_half": (None, 1.0, (0.25, 0.75)),
}


def _write(path, frames, fps):
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for f in frames:
        out.write(f)
    out.release()


def build_set(videos: str, work: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Write sources and edited copies; return ({video: path}, [(source, copy, edit)])."""
    sources: dict[str, tuple[list, float]] = {}
    # iter_frames reuses its buffer unless it resizes: keep resized copies only
    vt = [(f.time, f.image) for f in iter_frames(os.path.join(videos, "vtest.avi"),
                                                 short_side=288)]
    for k in range(4):
        part = [img for t, img in vt if 20 * k <= t < 20 * k + 18]
        sources[f"vtest_{20 * k:02d}s"] = (part, 10.0)
    for name, fps in (("Megamind", 23.976), ("tree", 15.0)):
        sources[name] = ([f.image.copy() for f in iter_frames(os.path.join(videos,
                                                                           f"{name}.avi"))], fps)
    paths, pairs = {}, []
    for name, (frames, fps) in sources.items():
        paths[name] = os.path.join(work, f"{name}.mp4")
        _write(paths[name], frames, fps)
        for edit, (fn, fps_factor, (a, b)) in EDITS.items():
            n = len(frames)
            part = frames[int(a * n):int(round(b * n))]
            if fps_factor != 1.0:
                step = 1.0 / fps_factor
                part = [part[int(i * step)] for i in range(int(len(part) / step))]
            if fn is not None:
                part = [fn(f) for f in part]
            copy = f"{name}~{edit}"
            paths[copy] = os.path.join(work, f"{copy}.mp4")
            _write(paths[copy], part, fps * fps_factor)
            pairs.append((name, copy, edit))
    paths["Megamind_bugy"] = os.path.join(videos, "Megamind_bugy.avi")
    pairs.append(("Megamind", "Megamind_bugy", "real_pair_megamind_bugy"))
    return paths, pairs


class MiddleFrame:
    """Consumer keeping the frame nearest the middle of the video (for the baseline)."""

    def __init__(self, duration: float):
        self.middle = duration / 2
        self.image = None

    def wants(self, index: int, time: float) -> bool:
        return self.image is None and time >= self.middle

    def add(self, index: int, time: float, frame) -> None:
        self.image = frame.bgr()


def fingerprint_all(paths: dict[str, str]):
    import imagehash
    from PIL import Image

    fps_by: dict[tuple[str, float], dict[str, VideoFingerprint]] = defaultdict(dict)
    base: dict[str, imagehash.ImageHash] = {}
    seconds = 0.0
    for video, path in paths.items():
        cap = cv2.VideoCapture(path)
        duration = cap.get(cv2.CAP_PROP_FRAME_COUNT) / max(cap.get(cv2.CAP_PROP_FPS), 1)
        cap.release()
        consumers = {(k, r): Fingerprinter(video, fps=r, kind=k) for k in KINDS for r in RATES}
        middle = MiddleFrame(duration)
        with timed() as t:
            stats = decode_pass(path, [*consumers.values(), middle])
        seconds += t.wall
        for key, c in consumers.items():
            fps_by[key][video] = c.result(stats)
        rgb = cv2.cvtColor(middle.image, cv2.COLOR_BGR2RGB)
        base[video] = imagehash.phash(Image.fromarray(rgb))
    return fps_by, base, seconds


def evaluate(labels: dict[tuple[str, str], tuple[bool, str]], decide) -> dict[str, tuple]:
    """Per edit and overall: (tp, fp, fn, precision, recall, f1). A negative pair counts as a
    false positive for the edit types of both its videos."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (a, b), (positive, edits) in labels.items():
        predicted = decide(a, b)
        for edit in (*edits, "ALL"):
            c = counts[edit]
            if positive and predicted:
                c[0] += 1
            elif predicted:
                c[1] += 1
            elif positive:
                c[2] += 1
    out = {}
    for edit, (tp, fp, fn) in counts.items():
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        out[edit] = (tp, fp, fn, p, r, 2 * p * r / (p + r) if p + r else 0.0)
    return out


def label_pairs(paths, pairs):
    family = {v: v.split("~")[0] for v in paths}
    family["Megamind_bugy"] = "Megamind"
    edit_of = {v: (v.split("~")[1] if "~" in v else "source") for v in paths}
    edit_of["Megamind_bugy"] = "real_pair_megamind_bugy"
    labels = {}
    for src, copy, edit in pairs:
        labels[(src, copy)] = (True, (edit,))
    for a, b in itertools.combinations(sorted(paths), 2):
        if family[a] != family[b]:
            labels[(a, b)] = (False, tuple({edit_of[a], edit_of[b]} - {"source"}) or ("source",))
    return labels


def shares_table(fps: dict[str, VideoFingerprint], labels, max_distance: int, min_quality: int,
                 crop_variants: bool):
    """For every labelled pair, the two shares at each distance 0..max_distance."""
    table = {}
    for a, b in labels:
        d = frame_distances(fps[a], fps[b], min_quality, crop_variants)
        if d.size == 0:
            table[(a, b)] = np.zeros((max_distance + 1, 2))
            continue
        row_min, col_min = d.min(axis=1), d.min(axis=0)
        ds = np.arange(max_distance + 1)[:, None]
        table[(a, b)] = np.stack([(row_min[None, :] <= ds).mean(1),
                                  (col_min[None, :] <= ds).mean(1)], axis=1)
    return table


def _name(key: tuple[str, float, bool]) -> str:
    return key[0] + ("+crops" if key[2] else "")


def print_results(title, results):
    print(f"\n{title}")
    print(f"{'edit':28s} {'TP':>4s} {'FP':>4s} {'FN':>4s} {'prec':>6s} {'recall':>6s} {'F1':>6s}")
    for edit in sorted(results, key=lambda e: (e == "ALL", e)):
        tp, fp, fn, p, r, f1 = results[edit]
        print(f"{edit:28s} {tp:4d} {fp:4d} {fn:4d} {p:6.3f} {r:6.3f} {f1:6.3f}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_videos_option(parser)
    args = parser.parse_args(argv)
    for kind in KINDS[1:]:
        HASHERS[kind], HASH_BYTES[kind] = OTHER_HASHES[kind]
    defaults = MatchConfig()
    with tempfile.TemporaryDirectory(prefix="hacs-dedup-bench-") as work:
        with timed() as build:
            paths, pairs = build_set(args.videos, work)
        fps_by, base, decode_s = fingerprint_all(paths)
    labels = label_pairs(paths, pairs)
    npos = sum(p for p, _ in labels.values())
    print(f"{len(paths)} videos, {npos} positive pairs, {len(labels) - npos} negative pairs "
          f"(set built in {build.wall:.1f}s; one decode pass per video feeding "
          f"{len(KINDS) * len(RATES)} fingerprinters + baseline: {decode_s:.1f}s)")

    # table keys: (hash kind, fps, crop variants used); phash256 fingerprints carry variants
    default_key = ("phash256", FINGERPRINT_FPS, defaults.crop_variants)
    max_d = 64
    tables = {(kind, rate, crops): shares_table(fps_by[(kind, rate)], labels, max_d,
                                                defaults.min_quality, crops)
              for kind, rate in fps_by for crops in {False, kind in VARIANT_KINDS}}

    def decide_with(key, params):
        table = tables[key]
        return lambda a, b: is_duplicate(*table[(a, b)][min(params.distance, max_d)], params)

    ours = evaluate(labels, decide_with(default_key, defaults))
    print_results(f"OURS at the defaults: {default_key[0]} at {default_key[1]:g} fps, "
                  f"crop variants {'on' if defaults.crop_variants else 'off'}, "
                  f"distance<={defaults.distance}, contain>={defaults.contain}, "
                  f"overlap>={defaults.overlap}, min_quality={defaults.min_quality}", ours)
    no_crops = evaluate(labels, decide_with(default_key[:2] + (False,), defaults))
    print_results("OURS at the defaults WITHOUT crop variants", no_crops)
    table = tables[default_key]
    misses = [(a, b, table[(a, b)][defaults.distance]) for (a, b), (pos, _) in labels.items()
              if pos and not decide_with(default_key, defaults)(a, b)]
    print("missed positives (shares A->B, B->A at the default distance):")
    for a, b, (sab, sba) in sorted(misses, key=lambda m: m[1]):
        print(f"  {a} ~ {b}: {sab:.2f} {sba:.2f}")
    # the reference join's rule (a reference clip found in a video removes it, whatever share
    # of the video it covers): which negative pairs would it remove, either way round?
    ref_params = defaults.for_reference()
    ref_rule = evaluate(labels, decide_with(default_key, ref_params))
    wrong = sorted((a, b, *table[(a, b)][defaults.distance]) for (a, b), (pos, _)
                   in labels.items() if not pos and decide_with(default_key, ref_params)(a, b))
    tp, fp, fn, p, r, _ = ref_rule["ALL"]
    print(f"\nREFERENCE RULE (overlap>={ref_params.overlap}): negatives removed {fp} of "
          f"{len(labels) - npos}, positives found {tp}/{tp + fn} (collection rule: "
          f"{ours['ALL'][1]} and {ours['ALL'][0]}/{ours['ALL'][0] + ours['ALL'][2]})")
    for a, b, sab, sba in wrong:
        print(f"  negative {a} ~ {b}: shares {sab:.2f} {sba:.2f}")
    top = max(((max(table[k][defaults.distance]), k) for k, (pos, _) in labels.items()
               if not pos), default=(0.0, None))
    print(f"  largest share of a negative pair: {top[0]:.2f} {top[1]} (contain "
          f"{ref_params.contain})")
    baseline = evaluate(labels, lambda a, b: base[a] - base[b] <= BASELINE_DISTANCE)
    print_results(f"BASELINE: imagehash.phash of the middle frame, distance<={BASELINE_DISTANCE}",
                  baseline)

    join_fps = fps_by[default_key[:2]]
    found = [(a, b) for (a, b), (pos, _) in labels.items()
             if decide_with(default_key, defaults)(a, b)]
    exhaustive = MatchConfig(key_budget=0, variant_key_budget=0, variant_key_stride=1,
                             min_shared_keys=1)
    for name, prm in (("every key of every frame and variant", exhaustive),
                      ("sampled keys (the defaults)", defaults)):
        keys = [(v, *join_keys(f, prm, BANDS)) for v, f in join_fps.items()]
        pairs, _ = candidate_pairs(keys, HOT_BUCKET_CAP, prm.min_shared_keys)
        missed = [(a, b) for a, b in found if (min(a, b), max(a, b)) not in pairs]
        wrong = sum(1 for a, b in pairs
                    if not (labels.get((a, b)) or labels.get((b, a)) or (True,))[0])
        print(f"\nband join, {name}: {sum(len(k[1]) + len(k[2]) for k in keys) / len(keys):.0f} "
              f"keys per video; {len(found) - len(missed)}/{len(found)} duplicate decisions "
              f"are also candidates (missed: {missed[:10]}); {len(pairs)} candidate pairs, "
              f"{wrong} of them negatives")

    print("\nHASH KINDS AND RATES at the default shares (distance scaled to the hash size)")
    print(f"{'kind':14s} {'fps':>4s} {'dist':>4s} {'prec':>6s} {'recall':>6s} {'F1':>6s}"
          f"   (without the crop edits: recall)")
    for key in sorted(tables):
        bits = 64 if key[0] == "phash64" else 256
        params = MatchConfig(distance=defaults.distance * bits // 256,
                             contain=defaults.contain, overlap=defaults.overlap,
                             min_quality=defaults.min_quality)
        res = evaluate(labels, decide_with(key, params))
        tp, fp, fn, p, r, f1 = res["ALL"]
        crop_tp = sum(v[0] for e, v in res.items() if e.startswith("crop"))
        crop_fn = sum(v[2] for e, v in res.items() if e.startswith("crop"))
        print(f"{_name(key):14s} {key[1]:4g} {params.distance:4d} {p:6.3f} {r:6.3f} {f1:6.3f}"
              f"   {(tp - crop_tp) / (tp + fn - crop_tp - crop_fn):.3f}")

    print("\nBEST F1 per hash kind and rate over distance x contain x overlap "
          "(middle of the tied settings)")
    print(f"{'kind':14s} {'fps':>4s} {'dist':>4s} {'contain':>7s} {'overlap':>7s} "
          f"{'prec':>6s} {'recall':>6s} {'F1':>6s} {'#tied':>6s}")
    for key in sorted(tables):
        step = 1 if key[0] == "phash64" else 2
        grid = itertools.product(range(step, max_d + 1, step), (0.4, 0.5, 0.6, 0.7, 0.8),
                                 (0.2, 0.25, 0.3, 0.35, 0.4))
        scored = []
        for d, c, o in grid:
            params = MatchConfig(distance=d, contain=c, overlap=o,
                                 min_quality=defaults.min_quality)
            tp, fp, fn, p, r, f1 = evaluate(labels, decide_with(key, params))["ALL"]
            scored.append((f1, p, r, d, c, o))
        top = max(s[0] for s in scored)
        best = sorted(s for s in scored if s[0] == top)
        f1, p, r, d, c, o = best[len(best) // 2]
        print(f"{_name(key):14s} {key[1]:4g} {d:4d} {c:7.2f} {o:7.2f} {p:6.3f} {r:6.3f} {f1:6.3f} "
              f"{len(best):6d}")

    print("\nDISTANCE SWEEP for the default kind, rate and shares (overall)")
    for d in range(8, 57, 4):
        params = MatchConfig(distance=d, contain=defaults.contain, overlap=defaults.overlap,
                             min_quality=defaults.min_quality)
        tp, fp, fn, p, r, f1 = evaluate(labels, decide_with(default_key, params))["ALL"]
        print(f"  distance<={d:2d}: TP {tp:3d} FP {fp:4d} FN {fn:3d} "
              f"precision {p:.3f} recall {r:.3f} F1 {f1:.3f}")
    for key in (default_key, default_key[:2] + (False,)):
        false_positives = [evaluate(labels, decide_with(key, MatchConfig(
            distance=d, contain=defaults.contain, overlap=defaults.overlap,
            min_quality=defaults.min_quality)))["ALL"][1] for d in range(max_d + 1)]
        first = next((d for d, n in enumerate(false_positives) if n), None)
        print(f"  first false positive ({_name(key)}): at distance {first}")
    print("\nSHARE SWEEP at the default kind, rate and distance: F1 (precision/recall)")
    overlaps = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45)
    print("contain\\overlap " + " ".join(f"{o:>17.2f}" for o in overlaps))
    for c in (0.4, 0.5, 0.6, 0.7, 0.8):
        cells = []
        for o in overlaps:
            params = MatchConfig(distance=defaults.distance, contain=c, overlap=o,
                                 min_quality=defaults.min_quality)
            tp, fp, fn, p, r, f1 = evaluate(labels, decide_with(default_key, params))["ALL"]
            cells.append(f"{f1:.3f} ({p:.3f}/{r:.3f})")
        print(f"{c:15.2f} " + " ".join(f"{x:>17s}" for x in cells))

if __name__ == "__main__":
    main()
