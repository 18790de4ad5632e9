"""Frame hashes, quality, border trimming, the fingerprint element and the frame consumer."""

from __future__ import annotations

import dataclasses
import json
import pickle

import cv2
import numpy as np
import pytest

from tests.dedup.conftest import video
from tests.media import hash_frame, iter_frames, to_gray
from transforms.analyze.decode import decode_pass
from transforms.dedup.fingerprint import (
    CROP_WINDOWS,
    HASHERS,
    MIN_QUALITY,
    Fingerprinter,
    content_box,
    crop_windows,
    phash256,
    phash256_variants,
)
from transforms.dedup.similarity import MATCH_DISTANCE, hamming_matrix
from transforms.types import HASH_BYTES, VideoFingerprint


def _frame(name: str, at: float) -> np.ndarray:
    for f in iter_frames(video(name)):
        if f.time >= at:
            return f.image.copy()
    raise AssertionError(f"{name} has no frame at {at}s")


def _dist(a: np.ndarray, b: np.ndarray) -> int:
    ha = np.frombuffer(hash_frame(a)[0], np.uint8)[None]
    hb = np.frombuffer(hash_frame(b)[0], np.uint8)[None]
    return int(hamming_matrix(ha, hb)[0, 0])


def _gamma(img, g):
    return cv2.LUT(img, (255.0 * (np.arange(256) / 255.0) ** g).astype(np.uint8))


def _sat(img, k):
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 1] = np.clip(hsv[..., 1] * k, 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)


def _letterbox(img, share):
    h, w = img.shape[:2]
    inner = cv2.resize(img, (w, int(h * (1 - 2 * share))), interpolation=cv2.INTER_AREA)
    pad = (h - inner.shape[0]) // 2
    return cv2.copyMakeBorder(inner, pad, h - inner.shape[0] - pad, 0, 0, cv2.BORDER_CONSTANT)


def _pillarbox(img, share):
    return _letterbox(img.transpose(1, 0, 2).copy(), share).transpose(1, 0, 2).copy()


def _logo(img):
    out = img.copy()
    h, w = out.shape[:2]
    cv2.rectangle(out, (int(w * 0.86), int(h * 0.05)), (int(w * 0.96), int(h * 0.12)),
                  (255, 255, 255), -1)
    return out


EDITS = {
    "logo_10%x7%": _logo,
    "jpeg_q15": lambda f: cv2.imdecode(cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 15])[1],
                                       1),
    "resize_half": lambda f: cv2.resize(f, (f.shape[1] // 2, f.shape[0] // 2),
                                        interpolation=cv2.INTER_AREA),
    "brightness_+40": lambda f: cv2.add(f, np.full_like(f, 40)),
    "contrast_1.4": lambda f: np.clip((f.astype(np.float32) - f.mean()) * 1.4 + f.mean(), 0,
                                      255).astype(np.uint8),
    "gamma_0.6": lambda f: _gamma(f, 0.6),
    "saturation_0.3": lambda f: _sat(f, 0.3),
    "letterbox_12%": lambda f: _letterbox(f, 0.12),
    "pillarbox_12%": lambda f: _pillarbox(f, 0.125),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
@pytest.mark.parametrize("name,at", [("vtest_a.mp4", 10.0), ("Megamind.avi", 6.0)],
                         ids=["vtest", "megamind"])
def test_edited_frame_stays_within_match_distance(edit, name, at):
    frame = _frame(name, at)
    assert _dist(frame, EDITS[edit](frame)) <= MATCH_DISTANCE


def test_same_place_other_time_is_farther_than_match_distance():
    # vtest_a and vtest_b: the same static camera 45 s apart; only the people differ
    assert _dist(_frame("vtest_a.mp4", 10.0), _frame("vtest_b.mp4", 10.0)) > MATCH_DISTANCE


def _crop(img, left, top, right, bottom):
    h, w = img.shape[:2]
    part = img[int(h * top):h - int(h * bottom), int(w * left):w - int(w * right)]
    return cv2.resize(part, (w, h), interpolation=cv2.INTER_LINEAR)


def _variant_dists(original: np.ndarray, other: np.ndarray) -> tuple[int, int]:
    """(bits from other's hash to original's hash, to the nearest crop variant of it)."""
    full, variants, _ = phash256_variants(to_gray(original))
    h = np.frombuffer(hash_frame(other)[0], np.uint8)[None]
    d_full = hamming_matrix(h, np.frombuffer(full, np.uint8)[None])[0, 0]
    d_var = hamming_matrix(h, np.frombuffer(variants, np.uint8).reshape(-1, 32)).min()
    return int(d_full), int(d_var)


CROPS = {
    "crop_10%_centre": (0.05, 0.05, 0.05, 0.05),
    "crop_10%_top_left": (0.10, 0.10, 0.0, 0.0),
    "crop_10%_bottom_right": (0.0, 0.0, 0.10, 0.10),
    "crop_10%_left": (0.10, 0.0, 0.0, 0.0),
    "crop_10%_bottom": (0.0, 0.0, 0.0, 0.10),
    "crop_5%_top_right": (0.0, 0.05, 0.05, 0.0),
}


@pytest.mark.parametrize("crop", sorted(CROPS))
@pytest.mark.parametrize("name,at", [("vtest_a.mp4", 10.0), ("Megamind.avi", 6.0)],
                         ids=["vtest", "megamind"])
def test_cropped_frame_is_near_a_crop_variant_of_the_original(crop, name, at):
    frame = _frame(name, at)
    d_full, d_var = _variant_dists(frame, _crop(frame, *CROPS[crop]))
    assert d_var <= MATCH_DISTANCE < d_full or d_var <= d_full <= MATCH_DISTANCE


def test_same_place_other_time_stays_far_from_the_crop_variants():
    a, b = _frame("vtest_a.mp4", 10.0), _frame("vtest_b.mp4", 10.0)
    assert min(_variant_dists(a, b)) > MATCH_DISTANCE
    assert min(_variant_dists(b, a)) > MATCH_DISTANCE


def test_crop_windows_are_the_centre_and_the_corners():
    boxes = np.array(crop_windows(0, 200, 0, 100))
    assert len(boxes) == len(CROP_WINDOWS) == 13
    assert np.allclose(boxes[0], (10, 190, 5, 95))
    assert np.allclose(sorted(map(tuple, boxes[1:5])),
                       [(0, 180, 0, 90), (0, 180, 10, 100), (20, 200, 0, 90), (20, 200, 10, 100)])
    assert np.allclose(boxes[5], (0, 200, 0, 90)) and np.allclose(boxes[8], (20, 200, 0, 100))
    # inside a trimmed box, fractional edges
    assert np.allclose(crop_windows(10.0, 110.0, 3.0, 53.0)[0], (15, 105, 5.5, 50.5))


def test_unrelated_frames_are_about_half_the_bits_apart():
    d = _dist(_frame("vtest_a.mp4", 5.0), _frame("Megamind.avi", 6.0))
    assert 90 <= d <= 166


def test_letterbox_is_trimmed_to_the_content():
    frame = _letterbox(_frame("Megamind.avi", 6.0), 0.12)
    top, bottom, left, right = content_box(to_gray(frame))
    h, w = frame.shape[:2]
    assert abs(top - 0.12 * h) <= 3 and abs(bottom - 0.88 * h) <= 3
    assert (left, right) == (0, w)


def test_uniform_frames_have_zero_quality_and_real_frames_pass():
    black = np.zeros((288, 384, 3), np.uint8)
    card = np.full((288, 384, 3), (30, 160, 220), np.uint8)
    assert hash_frame(black)[1] == 0
    assert hash_frame(card)[1] == 0
    frame = _frame("vtest_a.mp4", 3.0)
    assert hash_frame(frame)[1] >= MIN_QUALITY
    fade = (frame.astype(np.float32) * 0.05).astype(np.uint8)
    assert hash_frame(fade)[1] < MIN_QUALITY


def test_the_job_makes_one_hash_kind_with_its_size():
    """phash256 only: the benchmark's other kinds (phash64, PDQ) are not options of the job."""
    assert set(HASHERS) == set(HASH_BYTES) == {"phash256"}
    with pytest.raises(ValueError, match="unknown hash kind 'phash64'"):
        Fingerprinter("v", kind="phash64")


def test_fingerprinter_samples_at_the_rate_and_keeps_only_hashes():
    fp_consumer = Fingerprinter("vtest_a", fps=2.0)
    stats = decode_pass(video("vtest_a.mp4"), [fp_consumer])
    fp = fp_consumer.result(stats)
    assert len(fp) == 40  # 20 s at 2 fps
    assert np.allclose(np.diff(fp.times), 0.5, atol=0.051)
    assert (fp.width, fp.height) == (384, 288)
    assert fp.duration == pytest.approx(20.0, abs=0.15)
    assert len(fp.hashes) == 40 * 32
    assert fp.variants_per_frame == 13 and fp.variant_array().shape == (40, 13, 32)
    plain = Fingerprinter("vtest_a", fps=2.0, variants=False)
    decode_pass(video("vtest_a.mp4"), [plain])
    assert plain.result().variants == b"" and plain.result().hashes == fp.hashes
    assert fp_consumer.result().duration == pytest.approx(fp.duration, abs=0.01)


def test_fingerprinter_marks_the_black_leader_of_megamind(real_fps):
    fp = real_fps["Megamind"]
    assert fp.qualities[0] < MIN_QUALITY  # the first frames are black
    assert fp.usable(MIN_QUALITY).sum() >= len(fp) - 2


def test_fingerprint_round_trips(real_fps):
    fp = real_fps["tree"]
    assert fp.variants_per_frame == 13
    assert VideoFingerprint.from_json(fp.to_json()) == fp
    assert pickle.loads(pickle.dumps(fp)) == fp


def test_fingerprint_without_variants_keeps_the_earlier_formats(real_fps):
    fp = dataclasses.replace(real_fps["tree"], variants=b"")
    row = json.loads(fp.to_json())
    assert "variants" not in row
    assert VideoFingerprint.from_json_dict(row) == fp
    # an index line written before variants existed (no key) still parses
    del row["uri"], row["kind"]
    assert VideoFingerprint.from_json_dict(row).hashes == fp.hashes


def test_inconsistent_fingerprint_is_rejected():
    with pytest.raises(ValueError, match="do not agree"):
        VideoFingerprint("x", 1.0, 2, 2, (0.0, 0.5), b"\0" * 32, (100, 100))
    with pytest.raises(ValueError, match="variant"):
        VideoFingerprint("x", 1.0, 2, 2, (0.0, 0.5), b"\0" * 64, (100, 100), variants=b"\0" * 32)


def test_variant_hashes_equal_hashing_each_window_picture():
    """The crop variants come from matrix products straight off the frame: the same bits as
    area-averaging each window to 64x64 and hashing that picture (real frames, and a
    letterboxed one whose windows lie inside the trimmed box)."""
    from transforms.dedup.fingerprint import _phash256_square, area_square, variant_hashes

    class Grab:
        def __init__(self):
            self.grays = []

        def wants(self, index, time):
            return index % 10 == 0

        def add(self, index, time, frame):
            self.grays.append(frame.gray(max_side=256))

    grab = Grab()
    decode_pass(video("vtest_b.mp4"), [grab])
    grays = grab.grays + [to_gray(_letterbox(_frame("Megamind.avi", 6.0), 0.12))]
    for gray in grays:
        box = content_box(gray)
        expected = b"".join(_phash256_square(area_square(gray, window))
                            for window in crop_windows(*box))
        assert variant_hashes(gray, box) == expected
    digest, variants, _ = phash256_variants(grays[0])
    assert digest == phash256(grays[0])[0] and len(variants) == 32 * 13


def test_area_square_is_inter_area_without_its_rounding():
    from transforms.dedup.fingerprint import area_square

    rng = np.random.default_rng(0)
    gray = cv2.GaussianBlur(rng.integers(0, 256, (180, 320), np.uint8), (5, 5), 2)
    for box in [(0, 180, 0, 320), (9, 171, 16, 304)]:
        top, bottom, left, right = box
        expected = cv2.resize(gray[top:bottom, left:right], (64, 64),
                              interpolation=cv2.INTER_AREA)
        assert np.abs(area_square(gray, box) - expected).max() <= 0.5 + 1e-3
