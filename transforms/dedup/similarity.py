"""Video similarity from perceptual fingerprints, candidate keys, and duplicate grouping.

Plain numpy functions; the Beam join in ``transforms.dedup.stage`` wires them.

Similarity is vPDQ's (Meta, 2022): the share of A's usable frames (quality >= a minimum) that
have a frame of B within a Hamming distance, and the same from B to A. A pair is a duplicate
when the larger share (the shorter video found in the longer) reaches ``contain`` and the
smaller share reaches ``overlap``: a copy trimmed to at least half of the original has a
large share one way and about one half the other way.

Candidates come from multi-index hashing: a hash cut into ``b`` bands of equal width shares
at least one band exactly with any hash within ``b - 1`` bits (pigeonhole), so keying frames
by ``(band index, band value)`` finds every video pair that has one frame pair that close,
without comparing all pairs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from transforms.dedup.fingerprint import MIN_QUALITY
from transforms.types import VideoFingerprint

# Defaults chosen on benchmarks/bench_dedup_accuracy.py (numbers in docs/dedup.md).
MATCH_DISTANCE = 32
CONTAIN_SHARE = 0.5
OVERLAP_SHARE = 0.3
BANDS = 8
HOT_BUCKET_CAP = 200
VARIANT_KEY_STRIDE = 2
_CHUNK_CELLS = 1 << 22


@dataclass(frozen=True)
class MatchParams:
    """Thresholds of the duplicate decision.

    ``distance``: largest Hamming distance (bits) of two matching frame hashes;
    ``min_quality``: frames below this quality (0..100) are ignored;
    ``contain``: the larger of the two shares must reach this (0..1);
    ``overlap``: the smaller share must reach this (0..1);
    ``crop_variants``: also match a frame's hash with the other video's crop-variant hashes
    (both ways), so that a copy cropped by up to 10% matches;
    ``variant_key_stride``: the candidate join keys the crop variants of every n-th usable
    frame only (verification still uses them all): a cropped copy matches on nearly every
    frame, so one keyed frame in n finds it, at a fraction of the join's entries.
    """

    distance: int = MATCH_DISTANCE
    min_quality: int = MIN_QUALITY
    contain: float = CONTAIN_SHARE
    overlap: float = OVERLAP_SHARE
    crop_variants: bool = True
    variant_key_stride: int = VARIANT_KEY_STRIDE


DEFAULT_PARAMS = MatchParams()


@dataclass(frozen=True)
class Match:
    """The comparison of A with B: ``share_ab`` is the share (0..1) of A's usable frames
    with a match in B, ``share_ba`` the reverse; ``duplicate`` the decision."""

    share_ab: float
    share_ba: float
    duplicate: bool

    @property
    def score(self) -> float:
        """The larger share: how much of the shorter video is found in the other."""
        return max(self.share_ab, self.share_ba)


def popcount_rows(x: np.ndarray) -> np.ndarray:
    """Number of set bits along the last axis of a uint8 array."""
    return np.bitwise_count(x).sum(axis=-1, dtype=np.int32)


def hamming_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances (bits) between every row of ``a`` (n, bytes) and of ``b`` (m, bytes),
    uint8 hash arrays: an (n, m) int32 array. XOR then popcount, in row chunks to bound
    memory; 8-byte words are compared as uint64."""
    if a.shape[1] != b.shape[1]:
        raise ValueError("hashes of different sizes")
    if a.shape[1] % 8 == 0:
        a = np.ascontiguousarray(a).view(np.uint64)
        b = np.ascontiguousarray(b).view(np.uint64)
    out = np.empty((a.shape[0], b.shape[0]), np.int32)
    rows = max(1, _CHUNK_CELLS // max(1, b.shape[0] * b.shape[1]))
    for start in range(0, a.shape[0], rows):
        out[start:start + rows] = popcount_rows(a[start:start + rows, None, :] ^ b[None, :, :])
    return out


def _distance_to_variants(hashes: np.ndarray, variants: np.ndarray) -> np.ndarray:
    """(n, m) int32: bits from frame i's hash (``hashes`` (n, bytes)) to the nearest variant
    of frame j (``variants`` (m, v, bytes))."""
    m, v, size = variants.shape
    return hamming_matrix(hashes, variants.reshape(m * v, size)).reshape(
        len(hashes), m, v).min(axis=2)


def frame_distances(a: VideoFingerprint, b: VideoFingerprint,
                    min_quality: int = MIN_QUALITY, crop_variants: bool = True) -> np.ndarray:
    """(usable frames of A, usable frames of B) int32 Hamming distances (bits) of the frame
    pairs: the distance of their hashes or, with ``crop_variants``, the smaller distance of
    one frame's hash to a crop variant of the other frame when that is smaller. Variants are
    never compared with variants: a crop is a crop of the other video's whole picture."""
    if a.kind != b.kind:
        raise ValueError(f"cannot compare {a.kind} with {b.kind} fingerprints")
    ua, ub = a.usable(min_quality), b.usable(min_quality)
    ha, hb = a.hash_array()[ua], b.hash_array()[ub]
    if len(ha) == 0 or len(hb) == 0:
        return np.zeros((len(ha), len(hb)), np.int32)
    dist = hamming_matrix(ha, hb)
    if crop_variants:
        if b.variants:
            np.minimum(dist, _distance_to_variants(ha, b.variant_array()[ub]), out=dist)
        if a.variants:
            np.minimum(dist, _distance_to_variants(hb, a.variant_array()[ua]).T, out=dist)
    return dist


def frame_matches(a: VideoFingerprint, b: VideoFingerprint,
                  params: MatchParams = MatchParams()) -> np.ndarray:
    """(usable frames of A, usable frames of B) bool: frame pairs within ``params.distance``
    bits (:func:`frame_distances`)."""
    return frame_distances(a, b, params.min_quality, params.crop_variants) <= params.distance


def match_shares(a: VideoFingerprint, b: VideoFingerprint,
                 params: MatchParams = MatchParams()) -> tuple[float, float]:
    """(share of A's usable frames with a match in B, share of B's in A), each 0..1; 0 when
    a side has no usable frame. Frames match as in :func:`frame_matches`."""
    close = frame_matches(a, b, params)
    if close.size == 0:
        return 0.0, 0.0
    return float(close.any(axis=1).mean()), float(close.any(axis=0).mean())


def is_duplicate(share_ab: float, share_ba: float, params: MatchParams = MatchParams()) -> bool:
    """The decision rule on two shares (see the module docstring)."""
    return (max(share_ab, share_ba) >= params.contain
            and min(share_ab, share_ba) >= params.overlap)


def compare(a: VideoFingerprint, b: VideoFingerprint,
            params: MatchParams = MatchParams()) -> Match:
    """Compare two fingerprints exactly."""
    sab, sba = match_shares(a, b, params)
    return Match(sab, sba, is_duplicate(sab, sba, params))


def _keys_of(hashes: np.ndarray, bands: int) -> set[tuple[int, bytes]]:
    size = hashes.shape[1]
    if size % bands:
        raise ValueError(f"{size}-byte hashes do not split into {bands} bands")
    width = size // bands
    keys: set[tuple[int, bytes]] = set()
    for row in np.unique(hashes, axis=0) if len(hashes) else ():
        data = row.tobytes()
        keys.update((i, data[i * width:(i + 1) * width]) for i in range(bands))
    return keys


def band_keys(fp: VideoFingerprint, bands: int = BANDS,
              min_quality: int = MIN_QUALITY) -> set[tuple[int, bytes]]:
    """Distinct ``(band index, band bytes)`` keys of a fingerprint's usable frame hashes.

    The hash is cut into ``bands`` equal byte ranges (``hash_bytes`` must divide evenly).
    """
    return _keys_of(fp.hash_array()[fp.usable(min_quality)], bands)


def variant_band_keys(fp: VideoFingerprint, bands: int = BANDS,
                      min_quality: int = MIN_QUALITY,
                      stride: int = VARIANT_KEY_STRIDE) -> set[tuple[int, bytes]]:
    """Distinct band keys of the crop variants of every ``stride``-th usable frame that are
    not already keys of its hashes (:func:`band_keys`). A bucket pairs a video's hash keys
    with another's hash or variant keys, never variant with variant, as
    :func:`frame_matches`."""
    if not fp.variants:
        return set()
    variants = fp.variant_array()[fp.usable(min_quality)][::max(1, stride)]
    return _keys_of(variants.reshape(-1, fp.hash_bytes), bands) - band_keys(fp, bands,
                                                                            min_quality)


@dataclass(frozen=True)
class Edge:
    """A verified duplicate pair with the facts the keep rule needs."""

    a: str
    b: str
    share_ab: float
    share_ba: float


@dataclass(frozen=True)
class KeepKey:
    """What decides which video of a group is kept: longest duration, then more pixels,
    then the smallest video_id."""

    video_id: str
    duration: float
    width: int
    height: int

    @staticmethod
    def of(fp: VideoFingerprint) -> KeepKey:
        return KeepKey(fp.video_id, fp.duration, fp.width, fp.height)

    def rank(self) -> tuple:
        """Smaller is better."""
        return (-round(self.duration, 3), -(self.width * self.height), self.video_id)


class UnionFind:
    """Disjoint sets over hashable items, with path halving and union by size."""

    def __init__(self) -> None:
        self._parent: dict = {}
        self._size: dict = {}

    def find(self, x):
        parent = self._parent
        if x not in parent:
            parent[x] = x
            self._size[x] = 1
            return x
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a, b) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self._size[ra] < self._size[rb]:
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._size[ra] += self._size[rb]

    def groups(self) -> list[list]:
        """Every set with at least one item, members sorted, sets sorted by first member."""
        out: dict = {}
        for x in self._parent:
            out.setdefault(self.find(x), []).append(x)
        return sorted((sorted(g) for g in out.values()), key=lambda g: g[0])


@dataclass(frozen=True)
class Drop:
    """A video dropped as a duplicate: the group's kept video, the video it matched
    directly (the kept one when they are linked by an edge) and that edge's score."""

    video_id: str
    kept_video_id: str
    matched_video_id: str
    score: float


def resolve_groups(edges: Iterable[Edge], keys: dict[str, KeepKey]) -> list[Drop]:
    """Connected components of the duplicate edges; keep the best of each (``KeepKey``) and
    drop the rest. ``score`` is the share of the dropped video found in the video it is
    linked to: the kept one if linked directly, else its strongest neighbour."""
    uf = UnionFind()
    neighbours: dict[str, dict[str, float]] = {}
    for e in edges:
        uf.union(e.a, e.b)
        neighbours.setdefault(e.a, {})[e.b] = e.share_ab
        neighbours.setdefault(e.b, {})[e.a] = e.share_ba
    drops = []
    for group in uf.groups():
        kept = min(group, key=lambda v: keys[v].rank())
        for video_id in group:
            if video_id == kept:
                continue
            near = neighbours[video_id]
            matched = kept if kept in near else max(sorted(near), key=lambda v: near[v])
            drops.append(Drop(video_id, kept, matched, round(near[matched], 4)))
    return drops
