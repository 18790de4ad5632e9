"""Clips stored as H.264 (``--clip_codec h264``): every frame of the clip's span, each at its
source time, in one MP4 that decodes alone; the same clips on a rerun."""

import io
import os

import av
import cv2
import numpy as np
import pytest

from tests.conftest import run_dir, video
from tests.media import ArrayFrame
from tests.test_clips import Cuts, _stream
from transforms.analyze.decode import decode_pass
from transforms.clips.codec import H264, clip_frames, decode_h264, encode_h264
from transforms.clips.config import ClipConfig
from transforms.clips.sampler import ClipCutter
from transforms.output.records import ClipRecord, from_example
from transforms.output.shards import iter_records, match_shards


def _mp4_times(data: bytes) -> list[float]:
    with av.open(io.BytesIO(data)) as container:
        return [float(frame.time) for frame in container.decode(video=0)]


def test_every_frame_of_the_span_and_a_cut_still_discards_the_clip_it_interrupts():
    times = [i / 10 for i in range(100)]  # 10 s at 10 fps, cut at frame 45 (4.5 s)
    clips = _stream(times, cuts=[45], clip_seconds=2.0, stride=2.0, frames_per_clip=None,
                    codec=H264, size=(48, 64))
    assert [(c.spec.start, c.spec.end, c.spec.shot_index) for c in clips] == [
        (0.0, 2.0, 0), (2.0, 4.0, 0), (4.5, 6.5, 1), (6.5, 8.5, 1)]
    assert clips[2].timestamps == pytest.approx([4.5 + i / 10 for i in range(20)])
    for clip in clips:
        assert clip.codec == H264 and clip.frames == () and len(clip.timestamps) == 20
        frames = decode_h264(clip.video)
        # the synthetic frames' value is 10 x their index: each frame is the one at its time
        values = [int(np.median(f)) for f in frames]
        expected = [round(t * 10) * 10 % 250 for t in clip.timestamps]
        assert np.abs(np.subtract(values, expected)).max() <= 4  # neighbours differ by 10
        assert _mp4_times(clip.video) == pytest.approx(
            np.subtract(clip.timestamps, clip.timestamps[0]), abs=1e-4)


def test_a_gap_in_a_variable_rate_video_repeats_no_frame():
    times = [i / 10 for i in range(30)] + [3.5 + i / 10 for i in range(30)]  # 0.5 s gap
    clips = _stream(times, clip_seconds=2.0, stride=2.0, frames_per_clip=None, codec=H264)
    assert [(c.spec.start, len(c.timestamps)) for c in clips] == [(0.0, 20), (2.0, 15),
                                                                   (4.0, 20)]
    assert all(len(set(c.timestamps)) == len(c.timestamps) for c in clips)


def test_clip_fps_samples_that_many_frames_a_second():
    times = [i / 30 for i in range(150)]  # 5 s at 30 fps
    clips = _stream(times, period=1 / 30, clip_seconds=2.0, stride=2.0, frames_per_clip=32,
                    codec=H264)
    assert [len(c.timestamps) for c in clips] == [32, 32]
    assert len(set(clips[0].timestamps)) == 32
    assert len(decode_h264(clips[0].video)) == 32
    assert ClipConfig(codec=H264, fps=16).stored_frames(1 / 30) == 32
    assert ClipConfig(codec=H264).stored_frames(1 / 30) is None


def test_real_video_clips_hold_every_decoded_frame_and_decode_alone():
    uri = video("Megamind.avi")  # 23.976 fps, 720x528
    seen: list[tuple[float, np.ndarray]] = []

    class Recorder:
        def wants(self, index, time):
            return True

        def add(self, index, time, frame):
            seen.append((time, frame.bgr_short_side(128)))

    bounds = Cuts()
    bounds.see(10 ** 9)
    cutter = ClipCutter(bounds, 1 / 23.976, frames_per_clip=None, codec=H264)
    stats = decode_pass(uri, [Recorder(), cutter])
    cutter.finish(stats.first_time + stats.duration)
    clips = cutter.drain()
    assert len(clips) == 5  # 11.3 s: clips at 0, 2, ..., 8 s
    half = 0.5 / 23.976
    for clip in clips:
        span = [t for t, _ in seen if clip.spec.start - half <= t < clip.spec.end - half]
        assert list(clip.timestamps) == span and len(span) == 48
        record = ClipRecord("m", "m_c", uri, clip.spec.start, clip.spec.end, 23.976,
                            clip.height, clip.width, (), clip.timestamps, codec=H264,
                            video=clip.video)
        frames = clip_frames(record)
        assert (clip.height, clip.width) == (128, 176) == frames[0].shape[:2]
        source = dict(seen)
        for time, frame in zip(clip.timestamps[::12], frames[::12], strict=True):
            want = source[time]
            # H.264 at crf 23 is close to the scaled source frame (which is 175 px wide)
            assert np.abs(frame[:, :want.shape[1]].astype(int) - want).mean() < 6
        picked = clip_frames(record, [47, 0])
        assert np.array_equal(picked[0], frames[47]) and np.array_equal(picked[1], frames[0])


def test_the_encoder_is_deterministic_and_refuses_odd_sizes():
    frames = [np.full((32, 48, 3), i * 20, np.uint8) for i in range(8)]
    times = [i / 8 for i in range(8)]
    assert encode_h264(frames, times) == encode_h264(frames, times)
    assert encode_h264(frames, times) != encode_h264(frames, times, crf=30)
    with pytest.raises(ValueError, match="even sides"):
        encode_h264([np.zeros((31, 48, 3), np.uint8)], [0.0])
    with pytest.raises(ValueError, match="one time for each"):
        encode_h264(frames, times[:-1])
    ArrayFrame(frames[0])  # the synthetic frame type the cutter tests feed


def test_h264_job_reruns_in_another_process_write_byte_identical_shards(dataset_inputs,
                                                                        tmp_path):
    """A rerun in another process writes the same shard bytes: the clips, their frame times
    and their MP4s (x264 without its macroblock tree, codec.X264_PARAMS; with it, about one
    clip in a hundred differed between runs of the job)."""
    import subprocess
    import sys

    from pipelines.build_dataset import run

    args = ["--num_shards", "2", "--skip_dedup", "--clip_codec", "h264"]
    run(["--input", dataset_inputs, "--output", str(tmp_path / "a"), *args,
         "--runner", "FnApiRunner"], save_main_session=False)
    subprocess.run([sys.executable, "-m", "pipelines.build_dataset", "--input", dataset_inputs,
                    "--output", str(tmp_path / "b"), *args], check=True, capture_output=True,
                   cwd=os.path.dirname(os.path.dirname(__file__)), timeout=600)
    shards = [match_shards(run_dir(str(tmp_path / name))) for name in ("a", "b")]
    assert len(shards[0]) == len(shards[1]) == 2
    for a, b in zip(*shards, strict=True):
        assert open(a, "rb").read() == open(b, "rb").read(), a
    clips = [from_example(r) for p in shards[0] for r in iter_records(p)]
    assert clips and all(c.codec == H264 and c.video and not c.frames for c in clips)
    for clip in clips:
        frames = clip_frames(clip)
        assert len(frames) == clip.num_frames == round(2.0 * clip.fps)


def test_previews_and_report_thumbnails_read_h264_clips():
    from annotate.media import preview_strip
    from transforms.jpeg import decode_jpeg
    from transforms.output.report_html import _first_middle_last

    frames = [np.full((64, 96, 3), 40 + i * 5, np.uint8) for i in range(20)]
    times = [i / 10 for i in range(20)]
    record = ClipRecord("v", "v_c", "v.mp4", 0.0, 2.0, 10.0, 64, 96, (), tuple(times),
                        codec=H264, video=encode_h264(frames, times))
    strip, count = preview_strip(record, height=32, max_frames=8)
    assert count == 8 and decode_jpeg(strip).shape == (32, 8 * 48, 3)
    thumbs = [decode_jpeg(j) for j in _first_middle_last(record)]
    assert [int(np.median(t)) for t in thumbs] == pytest.approx([40, 90, 135], abs=4)


@pytest.mark.parametrize("colorspace,colour_range,pixels",
                         [(2, 0, "yuv420p"), (5, 1, "yuv420p"), (1, 1, "yuv420p"),
                          (2, 2, "yuv420p"), (2, 0, "yuvj420p")],
                         ids=["untagged", "bt601", "bt709", "full-range", "yuvj-untagged"])
def test_clip_pictures_keep_their_colours_whatever_the_source_is_tagged(colorspace,
                                                                       colour_range, pixels):
    """An untagged or BT.601 limited-range frame is scaled plane by plane (no RGB round trip);
    a BT.709 or full-range one is converted through RGB (swscale reads the tags). Either way
    the clip's picture, read back as ``decode_h264`` reads it, has the source's colours
    (saturated ones included) within the rounding and 4:2:0 loss of the RGB route, where
    scaling the planes of a BT.709 or full-range frame would shift them."""
    from transforms.analyze.decode import DecodedFrame

    rng = np.random.default_rng(3)
    bgr = cv2.resize(rng.integers(0, 256, (9, 16, 3), np.uint8), (640, 360),
                     interpolation=cv2.INTER_CUBIC)
    source = av.VideoFrame.from_ndarray(bgr, format="bgr24").reformat(
        format=pixels, dst_colorspace=colorspace if colorspace != 2 else None,
        dst_color_range=colour_range or None)
    source.colorspace, source.color_range = colorspace, colour_range
    frame = DecodedFrame(source)
    truth = cv2.resize(bgr, (228, 128), interpolation=cv2.INTER_AREA).astype(int)

    def error(i420):
        return np.abs(cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420).astype(int) - truth).mean()

    rgb_route = error(cv2.cvtColor(frame.bgr(228, 128), cv2.COLOR_BGR2YUV_I420))
    picture = frame.i420_even_short_side(128)
    assert picture.shape == (192, 228)
    assert error(picture) <= rgb_route + 0.05 and rgb_route < 5
    planes = error(source.reformat(width=228, height=128, format="yuv420p",
                                   interpolation="AREA").to_ndarray())
    # swscale turns a yuvj (full-range format) frame's levels into limited range itself;
    # a full-range flag on a yuv420p frame, or a BT.709 tag, it leaves as they are
    shifted = colorspace == 1 or colour_range == 2
    assert planes > rgb_route + 2 if shifted else planes < 5
