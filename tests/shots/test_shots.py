import cv2
import numpy as np
import pytest

from transforms.analyze.decode import decode_pass
from transforms.shots.histogram import (
    DISTANCES,
    HistogramConfig,
    HistogramShotDetector,
    hsv_histogram,
    shrink,
)
from transforms.shots.structure import cell_distance, cells, linearity

from .conftest import FPS, scene_frame, write_video


def detect(path: str, params: HistogramConfig | None = None):
    detector = HistogramShotDetector(params)
    stats = decode_pass(path, [detector])
    return detector.result(stats), stats


@pytest.mark.parametrize("name", sorted(DISTANCES))
def test_distances_span_zero_to_one(name):
    a = np.zeros(64, np.float32)
    b = np.zeros(64, np.float32)
    a[3], b[10] = 1.0, 1.0
    mixed = (a + b) / 2
    fn = DISTANCES[name]
    assert fn(a, a) == pytest.approx(0.0, abs=1e-6)
    assert fn(a, b) == pytest.approx(1.0, abs=1e-6)
    assert 0.2 < fn(a, mixed) < 0.8


def test_histogram_is_normalised_and_small_input_kept():
    image = scene_frame(1, 0)
    hist = hsv_histogram(image, (8, 4, 4))
    assert hist.shape == (128,)
    assert hist.sum() == pytest.approx(1.0, abs=1e-5)
    assert shrink(image, 64).shape == (48, 64, 3)
    assert shrink(image, 400) is image


@pytest.mark.parametrize("params", [HistogramConfig(), HistogramConfig(adaptive=True),
                                    HistogramConfig(distance="chi2", threshold=0.15),
                                    HistogramConfig(gradual_frames=0)],
                         ids=["default", "adaptive", "chi2", "no-gradual"])
def test_cuts_found_at_known_frames(cut_video, params):
    path, truth = cut_video
    shots, stats = detect(path, params)
    assert [s.start_frame for s in shots[1:]] == truth
    assert shots[0].start_frame == 0 and shots[-1].end_frame == stats.frames_decoded == 200
    for a, b in zip(shots, shots[1:], strict=False):
        assert a.end_frame == b.start_frame and a.end == b.start
    assert [s.index for s in shots] == list(range(len(truth) + 1))
    assert shots[1].start == pytest.approx(truth[0] / FPS, abs=1e-3)
    assert shots[-1].end == pytest.approx(200 / FPS, abs=1e-3)


def test_rate_limited_detector_places_cuts_on_sampled_frames(cut_video):
    path, truth = cut_video
    shots, _ = detect(path, HistogramConfig(fps=12.5))
    found = [s.start_frame for s in shots[1:]]
    assert len(found) == len(truth)
    assert all(0 <= f - t <= 1 for f, t in zip(found, truth, strict=True))


def test_min_shot_length_merges_a_flash(tmp_path):
    frames = [scene_frame(0, t) for t in range(40)]
    frames[20] = scene_frame(7, 0)              # a one-frame flash of another scene
    frames += [scene_frame(3, t) for t in range(40)]
    path = write_video(str(tmp_path / "flash.mp4"), frames)
    shots, _ = detect(path, HistogramConfig(min_shot_seconds=0.5))
    assert all(s.end_frame - s.start_frame >= 12 for s in shots)
    assert 40 in [s.start_frame for s in shots]
    shots_short, _ = detect(path, HistogramConfig(min_shot_seconds=0.0))
    assert {20, 21, 40} <= {s.start_frame for s in shots_short}


def test_dissolve_found_inside_its_span(tmp_path):
    a = [scene_frame(1, t) for t in range(40)]
    b = [scene_frame(4, t) for t in range(40)]
    mix = [cv2.addWeighted(a[-1], 1 - k / 13, b[0], k / 13, 0) for k in range(1, 13)]
    path = write_video(str(tmp_path / "dissolve.mp4"), a + mix + b)
    shots, _ = detect(path)
    assert len(shots) == 2
    assert 38 <= shots[1].start_frame <= 54


def test_colour_flicker_cut_by_colour_alone_but_not_with_patterns_or_adaptive(tmp_path):
    # Fast motion stand-in: a large object changes colour every 2 frames (a distance well
    # above the threshold every other step, all along); then a real cut to another scene.
    frames = []
    for t in range(60):
        image = scene_frame(2, t)
        cv2.rectangle(image, (0, 0), (90, 70), (40, 200, 40) if t // 2 % 2 else (200, 40, 200),
                      -1)
        frames.append(image)
    frames += [scene_frame(9, t) for t in range(40)]
    path = write_video(str(tmp_path / "flicker.mp4"), frames)
    colour_only, _ = detect(path, HistogramConfig(structure_threshold=0.0, min_shot_seconds=0.0))
    adaptive, _ = detect(path, HistogramConfig(structure_threshold=0.0, adaptive=True,
                                          adaptive_ratio=2.5, min_shot_seconds=0.0,
                                          gradual_frames=0))
    default, _ = detect(path, HistogramConfig(min_shot_seconds=0.0))
    assert len(colour_only) > 10
    assert [s.start_frame for s in adaptive[1:]] == [60]
    assert [s.start_frame for s in default[1:]] == [60]


def test_result_is_idempotent_and_memory_is_a_span_of_small_features(cut_video):
    path, _ = cut_video
    detector = HistogramShotDetector()
    stats = decode_pass(path, [detector])
    assert detector.result(stats) is detector.result(stats)
    # one float per frame looked at for each distance, and a short span of features
    assert len(detector._dist) == len(detector._struct) == 200
    assert len(detector._recent) == detector.params.gradual_frames + 1
    assert detector.final_transitions == ["cut"] * 4


def test_cell_patterns_ignore_brightness_and_contrast_but_not_another_picture():
    a = cv2.cvtColor(scene_frame(1, 0), cv2.COLOR_BGR2GRAY)
    b = cv2.cvtColor(scene_frame(6, 30), cv2.COLOR_BGR2GRAY)
    brighter = np.clip(a.astype(np.float32) * 0.6 + 70, 0, 255).astype(np.uint8)
    assert cell_distance(cells(a), cells(brighter)) < 0.05
    assert cell_distance(cells(a), cells(b)) > 0.5
    flat = np.full_like(a, 128)
    assert cell_distance(cells(flat), cells(flat)) == 0.0


def test_linearity_is_zero_halfway_through_a_dissolve_and_half_at_a_cut():
    a = cv2.cvtColor(scene_frame(1, 0), cv2.COLOR_BGR2GRAY)
    b = cv2.cvtColor(scene_frame(6, 0), cv2.COLOR_BGR2GRAY)
    assert linearity(a, cv2.addWeighted(a, 0.5, b, 0.5, 0), b) < 0.02
    assert linearity(a, b, b) == pytest.approx(0.5, abs=1e-6)
    assert linearity(a, a, a) == float("inf")
