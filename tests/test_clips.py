"""Clips cut inside every shot while the video streams past (ClipCutter), and where a video
ends once its clips are written (clips_outcome)."""

import numpy as np
import pytest

from tests.media import ArrayFrame
from transforms.clips.sampler import ClipCutter, clips_outcome
from transforms.jpeg import decode_jpeg
from transforms.types import Reason, Stage, Status, VideoRef


class Cuts:
    """Shot boundaries as a HistogramShotDetector gives them: ``cuts`` (decode indices) become final
    ``lag`` frames after the frame they start."""

    def __init__(self, cuts=(), lag=0):
        self._cuts, self._lag = list(cuts), lag
        self.final_cuts: list[int] = []
        self.seen = 0

    def see(self, index: int) -> None:
        self.seen = index + 1
        self.final_cuts = [c for c in self._cuts if c + self._lag <= index]

    @property
    def settled_before(self) -> int:
        pending = [c for c in self._cuts if c not in self.final_cuts]
        return min([self.seen - self._lag, *pending]) if self.seen else 0

    def finish(self) -> None:
        self.final_cuts = list(self._cuts)


def _stream(times, cuts=(), lag=0, size=(40, 60), **kwargs):
    """Feed synthetic frames whose pixel value encodes their index; return the clips."""
    bounds = Cuts(cuts, lag)
    cutter = ClipCutter(bounds, kwargs.pop("period", 0.1), **kwargs)
    out = []
    for i, t in enumerate(times):
        bounds.see(i)
        assert cutter.wants(i, t)
        cutter.add(i, t, ArrayFrame(np.full(size + (3,), i * 10 % 250, np.uint8)))
        out.extend(cutter.drain())
    bounds.finish()
    cutter.finish(times[-1] + 0.1)
    return out + cutter.drain()


def test_clips_tile_each_shot_from_its_start_and_a_cut_discards_the_clip_it_interrupts():
    times = [i / 10 for i in range(100)]  # 10 s at 10 fps, cut at frame 45 (4.5 s)
    clips = _stream(times, cuts=[45], clip_seconds=2.0, stride=2.0, frames_per_clip=4)
    assert [(c.spec.start, c.spec.end, c.spec.shot_index) for c in clips] == [
        (0.0, 2.0, 0), (2.0, 4.0, 0), (4.5, 6.5, 1), (6.5, 8.5, 1)]
    assert clips[2].timestamps == pytest.approx((4.5, 5.0, 5.5, 6.0))
    # 4.0-6.0 would span the cut; 8.5-10.5 would outlast the video


@pytest.mark.parametrize("lag", [0, 3, 12], ids=["no-lag", "lag-3", "lag-12"])
def test_the_detector_lag_does_not_change_the_clips(lag):
    times = [i / 10 for i in range(100)]
    reference = _stream(times, cuts=[45, 70], lag=0, frames_per_clip=4)
    late = _stream(times, cuts=[45, 70], lag=lag, frames_per_clip=4)
    assert [(c.spec, c.timestamps, c.frames) for c in late] == [
        (c.spec, c.timestamps, c.frames) for c in reference]
    assert [c.spec.shot_index for c in reference] == [0, 0, 1, 2]


def test_a_clip_ending_exactly_at_the_cut_is_kept():
    times = [i / 10 for i in range(60)]
    clips = _stream(times, cuts=[20], frames_per_clip=4)
    assert (clips[0].spec.start, clips[0].spec.end) == (0.0, 2.0)


def test_nearest_frames_and_sizes():
    times = [i / 10 for i in range(45)]  # 4.5 s at 10 fps
    clips = _stream(times, frames_per_clip=4, short_side=20)
    assert len(clips) == 2  # the third clip (4-6 s) is never finished
    assert clips[1].timestamps == pytest.approx((2.0, 2.5, 3.0, 3.5))
    assert (clips[0].height, clips[0].width) == (20, 30)
    pixel = [int(decode_jpeg(f)[0, 0, 0]) for f in clips[1].frames]
    assert pixel == pytest.approx([200, 0, 50, 100], abs=3)  # frames 20, 25, 30, 35


def test_a_gap_serves_targets_with_the_first_frame_after():
    times = [0.0, 0.1, 1.5, 1.6, 2.5]
    (clip,) = _stream(times, frames_per_clip=4)
    assert clip.timestamps == pytest.approx((0.0, 1.5, 1.5, 1.5))
    assert clip.frames[1] == clip.frames[2]  # one frame encoded once, used twice


def test_overlapping_clips_share_frames():
    times = [i / 10 for i in range(31)]
    clips = _stream(times, stride=0.5, frames_per_clip=2)
    assert [c.spec.start for c in clips] == [0.0, 0.5, 1.0]
    assert clips[0].frames[1] == clips[2].frames[0]  # the frame at 1.0 s


def test_bad_arguments():
    with pytest.raises(ValueError):
        ClipCutter(Cuts(), 0.1, stride=0.0)


REF = VideoRef("v1", "gs://b/v1.mp4", "Archery", "training")


def test_a_video_with_clips_is_kept_with_their_count():
    outcome = clips_outcome(REF, clips=1, kept_shots=1, duration=2.5)
    assert (outcome.video_id, outcome.uri, outcome.status, outcome.stage, outcome.clips,
            outcome.reason) == ("v1", "gs://b/v1.mp4", Status.KEPT, Stage.CLIPS, 1, "")


@pytest.mark.parametrize("kept_shots, message", [
    (3, "no 2 s clip fits in the 3 kept shots of 5.40 s of decoded video"),
    (0, "no 2 s clip fits in the 0 kept shots of 5.40 s of decoded video"),
], ids=["shots-too-short", "no-kept-shot"])
def test_a_video_without_clips_is_dropped_too_short(kept_shots, message):
    outcome = clips_outcome(REF, clips=0, kept_shots=kept_shots, duration=5.4)
    assert (outcome.status, outcome.stage, outcome.reason, outcome.clips) == (
        Status.DROPPED, Stage.CLIPS, Reason.TOO_SHORT, 0)
    assert outcome.message == message
    assert "1.5 s clip" in clips_outcome(REF, 0, 1, 1.0, clip_seconds=1.5).message
