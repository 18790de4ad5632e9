import pytest

from transforms.analyze.decode import DecodeStats, decode_pass
from transforms.jpeg import decode_jpeg
from transforms.persons.sampling import (
    ShotFrameSampler,
    no_person_outcome,
    select_person_shots,
)
from transforms.shots.histogram import HistogramShotDetector
from transforms.types import Shot, TimeRange

from .conftest import FPS


def sample(path: str, **kwargs):
    detector = HistogramShotDetector()
    sampler = ShotFrameSampler(detector, "v1", **kwargs)
    stats = decode_pass(path, [detector, sampler])
    return detector.result(stats), sampler.result(stats), sampler


def test_two_frames_per_shot_near_one_and_two_thirds(cut_video):
    path, _ = cut_video
    shots, frames, _ = sample(path)
    assert [f.shot_index for f in frames] == [s.index for s in shots for _ in range(2)]
    for shot in shots:
        mine = [f for f in frames if f.shot_index == shot.index]
        for frame, p in zip(mine, (1 / 3, 2 / 3), strict=True):
            target = shot.start + p * shot.duration
            # 16 held frames over the shot: a grid of at most span/8 frames.
            span = shot.end_frame - shot.start_frame
            assert abs(frame.time - target) <= (span / 16 + 0.5) / FPS + 1e-6
            assert shot.start <= frame.time < shot.end
    image = decode_jpeg(frames[0].jpeg)
    assert image.shape == (120, 160, 3)       # smaller than short_side: kept as is
    assert all(f.video_id == "v1" for f in frames)


def test_positions_option_and_bounded_reservoir(cut_video):
    path, _ = cut_video
    shots, frames, sampler = sample(path, positions=(0.1, 0.5, 0.9), reservoir=6,
                                    short_side=60)
    assert len(frames) == 3 * len(shots)
    longest = max(shots, key=lambda s: s.duration)
    mine = [f.time for f in frames if f.shot_index == longest.index]
    targets = [longest.start + p * longest.duration for p in (0.1, 0.5, 0.9)]
    # 6 held frames over a 55-frame shot: a grid of at most 16 frames.
    assert all(abs(t - g) <= 8.5 / FPS for t, g in zip(mine, targets, strict=True))
    assert decode_jpeg(frames[0].jpeg).shape[0] == 60
    assert sampler._held == [] and len(sampler._tail) == 0


def test_sampler_rejects_bad_options():
    with pytest.raises(ValueError):
        ShotFrameSampler(HistogramShotDetector(), "v", positions=(1.5,))
    with pytest.raises(ValueError):
        ShotFrameSampler(HistogramShotDetector(), "v", reservoir=3)


SHOTS = [Shot(0, 0, 50, 0.0, 2.0), Shot(1, 50, 125, 2.0, 5.0), Shot(2, 125, 200, 5.0, 8.0)]
STATS = DecodeStats(frames_decoded=200, frames_retrieved=200, first_time=0.0, last_time=7.96,
                    frame_period=0.04, width=160, height=120, size_bytes=1000)


def test_keep_shots_at_threshold():
    kept = select_person_shots(SHOTS, {0: 0.5, 1: 0.49, 2: 0.93})
    assert kept == [TimeRange(0.0, 2.0, 0, 0.5), TimeRange(5.0, 8.0, 2, 0.93)]
    assert select_person_shots(SHOTS, {0: 0.5}, threshold=0.6) == []


def test_video_without_person_shot_is_dropped():
    assert no_person_outcome("v", "/x.mp4", SHOTS, {1: 0.8}) is None
    out = no_person_outcome("v", "/x.mp4", SHOTS, {0: 0.3, 1: 0.12}, stats=STATS)
    assert (out.status, out.stage, out.reason) == ("dropped", "persons", "no_person")
    assert out.evidence == {"shots": 3, "best_score": 0.3, "threshold": 0.5,
                            "shot_scores": [0.3, 0.12, 0.0]}  # shot 2: no frame scored
    assert out.frames == 200 and out.duration == pytest.approx(8.0)
