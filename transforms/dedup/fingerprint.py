"""Perceptual video fingerprints: one DCT hash and one quality score per sampled frame.

Plain numpy/OpenCV functions and a frame consumer; no Beam here.

A frame is hashed in four steps:

1. luminance (BT.601 grey), because colour edits (saturation) should not change the hash;
2. flat borders are trimmed (letterbox / pillarbox bars, of any constant colour, the same
   amount from opposite sides), so a copy with bars added hashes like the original;
3. the rest is downscaled to 64x64, its mean removed, weighted by a centred Tukey window
   (corners, where logos sit, count little), and its 16x16 lowest DCT coefficients are
   thresholded at their median: 256 bits (``phash256``, the construction of Meta's PDQ
   without PDQ's Jarosz pre-filter, plus the window). The median threshold makes the hash
   invariant to brightness and contrast changes, and nearly so to gamma;
4. a quality score 0..100 (PDQ's definition: summed absolute gradient of the 64x64 image
   / 90, capped at 100) says how much structure there is to hash: black leader frames,
   fades and solid cards score near 0 and are not used for matching.

``phash256`` is the one hash the job makes: the accuracy benchmark chose it over PDQ and the
classic 64-bit pHash, which it defines and registers itself (``docs/dedup.md``). ``HASHERS``
is the registry of hash kinds (a kind's size is in ``transforms.types.HASH_BYTES``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import cv2
import numpy as np

from transforms.analyze.decode import DecodedFrame, DecodeStats, RateGate
from transforms.types import DEFAULT_KIND, VideoFingerprint

# 2 frames per second: recall 0.993 vs 0.952 at 1 fps (fast-cut content sampled at other
# instants) and 1.000 at 4 fps (twice the hashes), on benchmarks/bench_dedup_accuracy.py
# (docs/dedup.md).
FINGERPRINT_FPS = 2.0
# Frames with a quality below this are not used for matching (vPDQ uses 50 on PDQ quality).
MIN_QUALITY = 50
# A border row/column is "flat" when its grey levels vary less than this (0..255 units).
BORDER_FLAT_STD = 6.0
# Never trim more than this share of a side (a frame that is all border is left whole).
BORDER_MAX_SHARE = 0.35
# Crop variants (phash256 only): besides the whole (border-trimmed) picture, each sampled frame
# is hashed in sub-windows, each (height share, width share, anchor y, anchor x): the anchor is
# the share of the cut-off margin left above / to the left (0.5: centred). A copy cropped that
# way and scaled back shows about that window. The hash is shift-sensitive (a 4% corner crop
# is ~45 bits from the whole picture's hash and from a 90% corner window), so the windows
# cover 10% crops centred, at a corner and from one side, and 5% crops at a corner; the
# accuracy benchmark's crop edits went from 1 of 6 kinds matched (no variants) to 2 (the 5
# 90% windows), 5 (+ one-sided) and 6 (+ 95% corners), with the first false positive at the
# same distance each time (docs/dedup.md).
CROP_WINDOWS: tuple[tuple[float, float, float, float], ...] = (
    (0.9, 0.9, 0.5, 0.5),
    (0.9, 0.9, 0.0, 0.0), (0.9, 0.9, 0.0, 1.0), (0.9, 0.9, 1.0, 0.0), (0.9, 0.9, 1.0, 1.0),
    (1.0, 0.9, 0.5, 0.0), (1.0, 0.9, 0.5, 1.0), (0.9, 1.0, 0.0, 0.5), (0.9, 1.0, 1.0, 0.5),
    (0.95, 0.95, 0.0, 0.0), (0.95, 0.95, 0.0, 1.0), (0.95, 0.95, 1.0, 0.0),
    (0.95, 0.95, 1.0, 1.0))
VARIANT_KINDS = frozenset({"phash256"})


def dct_matrix(n: int, k: int) -> np.ndarray:
    """The first ``k`` rows of the orthonormal DCT-II matrix of size ``n``."""
    i = np.arange(n)
    rows = np.cos(np.pi * (2 * i[None, :] + 1) * np.arange(k)[:, None] / (2 * n))
    rows *= math.sqrt(2.0 / n)
    rows[0] /= math.sqrt(2.0)
    return rows.astype(np.float32)


def tukey_window(n: int, alpha: float) -> np.ndarray:
    """Tukey (tapered cosine) window of ``n`` samples: flat in the middle, cosine tapers over
    ``alpha / 2`` of the length at each end (alpha 1: Hann)."""
    x = (np.arange(n) + 0.5) / n
    w = np.ones(n)
    edge = alpha / 2
    if edge > 0:
        low, high = x < edge, x > 1 - edge
        w[low] = 0.5 * (1 - np.cos(np.pi * x[low] / edge))
        w[high] = 0.5 * (1 - np.cos(np.pi * (1 - x[high]) / edge))
    return w


_DCT_64_16 = dct_matrix(64, 16)
# Centre weighting of phash256: corners (where logos sit) and edges (where crops and bars cut)
# count less. alpha 0.8 took a 10%x7% corner logo from ~40 to ~2 changed bits and pushed the
# same-place negatives (vtest) from ~18 to ~44 bits apart (see docs/dedup.md).
WINDOW_ALPHA = 0.8
_WINDOW_64 = np.outer(tukey_window(64, WINDOW_ALPHA),
                      tukey_window(64, WINDOW_ALPHA)).astype(np.float32)


# Frames are halved (exact 2x2 averages) while their long side is at least twice this before
# hashing (and before looking for bars): a long side of 256 to 511 pixels, two or more
# pixels to each of the 64 cells of the hashed picture.
_HASH_INPUT_SIDE = 256


def _flat_run(values: np.ndarray, limit: int) -> int:
    """How many leading entries of a boolean array are True, at most ``limit``."""
    idx = np.flatnonzero(~values[:limit])
    return int(idx[0]) if idx.size else limit


def halved(gray: np.ndarray, max_side: int) -> tuple[np.ndarray, int]:
    """``gray`` halved (exact 2x2 averages, OpenCV's fast path) while its long side is at
    least twice ``max_side``, and the factor it was shrunk by."""
    factor = 1
    while max(gray.shape[:2]) >= 2 * max_side:
        h, w = gray.shape[:2]
        gray = cv2.resize(gray[:h // 2 * 2, :w // 2 * 2], (w // 2, h // 2),
                          interpolation=cv2.INTER_AREA)
        factor *= 2
    return gray, factor


def content_box(gray: np.ndarray, flat_std: float = BORDER_FLAT_STD,
                max_share: float = BORDER_MAX_SHARE) -> tuple[int, int, int, int]:
    """The box ``(top, bottom, left, right)`` (pixel rows/cols, end exclusive) left after
    trimming letterbox / pillarbox bars from a grey image.

    A row is a bar row when its pixels vary by less than ``flat_std`` grey levels. Bars are
    symmetric (the picture is centred), so the same amount, the shorter of the two flat runs,
    is trimmed from both opposite sides: a dark or clipped region on one side only (a night
    scene, a brightness edit) is content, not a bar, and is kept. Never more than
    ``max_share`` of a side. Works on a copy halved to a long side under 512 (the frames the
    job hashes already are); the box is in full-size pixels.
    """
    h, w = gray.shape[:2]
    small, scale = halved(gray, _HASH_INPUT_SIDE)
    small = small.astype(np.float32)
    sh, sw = small.shape
    row_flat = small.std(axis=1) < flat_std
    lim_r = int(sh * max_share)
    bar_r = min(_flat_run(row_flat, lim_r), _flat_run(row_flat[::-1], lim_r))
    inner = small[bar_r:sh - bar_r]
    col_flat = inner.std(axis=0) < flat_std
    lim_c = int(sw * max_share)
    bar_c = min(_flat_run(col_flat, lim_c), _flat_run(col_flat[::-1], lim_c))
    if bar_r == 0 and bar_c == 0:
        return 0, h, 0, w
    return bar_r * scale, h - bar_r * scale, bar_c * scale, w - bar_c * scale


def area_weights(edges: np.ndarray, size: int) -> np.ndarray:
    """The (len(edges) - 1, size) float32 matrix that averages ``size`` pixels into the cells
    between consecutive ``edges`` (pixel edges, fractional allowed): each pixel weighs by
    how much of it lies in the cell. ``weights @ image @ other_weights.T`` is what
    ``cv2.resize(..., interpolation=INTER_AREA)`` computes, without its rounding to 8 bits."""
    pixel = np.arange(size)
    overlap = (np.minimum(pixel + 1, edges[1:, None]) - np.maximum(pixel, edges[:-1, None]))
    return (np.clip(overlap, 0, None) / (edges[1:] - edges[:-1])[:, None]).astype(np.float32)


def _edges(low: float, high: float, side: int = 64) -> np.ndarray:
    return np.linspace(low, high, side + 1)


@functools.lru_cache(maxsize=64)
def _square_weights(low: float, high: float, size: int, side: int) -> np.ndarray:
    """``area_weights`` of ``side`` equal cells from ``low`` to ``high`` of ``size`` pixels
    (a video's frames share their box: made once, not per frame)."""
    return area_weights(_edges(low, high, side), size)


def area_square(gray: np.ndarray, box: tuple[float, float, float, float],
                side: int = 64) -> np.ndarray:
    """The ``side`` x ``side`` area averages (float32) of a grey image (uint8 or float32)
    over ``box`` ``(top, bottom, left, right)``."""
    height, width = gray.shape
    top, bottom, left, right = box
    return (_square_weights(top, bottom, height, side) @ np.asarray(gray, np.float32)
            @ _square_weights(left, right, width, side).T)


def median_bits(coeffs: np.ndarray) -> bytes:
    """The bits of ``coeffs`` above their median, packed (a DCT hash's last step)."""
    flat = coeffs.ravel()
    return np.packbits(flat > np.median(flat)).tobytes()


def quality_of(small: np.ndarray) -> int:
    """PDQ's quality 0..100 of a 64x64 grey image (float, 0..255 levels): summed absolute
    horizontal and vertical neighbour differences / 90, capped at 100."""
    grad = np.abs(np.diff(small, axis=0)).sum() + np.abs(np.diff(small, axis=1)).sum()
    return int(min(100, grad // 90))


def _phash256_square(small: np.ndarray) -> bytes:
    weighted = (small - small.mean()) * _WINDOW_64
    return median_bits(_DCT_64_16 @ weighted @ _DCT_64_16.T)


def phash256(gray: np.ndarray) -> tuple[bytes, int]:
    """256-bit DCT hash (32 bytes) and quality 0..100 of a grey frame: borders trimmed, 64x64
    area averages, mean removed and centre-weighted (``WINDOW_ALPHA``), 16x16 lowest DCT
    coefficients thresholded at their median."""
    small = area_square(gray, content_box(gray))
    return _phash256_square(small), quality_of(small)


def crop_windows(top: float, bottom: float, left: float, right: float,
                 windows: tuple[tuple[float, float, float, float], ...] = CROP_WINDOWS
                 ) -> list[tuple[float, float, float, float]]:
    """The ``(top, bottom, left, right)`` pixel edges (fractional) of the crop variants
    (``windows``, see ``CROP_WINDOWS``) of the picture inside the box given."""
    height, width = bottom - top, right - left
    boxes = []
    for share_h, share_w, anchor_y, anchor_x in windows:
        y = top + (height - height * share_h) * anchor_y
        x = left + (width - width * share_w) * anchor_x
        boxes.append((y, y + height * share_h, x, x + width * share_w))
    return boxes


# The hash's DCT rows with the centre weighting folded in, and the weighted mean's share of
# each coefficient: coefficients of (small - mean) * window = T small T' - mean * m m'.
_TAPERED_DCT = _DCT_64_16 * tukey_window(64, WINDOW_ALPHA).astype(np.float32)[None, :]
_MEAN_SHARE = np.outer(_TAPERED_DCT.sum(axis=1), _TAPERED_DCT.sum(axis=1))


@functools.lru_cache(maxsize=16)
def _window_projections(height: int, width: int, box: tuple[int, int, int, int],
                        windows: tuple[tuple[float, float, float, float], ...]
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the crop windows of ``box`` in a ``height`` x ``width`` frame: ``rows`` (17 per
    distinct pair of top and bottom edges: the tapered DCT rows of the window's area
    averages, then their mean), which block of ``rows`` each window takes, and ``cols``
    (per window, 17 x ``width``, the same for its columns)."""
    boxes = crop_windows(*box, windows)
    spans = sorted({(top, bottom) for top, bottom, _, _ in boxes})
    rows = []
    for top, bottom in spans:
        weights = area_weights(_edges(top, bottom), height)
        rows.append(np.vstack([_TAPERED_DCT @ weights, weights.mean(axis=0, keepdims=True)]))
    cols = []
    for _, _, left, right in boxes:
        weights = area_weights(_edges(left, right), width)
        cols.append(np.vstack([_TAPERED_DCT @ weights, weights.mean(axis=0, keepdims=True)]))
    which = np.array([spans.index((top, bottom)) for top, bottom, _, _ in boxes])
    return np.stack(rows), which, np.stack(cols)


def variant_hashes(gray: np.ndarray, box: tuple[int, int, int, int],
                   windows: tuple[tuple[float, float, float, float], ...] = CROP_WINDOWS
                   ) -> bytes:
    """The ``phash256`` of each crop window of ``box`` in a grey frame (uint8 or
    float32), concatenated in window order: the DCT coefficients of each window's 64x64
    area averages, computed straight from the frame as ``rows @ frame @ cols.T`` (the
    resampling, the centre weighting and the DCT are all linear; one matrix product serves
    the windows that share their rows) instead of resizing 13 pictures (with the whole
    picture's hash: 3.0 -> 0.7 ms CPU a hashed 720p frame, benchmarks/RESULTS.md, issue
    23)."""
    rows, which, cols = _window_projections(*gray.shape, box, windows)
    spans = rows.shape[0]
    pixels = np.asarray(gray, np.float32)
    projected = (rows.reshape(spans * 17, -1) @ pixels).reshape(spans, 17, -1)
    blocks = np.matmul(projected[which], cols.transpose(0, 2, 1))
    coeffs = blocks[:, :16, :16] - blocks[:, 16:, 16:] * _MEAN_SHARE
    coeffs = coeffs.reshape(len(coeffs), -1)
    return np.packbits(coeffs > np.median(coeffs, axis=1, keepdims=True), axis=1).tobytes()


def phash256_variants(gray: np.ndarray,
                      windows: tuple[tuple[float, float, float, float], ...] = CROP_WINDOWS
                      ) -> tuple[bytes, bytes, int]:
    """``phash256`` of a grey frame plus the same hash of each crop window (``CROP_WINDOWS``)
    of the border-trimmed picture: what a copy cropped that way shows, scaled back to its
    frame. Returns ``(hash, variant hashes concatenated in window order, quality)``."""
    box = content_box(gray)
    pixels = gray.astype(np.float32)  # once, for both products
    small = area_square(pixels, box)
    return _phash256_square(small), variant_hashes(pixels, box, windows), quality_of(small)


HASHERS: dict[str, Callable[[np.ndarray], tuple[bytes, int]]] = {
    "phash256": phash256,
}


class Fingerprinter:
    """Frame consumer (see ``transforms.analyze.decode.FrameConsumer``) that fingerprints a video
    while it streams past: it wants one frame every ``1/fps`` seconds, hashes each frame
    as it arrives and keeps only the hash and quality (32 + 1 bytes and a time per frame, plus
    32 bytes per crop window (``windows``, 13 by default) when ``variants`` is on and the kind
    has them).

    Use it in the same ``decode_pass`` as other consumers, then call :meth:`result`.
    """

    def __init__(self, video_id: str, fps: float = FINGERPRINT_FPS, kind: str = DEFAULT_KIND,
                 uri: str = "", variants: bool = True,
                 windows: tuple[tuple[float, float, float, float], ...] = CROP_WINDOWS):
        if fps <= 0:
            raise ValueError("fps must be positive")
        if kind not in HASHERS:
            raise ValueError(f"unknown hash kind {kind!r} (known: {', '.join(HASHERS)})")
        self.video_id = video_id
        self.uri = uri
        self.kind = kind
        self._variants = variants and kind in VARIANT_KINDS
        self._windows = windows
        self._variant_hashes: list[bytes] = []
        self._gate = RateGate(fps)
        self._times: list[float] = []
        self._hashes: list[bytes] = []
        self._qualities: list[int] = []
        self._width = self._height = 0
        self._first: float | None = None
        self._last = 0.0
        self._seen = 0

    def wants(self, index: int, time: float) -> bool:
        if self._first is None:
            self._first = time
        self._last = time
        self._seen += 1
        return self._gate(time)

    def add(self, index: int, time: float, frame: DecodedFrame) -> None:
        # The hash is made from the frame halved to a long side under 512 (720p: 320x180):
        # its 64x64 area averages barely change (about 2 of 256 bits on real video), at a
        # fraction of the cost.
        gray = frame.gray(max_side=_HASH_INPUT_SIDE)
        if self._variants:
            digest, variants, quality = phash256_variants(gray, self._windows)
            self._variant_hashes.append(variants)
        else:
            digest, quality = HASHERS[self.kind](gray)
        self._height, self._width = frame.height, frame.width
        self._times.append(float(time))
        self._hashes.append(digest)
        self._qualities.append(quality)

    def result(self, stats: DecodeStats | None = None) -> VideoFingerprint:
        """The fingerprint. Duration and size come from ``stats`` when given (the pass's
        DecodeStats), else from the frames this consumer saw."""
        if stats is not None:
            duration, width, height = stats.duration, stats.width, stats.height
        else:
            first = self._first or 0.0
            period = (self._last - first) / (self._seen - 1) if self._seen > 1 else 0.0
            duration = self._last - first + period
            width, height = self._width, self._height
        # millisecond precision, so that the JSON form (3 decimals) round-trips exactly
        return VideoFingerprint(video_id=self.video_id, duration=round(float(duration), 3),
                                width=int(width), height=int(height),
                                times=tuple(round(t, 3) for t in self._times),
                                hashes=b"".join(self._hashes),
                                qualities=tuple(self._qualities), kind=self.kind, uri=self.uri,
                                variants=b"".join(self._variant_hashes))


def fingerprint_video(video_id: str, uri: str, fps: float = FINGERPRINT_FPS,
                      kind: str = DEFAULT_KIND, variants: bool = True) -> VideoFingerprint:
    """Decode ``uri`` once and fingerprint it (raises ``transforms.analyze.decode.VideoError``)."""
    from transforms.analyze.decode import decode_pass

    fingerprinter = Fingerprinter(video_id, fps=fps, kind=kind, uri=uri, variants=variants)
    stats = decode_pass(uri, [fingerprinter])
    return fingerprinter.result(stats)
