"""Video similarity from perceptual fingerprints, candidate keys, and duplicate grouping.

Plain numpy functions; the Beam join in ``transforms.dedup.stage`` wires them.

Similarity is vPDQ's (Meta, 2022): the share of A's usable frames (quality >= a minimum) that
have a frame of B within a Hamming distance, and the same from B to A. A pair is a duplicate
when the larger share (the shorter video found in the longer) reaches ``contain`` and the
smaller share reaches ``overlap``: a copy trimmed to at least half of the original has a
large share one way and about one half the other way. Against a reference set
(``MatchConfig.for_reference``) the smaller share need only reach ``reference_overlap`` (0): a
10 s benchmark clip found in a long video removes it.

Candidates come from multi-index hashing: a hash cut into ``b`` bands of equal width shares
at least one band exactly with any hash within ``b - 1`` bits (pigeonhole), so keying frames
by ``(band index, band value)`` finds every video pair that has one frame pair that close,
without comparing all pairs. Each video keeps only a consistent sample of its keys
(``sample_keys``: those of smallest pseudo-random mix, the same choice for every video), so the
join's keys per video stop growing with its length while duplicates, which share many keys,
still share some kept ones; against a reference set the collection video also keeps its keys
at a fixed rate (``reference_key_rate``), so a short clip inside a long one keeps sharing some.
The stage's join and ``candidate_pairs`` (the same join as one in-memory function, for the
benchmarks) take the same keys (``band_keys`` / ``join_keys``) and pair the videos of each
bucket with the same rule (``bucket_pairs``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from typing import NamedTuple

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
# Join keys kept per video (consistent sampling, see ``sample_keys``): the frame-hash keys with
# the smallest mixes, and as many crop-variant keys. Chosen on
# benchmarks/bench_dedup_realistic.py (docs/dedup.md, Scale): every planted copy and every
# duplicate an exhaustive join finds are still candidates, at a key count that no longer
# grows with the video's length. 0: keep every key (the exhaustive join).
KEY_BUDGET = 256
VARIANT_KEY_BUDGET = 2048
# A candidate pair must share this many kept keys: two videos with nothing in common share
# one key by chance (birthday collisions, growing with the square of the collection), while a
# duplicate shares many.
MIN_SHARED_KEYS = 2
# Against a reference set, the smaller share need only reach this: a 10 s benchmark clip cut
# from a long video is found in it (share of the clip >= ``contain``) while it covers a few
# percent of the video (docs/dedup.md, Limits).
REFERENCE_OVERLAP_SHARE = 0.0
# Against a reference set, the collection video also keeps every frame-hash key whose mix is
# in the lowest ``REFERENCE_KEY_RATE`` of the key space (a fixed rate, not a fixed number):
# the keys a clip inside it shares grow with the clip's length, not shrink with the video's.
# Chosen on ``benchmarks/bench_dedup_realistic.py --contained`` (docs/dedup.md, Limits).
REFERENCE_KEY_RATE = 0.25
_CHUNK_CELLS = 1 << 22


@dataclass(frozen=True)
class MatchConfig:
    """Thresholds of the duplicate decision.

    ``distance``: largest Hamming distance (bits) of two matching frame hashes;
    ``min_quality``: frames below this quality (0..100) are ignored;
    ``contain``: the larger of the two shares must reach this (0..1);
    ``overlap``: the smaller share must reach this (0..1);
    ``crop_variants``: also match a frame's hash with the other video's crop-variant hashes
    (both ways), so that a copy cropped by up to 10% matches;
    ``variant_key_stride``: the candidate join keys the crop variants of every n-th usable
    frame only (verification still uses them all): a cropped copy matches on nearly every
    frame, so one keyed frame in n finds it, at a fraction of the join's entries;
    ``key_budget``: the join keeps this many frame-hash band keys per video, the same sample
    of the key space for every video (:func:`sample_keys`); ``variant_key_budget``: the
    crop-variant keys under the same cut-off (the same sampling rate), at most this many;
    0 keeps them all (verification always uses the whole fingerprint);
    ``min_shared_keys``: a candidate pair shares at least this many kept keys;
    ``reference_overlap``: the smaller share against a reference set (``overlap`` within the
    collection); ``reference_key_rate``: against a reference set, the collection video's
    frame-hash keys are also those whose mix is in this lowest part of the key space (0..1,
    :func:`rate_cut_off`), so a short clip inside a long video stays a candidate.
    """

    distance: int = MATCH_DISTANCE
    min_quality: int = MIN_QUALITY
    contain: float = CONTAIN_SHARE
    overlap: float = OVERLAP_SHARE
    crop_variants: bool = True
    variant_key_stride: int = VARIANT_KEY_STRIDE
    key_budget: int = KEY_BUDGET
    variant_key_budget: int = VARIANT_KEY_BUDGET
    min_shared_keys: int = MIN_SHARED_KEYS
    reference_overlap: float = REFERENCE_OVERLAP_SHARE
    reference_key_rate: float = REFERENCE_KEY_RATE

    def for_reference(self) -> MatchConfig:
        """The decision against a reference set: ``overlap`` is ``reference_overlap``."""
        return replace(self, overlap=self.reference_overlap)


DEFAULT_PARAMS = MatchConfig()


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
    # one variant index at a time: (n, m) cells in memory, not (n, m * v) (a pair of one-hour
    # fingerprints: 200 MB, not 2.7 GB)
    out = hamming_matrix(hashes, np.ascontiguousarray(variants[:, 0]))
    for k in range(1, v):
        np.minimum(out, hamming_matrix(hashes, np.ascontiguousarray(variants[:, k])), out=out)
    return out


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
                  params: MatchConfig = MatchConfig()) -> np.ndarray:
    """(usable frames of A, usable frames of B) bool: frame pairs within ``params.distance``
    bits (:func:`frame_distances`)."""
    return frame_distances(a, b, params.min_quality, params.crop_variants) <= params.distance


def match_shares(a: VideoFingerprint, b: VideoFingerprint,
                 params: MatchConfig = MatchConfig()) -> tuple[float, float]:
    """(share of A's usable frames with a match in B, share of B's in A), each 0..1; 0 when
    a side has no usable frame. Frames match as in :func:`frame_matches`."""
    close = frame_matches(a, b, params)
    if close.size == 0:
        return 0.0, 0.0
    return float(close.any(axis=1).mean()), float(close.any(axis=0).mean())


def is_duplicate(share_ab: float, share_ba: float, params: MatchConfig = MatchConfig()) -> bool:
    """The decision rule on two shares (see the module docstring)."""
    return (max(share_ab, share_ba) >= params.contain
            and min(share_ab, share_ba) >= params.overlap)


def compare(a: VideoFingerprint, b: VideoFingerprint,
            params: MatchConfig = MatchConfig()) -> Match:
    """Compare two fingerprints exactly."""
    sab, sba = match_shares(a, b, params)
    return Match(sab, sba, is_duplicate(sab, sba, params))


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on a uint64 array: a bijection that scatters nearby values."""
    with np.errstate(over="ignore"):
        x = x + _GOLDEN
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def key_mixes(hashes: np.ndarray, bands: int) -> np.ndarray:
    """(hashes, bands) uint64: a pseudo-random 64-bit number per ``(band index, band bytes)``
    key of each row of ``hashes`` (n, bytes) uint8. It depends on the key only, so every
    video that has a key gives it the same number; keys of bands of up to 8 bytes (the 4 bytes
    of the default 8 bands of a 256-bit hash) get distinct numbers."""
    n, size = hashes.shape
    if size % bands:
        raise ValueError(f"{size}-byte hashes do not split into {bands} bands")
    width = size // bands
    words = -(-width // 8)
    padded = np.zeros((n, bands, words * 8), np.uint8)
    padded[:, :, :width] = hashes.reshape(n, bands, width)
    values = padded.view("<u8").reshape(n, bands, words)
    band = np.arange(bands, dtype=np.uint64)[None, :] * np.uint64(0xD1B54A32D192ED03)
    with np.errstate(over="ignore"):
        mix = _splitmix64(values[:, :, 0] ^ band)
        for w in range(1, words):
            mix = _splitmix64(mix ^ values[:, :, w])
    return mix


def rate_cut_off(rate: float) -> np.uint64 | None:
    """The largest mix in the lowest ``rate`` (0..1) of the 64-bit key space (None: 0)."""
    if rate <= 0:
        return None
    return np.uint64(min(2 ** 64 - 1, int(rate * 2 ** 64)))


def sample_keys(hashes: np.ndarray, bands: int, budget: int = 0,
                exclude: np.ndarray | None = None, below: np.uint64 | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct band keys of ``hashes`` (n, bytes) uint8 that the join keeps, as
    ``(mixes, rows, band indices)`` arrays sorted by mix (the row of ``hashes`` and the band
    that first carry each key). Keys whose mix is in ``exclude`` are left out.

    ``budget`` > 0 keeps the ``budget`` keys of smallest mix (:func:`key_mixes`): a
    consistent sample, the same for every video, so two videos that share a key both keep it
    whenever its mix is below both videos' cut-offs. A duplicate pair shares a number of keys
    that grows with the length of their common part, while each keeps ``budget``; shared keys
    among the kept ones are about ``budget`` times the share of a video's keys the other has
    (``docs/dedup.md``, Scale). ``budget`` 0 keeps every key. ``below``: only keys whose mix
    is at most this (the cut-off of another sample, for the same sampling rate)."""
    if len(hashes) == 0:
        empty = np.zeros(0, np.int64)
        return np.zeros(0, np.uint64), empty, empty
    mix = key_mixes(hashes, bands).ravel()
    unique, first = np.unique(mix, return_index=True)
    if exclude is not None and len(exclude):
        keep = ~np.isin(unique, exclude)
        unique, first = unique[keep], first[keep]
    if below is not None:
        n = int(np.searchsorted(unique, below, side="right"))
        unique, first = unique[:n].copy(), first[:n]
    if budget > 0 and len(unique) > budget:
        # copies: a slice would keep every key of the video alive
        unique, first = unique[:budget].copy(), first[:budget].copy()
    return unique, first // bands, first % bands


def _usable_hashes(fp: VideoFingerprint, min_quality: int) -> np.ndarray:
    return fp.hash_array()[fp.usable(min_quality)]


def _usable_variants(fp: VideoFingerprint, min_quality: int, stride: int) -> np.ndarray:
    variants = fp.variant_array()[fp.usable(min_quality)][::max(1, stride)]
    return variants.reshape(-1, fp.hash_bytes)


def _cut_off(own: np.ndarray, key_budget: int) -> np.uint64 | None:
    """The largest mix a video's sample of ``key_budget`` hash keys keeps (None: all)."""
    return own[key_budget - 1] if 0 < key_budget <= len(own) else None


class _KeptKeys(NamedTuple):
    """Join keys of one array of hashes (n, bytes): their mixes, sorted, and the row of
    ``hashes`` and the band index that carry each (:func:`sample_keys`)."""

    hashes: np.ndarray
    mixes: np.ndarray
    rows: np.ndarray
    bands: np.ndarray

    def band_bytes(self, bands: int) -> list[tuple[int, bytes]]:
        """The keys as ``(band index, band bytes)``, in the order of their mixes."""
        width = self.hashes.shape[1] // bands if len(self.hashes) else 0
        return [(b, self.hashes[r, b * width:(b + 1) * width].tobytes())
                for r, b in zip(self.rows.tolist(), self.bands.tolist(), strict=True)]


def _kept_keys(fp: VideoFingerprint, params: MatchConfig, bands: int,
               rate: float) -> tuple[_KeptKeys, _KeptKeys]:
    """The join's keys of a fingerprint: those of its usable frame hashes (the sample of
    ``params.key_budget`` and, with ``rate`` > 0, every key in that lowest part of the key
    space too), and those of the crop variants of every ``params.variant_key_stride``-th
    usable frame that are not keys of its hashes (any of them, kept by the budget or not),
    under the cut-off of the hash-key sample, at most ``params.variant_key_budget`` (none
    without ``params.crop_variants`` or variants)."""
    hashes = _usable_hashes(fp, params.min_quality)
    own = sample_keys(hashes, bands)
    budget = params.key_budget
    if budget > 0 and rate > 0:
        budget = max(budget, int(np.searchsorted(own[0], rate_cut_off(rate), side="right")))
    # copies: a slice would keep every key of the video alive
    full = _KeptKeys(hashes, *(a[:budget].copy() if 0 < budget < len(own[0]) else a
                               for a in own))
    if not (params.crop_variants and fp.variants):
        return full, _KeptKeys(hashes[:0], *sample_keys(hashes[:0], bands))
    variants = _usable_variants(fp, params.min_quality, params.variant_key_stride)
    return full, _KeptKeys(variants, *sample_keys(
        variants, bands, params.variant_key_budget, exclude=own[0],
        below=_cut_off(own[0], params.key_budget)))


def join_keys(fp: VideoFingerprint, params: MatchConfig = DEFAULT_PARAMS,
              bands: int = BANDS, rate: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The join's keys of a fingerprint as two sorted uint64 arrays of key mixes: its
    frame-hash keys and its crop-variant keys (empty without ``params.crop_variants``), the
    samples of ``params.key_budget`` and ``params.variant_key_budget``; what
    :func:`candidate_pairs` takes. ``rate``: the collection side of a reference join
    (``params.reference_key_rate``). The same keys as :func:`band_keys` (distinct keys of
    bands of up to 8 bytes have distinct mixes)."""
    full, variant = _kept_keys(fp, params, bands, rate)
    return full.mixes, variant.mixes


def band_keys(fp: VideoFingerprint, params: MatchConfig = DEFAULT_PARAMS, bands: int = BANDS,
              rate: float = 0.0) -> tuple[list[tuple[int, bytes]], list[tuple[int, bytes]]]:
    """The keys of :func:`join_keys` as ``(band index, band bytes)`` (the hash cut into
    ``bands`` equal byte ranges; ``hash_bytes`` must divide evenly): the frame-hash keys and
    the crop-variant keys, each distinct. The stage keys its buckets by them. A bucket pairs
    a video's hash keys with another's hash or variant keys, never variant with variant, as
    :func:`frame_matches` (:func:`bucket_pairs`)."""
    full, variant = _kept_keys(fp, params, bands, rate)
    return full.band_bytes(bands), variant.band_bytes(bands)


class BucketSide(NamedTuple):
    """The videos of one side of a join bucket (one key): ``full``, the ids there by a
    frame-hash key; ``variant``, those there by a crop-variant key (an id in both counts as
    ``full``)."""

    full: Collection[str] = ()
    variant: Collection[str] = ()


def bucket_pairs(left: BucketSide, right: BucketSide | None = None,
                 cap: int = HOT_BUCKET_CAP) -> tuple[list[tuple[str, str]], bool]:
    """The candidate pairs of one bucket and whether it is hot (skipped). Inside one
    collection (``right`` None): each video there by a frame-hash key with every other video,
    as ``(a, b)`` with ``a < b``; against a reference set (``right``: its videos there),
    ``(left id, right id)`` pairs of a left video there by a frame-hash key with any right
    video, and of a left video there by a variant key only with a right video there by a
    frame-hash key (variants are compared with hashes, never with variants). A bucket of
    fewer than two videos pairs nothing; one with more than ``cap`` videos (on one side) and
    a pair to give is hot: no pairs."""
    full = sorted(set(left.full))
    variant = sorted(set(left.variant) - set(full))
    if right is None:
        if len(full) + len(variant) < 2 or not full:
            return [], False
        if len(full) + len(variant) > cap:
            return [], True
        pairs = []
        for i, a in enumerate(full):
            pairs.extend((a, b) for b in full[i + 1:])
            pairs.extend((a, b) if a < b else (b, a) for b in variant)
        return pairs, False
    right_full = sorted(set(right.full))
    right_variant = sorted(set(right.variant) - set(right_full))
    if not (full and (right_full or right_variant)) and not (variant and right_full):
        return [], False
    if len(full) + len(variant) > cap or len(right_full) + len(right_variant) > cap:
        return [], True
    return ([(a, b) for a in full for b in right_full + right_variant]
            + [(a, b) for a in variant for b in right_full]), False


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


@dataclass(frozen=True)
class SetMatch:
    """A verified match of a collection video with a video of an earlier run or a reference
    set: ``set_index``, the set's place in priority order (earlier runs first, then the
    reference sets in the order given); ``matched_id``, the video it matched there;
    ``score``, the share (0..1) of the collection video's usable frames matched; ``found``,
    the share of the matched video's frames found in it."""

    set_index: int
    matched_id: str
    score: float
    found: float


@dataclass(frozen=True)
class SetDecision:
    """What the earlier runs and reference sets decide for one collection video: removed by
    the match ``removed_by``, or, when nothing matched it, failed because the earlier run of
    set index ``id_taken_by`` kept another video of its id; kept when both are None."""

    removed_by: SetMatch | None = None
    id_taken_by: int | None = None


def decide_against_sets(matches: Iterable[SetMatch],
                        taken: Iterable[int] = ()) -> SetDecision:
    """The priority rule of the earlier runs and reference sets for one collection video:
    of its ``matches``, the first set in priority order takes it, by the match with the
    larger share either way (``max(score, found)``), then the smallest matched id; a video
    with no match whose id the earlier runs of set indices ``taken`` kept fails by the first
    of them; any other video is kept."""
    best = min(matches, key=lambda m: (m.set_index, -max(m.score, m.found), m.matched_id),
               default=None)
    if best is not None:
        return SetDecision(removed_by=best)
    return SetDecision(id_taken_by=min(taken, default=None))


def _sorted(values: np.ndarray) -> np.ndarray:
    """``values`` (uint64) sorted, not copied when they are already (``join_keys``'s are)."""
    values = np.asarray(values, np.uint64)
    return values if len(values) < 2 or bool((values[1:] >= values[:-1]).all()) \
        else np.sort(values)


def _bucket_pairs(key: np.ndarray, owner: np.ndarray, is_variant: np.ndarray,
                  ids: list[str], side_of: list[int], cross: bool, cap: int,
                  pairs: Counter) -> int:
    """Adds the pairs of every bucket of these keys to ``pairs`` (:func:`bucket_pairs`);
    returns the number of hot buckets."""
    order = np.lexsort((is_variant, key))
    key, owner, is_variant = key[order], owner[order], is_variant[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    sizes = np.diff(np.r_[starts, len(key)])
    hot = 0
    for start, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(),
                           strict=True):
        sides: list[tuple[set[str], set[str]]] = [(set(), set()) for _ in range(2)]
        for m, v in zip(owner[start:start + size].tolist(),
                        is_variant[start:start + size].tolist(), strict=True):
            sides[side_of[m]][1 if v else 0].add(ids[m])
        found, skipped = bucket_pairs(BucketSide(*sides[0]),
                                      BucketSide(*sides[1]) if cross else None, cap)
        hot += skipped
        pairs.update(found)
    return hot


def candidate_pairs(keys: Iterable[tuple[str, np.ndarray, np.ndarray]],
                    cap: int = HOT_BUCKET_CAP, min_shared: int = 1,
                    right: Iterable[tuple[str, np.ndarray, np.ndarray]] | None = None
                    ) -> tuple[set[tuple[str, str]], int]:
    """The join of ``DropNearDuplicates``, in memory: ``keys`` holds ``(video_id, frame-hash
    key mixes, crop-variant key mixes)`` per video (:func:`join_keys`); returns the distinct
    candidate pairs and the number of hot buckets skipped. A bucket (one key) gives the pairs
    of :func:`bucket_pairs` (inside one collection with ``right`` None; else ``right`` holds
    the reference set's keys); a pair is a candidate when it meets in at least
    ``min_shared`` buckets."""
    ids: list[str] = []
    side_of: list[int] = []
    arrays: list[tuple[np.ndarray, np.ndarray]] = []
    sides = [keys] if right is None else [keys, right]
    for side, videos in enumerate(sides):
        for video_id, full, variant in videos:
            ids.append(video_id)
            side_of.append(side)
            arrays.append((_sorted(full), _sorted(variant)))
    pairs: Counter[tuple[str, str]] = Counter()
    hot = 0
    # in key ranges (by the top bits of the mix), to hold a part of all the keys at a time
    bounds = [np.uint64(b << 60) for b in range(1, 16)]
    cuts = [(np.searchsorted(f, bounds), np.searchsorted(v, bounds)) for f, v in arrays]
    for part in range(16):
        key_parts, owner_parts, variant_parts = [], [], []
        for owner, ((full, variant), (cf, cv)) in enumerate(zip(arrays, cuts, strict=True)):
            f = full[cf[part - 1] if part else 0:cf[part] if part < 15 else len(full)]
            v = variant[cv[part - 1] if part else 0:cv[part] if part < 15 else len(variant)]
            for values, is_variant in ((f, False), (v, True)):
                if len(values):
                    key_parts.append(values)
                    owner_parts.append(np.full(len(values), owner, np.int32))
                    variant_parts.append(np.full(len(values), is_variant))
        if key_parts:
            hot += _bucket_pairs(np.concatenate(key_parts), np.concatenate(owner_parts),
                                 np.concatenate(variant_parts), ids, side_of,
                                 right is not None, cap, pairs)
    return {p for p, count in pairs.items() if count >= min_shared}, hot
