import math

import numpy as np
import pytest

from transforms.clips.sampler import ClipSampler, plan_clips, target_times
from transforms.output.records import decode_jpeg
from transforms.types import TimeRange


def test_plan_inside_ranges():
    plan = list(plan_clips([TimeRange(5.0, 9.5, shot_index=1, person_score=0.9),
                            TimeRange(0.0, 4.0, shot_index=0)], 2.0, 2.0, 4))
    assert [(c.start, c.end, c.shot_index) for c in plan] == [
        (0.0, 2.0, 0), (2.0, 4.0, 0), (5.0, 7.0, 1), (7.0, 9.0, 1)]
    assert plan[2].targets == (5.0, 5.5, 6.0, 6.5)
    assert plan[2].person_score == 0.9


def test_plan_overlapping_stride_and_bad_args():
    assert [c.start for c in plan_clips([TimeRange(0, 3)], 2.0, 0.5, 2)] == [0, 0.5, 1.0]
    with pytest.raises(ValueError):
        list(plan_clips([TimeRange(0, 3)], 2.0, 0.0, 2))


def _stream(sampler, times, size=(40, 60)):
    """Feed synthetic frames whose pixel value encodes their index."""
    out = []
    for i, t in enumerate(times):
        if sampler.wants(i, t):
            sampler.add(i, t, np.full(size + (3,), i * 10 % 250, np.uint8))
        out.extend(sampler.drain())
    return out


def test_sampler_picks_nearest_frames_and_drops_unfinished_clip():
    times = [i / 10 for i in range(45)]  # 4.5 s at 10 fps
    sampler = ClipSampler([TimeRange(0, math.inf)], 0.1, 2.0, 2.0, 4, short_side=20)
    clips = _stream(sampler, times)
    assert len(clips) == 2  # the third clip (4-6 s) is never finished
    assert clips[1].timestamps == pytest.approx((2.0, 2.5, 3.0, 3.5))
    assert (clips[0].height, clips[0].width) == (20, 30)
    pixel = [int(decode_jpeg(f)[0, 0, 0]) for f in clips[1].frames]
    assert pixel == pytest.approx([200, 0, 50, 100], abs=3)  # frames 20, 25, 30, 35


def test_sampler_gap_serves_targets_with_first_frame_after():
    times = [0.0, 0.1, 1.5, 1.6, 2.5]
    sampler = ClipSampler([TimeRange(0, math.inf)], 0.1, 2.0, 2.0, 4)
    (clip,) = _stream(sampler, times)
    assert clip.timestamps == pytest.approx((0.0, 1.5, 1.5, 1.5))
    assert clip.frames[1] == clip.frames[2]  # one frame encoded once, used twice


def test_target_times_merge_overlapping_clips():
    plan = plan_clips([TimeRange(0, 3)], 2.0, 0.5, 2)  # clips at 0, 0.5, 1.0
    assert list(target_times(plan)) == [0.0, 0.5, 1.0, 1.0, 1.5, 2.0]


def test_wants_runs_ahead_of_add():
    """A prefetching decoder asks about every frame before any is added: same frames."""
    times = [i / 10 for i in range(45)]
    ranges = [TimeRange(0.3, math.inf)]
    ahead = ClipSampler(ranges, 0.1, 2.0, 1.0, 4)
    wanted = [i for i, t in enumerate(times) if ahead.wants(i, t)]
    for i in wanted:
        ahead.add(i, times[i], np.full((8, 8, 3), i, np.uint8))
    lockstep = ClipSampler(ranges, 0.1, 2.0, 1.0, 4)
    assert [c.timestamps for c in _stream(lockstep, times)] == [
        c.timestamps for c in ahead.drain()]
    assert wanted == [3, 8, 13, 18, 23, 28, 33, 38, 43]  # 43 starts a clip 4.8 s never ends


def test_sampler_is_done_after_its_last_planned_clip():
    times = [i / 10 for i in range(100)]
    sampler = ClipSampler([TimeRange(1.0, 3.5)], 0.1, 2.0, 2.0, 4)
    done_at = None
    for i, t in enumerate(times):
        if sampler.wants(i, t):
            sampler.add(i, t, np.zeros((8, 8, 3), np.uint8))
        if sampler.drain() and done_at is None:
            done_at = i
        if sampler.done:
            break
    assert done_at == 25 and i == 25  # the one clip (1.0-3.0 s) ends with frame 2.5 s
    assert not ClipSampler([TimeRange(0, math.inf)], 0.1, 2.0, 2.0, 4).done
