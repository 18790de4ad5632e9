"""Hamming distances, shares, the duplicate rule, band keys and the keep rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.dedup.synth import flip_bits, synthetic
from transforms.dedup.similarity import (
    BANDS,
    DEFAULT_PARAMS,
    BucketSide,
    Edge,
    KeepKey,
    MatchConfig,
    SetDecision,
    SetMatch,
    UnionFind,
    band_keys,
    bucket_pairs,
    candidate_pairs,
    compare,
    decide_against_sets,
    frame_distances,
    hamming_matrix,
    is_duplicate,
    join_keys,
    key_mixes,
    resolve_groups,
)


def _unpackbits_hamming(a, b):
    return np.unpackbits(a[:, None, :] ^ b[None, :, :], axis=2).sum(axis=2)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 7), st.integers(1, 9), st.sampled_from([8, 32, 5]), st.integers(0, 2**31))
def test_hamming_matrix_equals_bit_unpacking(n, m, size, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (n, size), dtype=np.uint8)
    b = rng.integers(0, 256, (m, size), dtype=np.uint8)
    assert np.array_equal(hamming_matrix(a, b), _unpackbits_hamming(a, b))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, BANDS - 1), st.integers(0, 2**31))
def test_hashes_within_bands_minus_one_bits_share_a_band(bits, seed):
    rng = np.random.default_rng(seed)
    h = rng.integers(0, 256, (1, 32), dtype=np.uint8)
    a, b = synthetic("a", h), synthetic("b", flip_bits(h, bits, rng))
    assert set(_hash_keys(a)) & set(_hash_keys(b))


def _hash_keys(fp, **params) -> list[tuple[int, bytes]]:
    """Every frame-hash band key of ``fp`` (or the sample of ``params``)."""
    return band_keys(fp, MatchConfig(**{"key_budget": 0, **params}))[0]


def _variant_keys(fp, **params) -> list[tuple[int, bytes]]:
    """Every crop-variant band key of ``fp`` (or those of ``params``)."""
    return band_keys(fp, MatchConfig(**{"key_budget": 0, "variant_key_budget": 0,
                                        **params}))[1]


def test_low_quality_frames_give_no_band_keys():
    h = np.random.default_rng(0).integers(0, 256, (3, 32), dtype=np.uint8)
    assert _hash_keys(synthetic("a", h, quality=10)) == []
    assert len(set(_hash_keys(synthetic("a", h)))) == 3 * BANDS


def test_near_copy_is_a_duplicate_and_a_random_video_is_not():
    rng = np.random.default_rng(1)
    h = rng.integers(0, 256, (20, 32), dtype=np.uint8)
    copy = synthetic("copy", flip_bits(h, 12, rng))
    match = compare(synthetic("a", h), copy)
    assert match.duplicate and match.share_ab == 1.0 and match.share_ba == 1.0
    other = synthetic("b", rng.integers(0, 256, (20, 32), dtype=np.uint8))
    assert compare(synthetic("a", h), other) == type(match)(0.0, 0.0, False)


def test_trim_of_at_least_half_matches_and_a_short_excerpt_does_not():
    rng = np.random.default_rng(2)
    h = rng.integers(0, 256, (40, 32), dtype=np.uint8)
    original = synthetic("orig", h)
    half = compare(original, synthetic("half", flip_bits(h[10:30], 8, rng)))
    assert half.duplicate and half.share_ab == 0.5 and half.share_ba == 1.0
    fifth = compare(original, synthetic("fifth", h[:8]))
    assert not fifth.duplicate and fifth.share_ab == 0.2


def test_decision_thresholds():
    p = MatchConfig(distance=24, contain=0.5, overlap=0.3)
    assert is_duplicate(0.5, 0.3, p)
    assert not is_duplicate(0.49, 0.49, p)
    assert not is_duplicate(1.0, 0.29, p)


def test_usable_share_ignores_black_frames():
    rng = np.random.default_rng(3)
    h = rng.integers(0, 256, (10, 32), dtype=np.uint8)
    a = synthetic("a", h)
    # b: the same 10 frames plus 10 black frames (quality 0) that match nothing
    black = np.zeros((10, 32), np.uint8)
    b_hashes = np.concatenate([h, black])
    b = synthetic("b", b_hashes)
    b = type(b)(**{**b.__dict__, "qualities": (100,) * 10 + (0,) * 10})
    assert compare(a, b).share_ba == 1.0


def test_keep_rule_longest_then_largest_then_smallest_id():
    keys = {"a": KeepKey("a", 10.0, 640, 360), "b": KeepKey("b", 12.0, 320, 180),
            "c": KeepKey("c", 12.0, 1280, 720), "d": KeepKey("d", 12.0, 1280, 720),
            "x": KeepKey("x", 5.0, 640, 360), "y": KeepKey("y", 5.0, 640, 360)}
    edges = [Edge("a", "b", 0.9, 0.8), Edge("b", "c", 1.0, 0.95), Edge("c", "d", 0.7, 0.6),
             Edge("x", "y", 0.5, 1.0)]
    drops = {d.video_id: d for d in resolve_groups(edges, keys)}
    assert sorted(drops) == ["a", "b", "d", "y"]
    assert {d.kept_video_id for d in drops.values()} == {"c", "x"}
    assert drops["b"].matched_video_id == "c" and drops["b"].score == 1.0
    assert drops["a"].matched_video_id == "b" and drops["a"].score == 0.9  # not linked to c
    assert drops["y"].score == 1.0


def test_union_find_groups_a_chain():
    uf = UnionFind()
    for a, b in [(1, 2), (3, 4), (2, 3), (7, 8)]:
        uf.union(a, b)
    assert uf.groups() == [[1, 2, 3, 4], [7, 8]]


def test_real_pair_matches_and_same_place_does_not(real_fps):
    mega = compare(real_fps["Megamind"], real_fps["Megamind_bugy"])
    assert mega.duplicate, mega
    vtest = compare(real_fps["vtest_a"], real_fps["vtest_b"])
    assert not vtest.duplicate and vtest.score < 0.2, vtest
    for other in ("vtest_a", "tree"):
        assert not compare(real_fps["Megamind"], real_fps[other]).duplicate


def test_a_crop_matches_through_the_variants_of_the_original_only():
    rng = np.random.default_rng(5)
    rand = lambda *shape: rng.integers(0, 256, (*shape, 32), dtype=np.uint8)  # noqa: E731
    variants = rand(10, 3)
    original = synthetic("orig", rand(10), variants=variants)
    crop = synthetic("crop", flip_bits(variants[:, 2], 8, rng), variants=rand(10, 3))
    d = frame_distances(original, crop)
    assert d.shape == (10, 10) and (np.diag(d) == 8).all()
    assert (d[~np.eye(10, dtype=bool)] > 64).all()
    assert compare(original, crop).duplicate and compare(crop, original).duplicate
    assert frame_distances(crop, original).T.tolist() == d.tolist()
    assert not compare(original, crop, MatchConfig(crop_variants=False)).duplicate
    assert frame_distances(original, crop, crop_variants=False).min() > 64
    # variants are never compared with variants
    twin = synthetic("twin", rand(10), variants=variants)
    assert compare(original, twin).score == 0.0


def test_variant_band_keys_leave_out_the_hash_keys():
    rng = np.random.default_rng(6)
    hashes = rng.integers(0, 256, (3, 32), dtype=np.uint8)
    variants = rng.integers(0, 256, (3, 2, 32), dtype=np.uint8)
    variants[1, 0] = hashes[2]  # a variant equal to a frame hash adds no variant key
    fp = synthetic("a", hashes, variants=variants)
    keys, vkeys = set(_hash_keys(fp)), set(_variant_keys(fp, variant_key_stride=1))
    assert len(keys) == 3 * BANDS and len(vkeys) == 5 * BANDS and not keys & vkeys
    # stride 2 keys the variants of frames 0 and 2 only (frame 1's were the duplicate one)
    assert len(_variant_keys(fp, variant_key_stride=2)) == 4 * BANDS
    assert _variant_keys(fp, crop_variants=False) == []
    assert _variant_keys(synthetic("a", hashes)) == []
    assert _variant_keys(synthetic("a", hashes, quality=10, variants=variants)) == []


def test_key_sample_is_consistent_and_bounded():
    """Every video keeps the keys of smallest mix: a key two videos share is kept by both
    whenever its mix is under both cut-offs, and a video keeps at most the budget."""
    rng = np.random.default_rng(11)
    common = rng.integers(0, 256, (40, 32), dtype=np.uint8)
    a = synthetic("a", np.concatenate([common, rng.integers(0, 256, (60, 32), np.uint8)]))
    b = synthetic("b", np.concatenate([rng.integers(0, 256, (10, 32), np.uint8), common]))
    all_a, all_b = set(_hash_keys(a)), set(_hash_keys(b))
    sample_a, sample_b = set(_hash_keys(a, key_budget=64)), set(_hash_keys(b, key_budget=64))
    assert len(sample_a) == len(sample_b) == 64
    assert sample_a <= all_a and sample_b <= all_b
    mix = {k: key_mixes(np.frombuffer(bytes(k[0] * 4) + k[1] + bytes(28 - k[0] * 4),
                                      np.uint8)[None, :], BANDS)[0, k[0]]
           for k in all_a | all_b}
    cut = min(max(mix[k] for k in sample_a), max(mix[k] for k in sample_b))
    shared_below = {k for k in all_a & all_b if mix[k] <= cut}
    assert shared_below and shared_below <= sample_a & sample_b
    # the number form of the join keys is the same sample
    full, _ = join_keys(a, MatchConfig(key_budget=64))
    assert sorted(full.tolist()) == sorted(int(mix[k]) for k in sample_a)


def test_variant_keys_share_the_hash_keys_cut_off():
    rng = np.random.default_rng(12)
    hashes = rng.integers(0, 256, (30, 32), dtype=np.uint8)
    variants = rng.integers(0, 256, (30, 4, 32), dtype=np.uint8)
    fp = synthetic("a", hashes, variants=variants)
    full, var = join_keys(fp, MatchConfig(key_budget=50, variant_key_budget=10_000,
                                          variant_key_stride=1))
    assert len(full) == 50 and len(var) > 0 and var.max() <= full.max()
    # about the same sampling rate: 4 variants per frame, so about 4 times the hash keys
    assert 100 < len(var) < 300
    capped = join_keys(fp, MatchConfig(key_budget=50, variant_key_budget=20,
                                       variant_key_stride=1))[1]
    assert capped.tolist() == var[:20].tolist()
    assert len(_variant_keys(fp, variant_key_stride=1, variant_key_budget=20,
                             key_budget=50)) == 20


def test_candidates_need_the_minimum_of_shared_keys():
    rng = np.random.default_rng(13)
    h = rng.integers(0, 256, (20, 32), dtype=np.uint8)
    one = h.copy()
    one[1:] = rng.integers(0, 256, (19, 32), dtype=np.uint8)
    one[0, 4:] = rng.integers(0, 256, 28, dtype=np.uint8)  # shares band 0 of frame 0 only
    fps = [synthetic("a", h), synthetic("copy", flip_bits(h, 10, rng)), synthetic("one", one)]
    keys = [(fp.video_id, *join_keys(fp, MatchConfig(key_budget=0))) for fp in fps]
    assert candidate_pairs(keys, min_shared=1)[0] == {("a", "copy"), ("a", "one")}
    assert candidate_pairs(keys, min_shared=2)[0] == {("a", "copy")}
    assert candidate_pairs(keys, cap=1)[0] == set()


def test_sampled_join_drops_what_all_pairs_drop_on_realistic_fingerprints():
    """Fingerprints with shots and every planted edit kind (here 40 s on average to keep the
    test fast): the sampled join's drops equal an all-pairs comparison's."""
    from benchmarks.bench_dedup_realistic import all_pairs, make_chunk, planted, pure_join

    fps = make_chunk(0, 16, 2, seed=5, median_s=40.0, sigma=0.5)
    by_id = {fp.video_id: fp for fp in fps}
    result = pure_join([fps], DEFAULT_PARAMS, lambda ids: {i: by_id[i] for i in ids})
    truth = all_pairs(fps, DEFAULT_PARAMS)
    assert result["drops"] == truth
    assert {(c, o) for c, o in planted(16, 2)} <= truth  # every edit kind matched
    assert result["keys"] < 0.6 * pure_join([fps], MatchConfig(key_budget=0, variant_key_budget=0),
                                            lambda ids: {i: by_id[i] for i in ids})["keys"]


def test_band_keys_are_the_join_keys_as_bytes():
    """The stage's bucket keys and the benchmarks' key mixes are one sample: each band key's
    mix, in order, is the join key of the same place (hash keys at a reference rate too)."""
    rng = np.random.default_rng(14)
    fp = synthetic("a", rng.integers(0, 256, (40, 32), dtype=np.uint8),
                   variants=rng.integers(0, 256, (40, 3, 32), dtype=np.uint8))

    def mix(key: tuple[int, bytes]) -> int:
        row = np.zeros((1, 32), np.uint8)
        row[0, 4 * key[0]:4 * key[0] + 4] = np.frombuffer(key[1], np.uint8)
        return int(key_mixes(row, BANDS)[0, key[0]])

    params = MatchConfig(key_budget=30, variant_key_budget=40)
    for rate in (0.0, 0.5):
        full, variant = band_keys(fp, params, rate=rate)
        join_full, join_variant = join_keys(fp, params, rate=rate)
        assert [mix(k) for k in full] == join_full.tolist()
        assert [mix(k) for k in variant] == join_variant.tolist()
        assert len(set(full)) == len(full) and not set(full) & set(variant)
    assert len(band_keys(fp, params, rate=0.5)[0]) > 30 == len(band_keys(fp, params)[0])
    assert band_keys(synthetic("empty", np.zeros((0, 32), np.uint8))) == ([], [])


@pytest.mark.parametrize("left, right, cap, expected", [
    (BucketSide(), None, 2, ([], False)),
    (BucketSide(["a"]), None, 0, ([], False)),
    (BucketSide([], ["a", "b"]), None, 2, ([], False)),
    (BucketSide(["b"], ["a"]), None, 2, ([("a", "b")], False)),
    (BucketSide(["b", "a", "c"], ["d", "a"]), None, 4,
     ([("a", "b"), ("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"), ("c", "d")], False)),
    (BucketSide(["a", "b"], ["c"]), None, 2, ([], True)),
    (BucketSide([], ["a", "b", "c"]), None, 2, ([], False)),
    (BucketSide(), BucketSide(), 2, ([], False)),
    (BucketSide(["x", "y"]), BucketSide(), 2, ([], False)),
    (BucketSide(["x"]), BucketSide(["r"]), 2, ([("x", "r")], False)),
    (BucketSide([], ["y"]), BucketSide([], ["s"]), 2, ([], False)),
    (BucketSide(["x"], ["y"]), BucketSide(["r"], ["s"]), 2,
     ([("x", "r"), ("x", "s"), ("y", "r")], False)),
    (BucketSide(["x"], ["x"]), BucketSide(["r"], ["r"]), 2, ([("x", "r")], False)),
    (BucketSide(["x"]), BucketSide(["r", "s"], ["t"]), 2, ([], True)),
], ids=["empty", "one-video", "variants-only", "variant-before-hash", "internal",
        "hot", "variants-only-not-hot", "cross-empty", "cross-no-right", "cross-one-each",
        "cross-variants-only", "cross", "cross-hash-and-variant", "cross-hot"])
def test_bucket_pairs(left, right, cap, expected):
    assert bucket_pairs(left, right, cap) == expected


def test_a_video_that_matched_no_set_and_whose_id_is_free_is_kept():
    assert decide_against_sets([]) == SetDecision()
    assert decide_against_sets([], []) == SetDecision(None, None)


def test_one_match_removes_the_video():
    match = SetMatch(2, "ref_1", 0.1, 0.9)
    assert decide_against_sets([match]) == SetDecision(removed_by=match)


def test_the_first_set_in_priority_order_takes_the_video_whatever_the_scores():
    weak_earlier = SetMatch(0, "z", 0.3, 0.5)
    strong_later = SetMatch(1, "a", 1.0, 1.0)
    for order in ([weak_earlier, strong_later], [strong_later, weak_earlier]):
        assert decide_against_sets(order, taken=[0]).removed_by == weak_earlier


def test_within_a_set_the_larger_share_either_way_then_the_smallest_id_wins():
    clip_inside = SetMatch(1, "clip", 0.05, 0.95)  # a reference clip inside a long video
    half = SetMatch(1, "half", 0.6, 0.5)
    assert decide_against_sets([half, clip_inside]).removed_by == clip_inside
    tie_b, tie_a = SetMatch(1, "b", 0.8, 0.2), SetMatch(1, "a", 0.2, 0.8)
    assert decide_against_sets([tie_b, tie_a]).removed_by == tie_a


def test_an_id_an_earlier_run_kept_fails_by_the_first_such_run_when_nothing_matched():
    assert decide_against_sets([], taken=[3, 1, 2]) == SetDecision(id_taken_by=1)
    assert decide_against_sets(iter([]), taken=iter([0])) == SetDecision(id_taken_by=0)
    match = SetMatch(4, "r", 0.9, 0.9)
    assert decide_against_sets([match], taken=[0]) == SetDecision(removed_by=match)
