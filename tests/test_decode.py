import tracemalloc

import numpy as np
import pytest

from tests.conftest import make_bad_inputs, video
from tests.media import encode_video, iter_frames
from transforms.analyze.decode import VideoError, decode_pass, open_video


def test_timestamps_come_from_decoding_not_the_header():
    # tree.avi's header claims 444 frames at 15 fps; 68 frames decode, spread over ~30 s.
    with open_video(video("tree.avi")) as v:
        assert v.probe.header_frames == 444
        times = [t for _, t, _ in v.frames(lambda i, t: True)]
        stats = v.stats
    assert stats.frames_decoded == len(times) == 68
    assert np.all(np.diff(times) > 0)
    assert times[1] == pytest.approx(0.733, abs=0.01)  # a real gap, not 1/15 s
    assert stats.duration == pytest.approx(29.6, abs=0.1)


def test_non_advancing_decoder_timestamp_is_repaired():
    # The AVI demuxer reports 0 ms for Megamind's last frame; it must follow the others.
    times = [f.time for f in iter_frames(video("Megamind.avi"))]
    assert len(times) == 270
    assert np.all(np.diff(times) > 0)
    assert times[-1] == pytest.approx(270 / 23.976, abs=0.05)


def test_rate_and_size():
    frames = list(iter_frames(video("vtest_a.mp4"), fps=2, short_side=72))
    assert len(frames) == 40
    assert [f.time for f in frames[:3]] == pytest.approx([0.0, 0.5, 1.0])
    assert frames[0].image.shape == (72, 96, 3)


def test_glitchy_video_decodes_fully():
    assert sum(1 for _ in iter_frames(video("Megamind_bugy.avi"), fps=1)) == 9


def test_only_wanted_frames_are_retrieved():
    class Every10:
        def __init__(self):
            self.got = []

        def wants(self, index, time):
            return index % 10 == 0

        def add(self, index, time, image):
            self.got.append(index)

    a, b = Every10(), Every10()
    stats = decode_pass(video("vtest_a.mp4"), [a, b])
    assert a.got == b.got == list(range(0, 200, 10))
    assert stats.frames_decoded == 200 and stats.frames_retrieved == 20


def test_memory_is_flat_in_video_length():
    def peak(limit):
        tracemalloc.start()
        for n, _ in enumerate(iter_frames(video("vtest_a.mp4"))):
            if n + 1 >= limit:
                break
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    short, full = peak(20), peak(200)
    frame_bytes = 384 * 288 * 3
    assert full < short + 2 * frame_bytes, (short, full)


@pytest.mark.parametrize("name, reason", [("truncated", "unreadable"), ("empty", "empty"),
                                          ("text", "unreadable"), ("missing", "missing")])
def test_bad_input_raises_video_error(tmp_path, name, reason):
    path = make_bad_inputs(str(tmp_path))[name]
    with pytest.raises(VideoError) as err:
        list(iter_frames(path))
    assert err.value.reason == reason
    assert path in err.value.message


def test_frames_are_not_the_reused_decoder_buffer():
    frames = list(iter_frames(video("vtest_a.mp4"), fps=1))
    assert np.abs(frames[0].image.astype(int) - frames[5].image).mean() > 1.0


def test_prefetch_yields_the_same_frames_in_own_buffers():
    every3 = lambda i, t: i % 3 == 0  # noqa: E731
    with open_video(video("Megamind.avi")) as v:
        plain = [(i, t, frame.bgr()) for i, t, frame in v.frames(every3)]
    with open_video(video("Megamind.avi")) as v:
        ahead = [(i, t, frame.bgr()) for i, t, frame in v.frames(every3, prefetch=4)]
        stats = v.stats
    assert [(i, t) for i, t, _ in ahead] == [(i, t) for i, t, _ in plain]
    assert all(np.array_equal(a[2], b[2]) for a, b in zip(ahead, plain, strict=True))
    assert stats.frames_decoded == 270 and stats.frames_retrieved == 90


def test_prefetch_consumer_may_stop_early():
    with open_video(video("vtest_a.mp4")) as v:
        frames = v.frames(lambda i, t: True, prefetch=2)
        first = [next(frames) for _ in range(3)]
        frames.close()
        assert v.stats is None  # the decoder thread stopped instead of finishing the video
    assert [i for i, _, _ in first] == [0, 1, 2]


def test_prefetching_pass_feeds_consumers_the_same_frames():
    from transforms.dedup.fingerprint import Fingerprinter
    from transforms.persons.sampling import ShotFrameSampler
    from transforms.shots.histogram import HistogramShotDetector

    def analyse(prefetch):
        fp, det = Fingerprinter("m"), HistogramShotDetector()
        sampler = ShotFrameSampler(det, "m")
        stats = decode_pass(video("Megamind.avi"), [fp, det, sampler], prefetch=prefetch)
        frames = sampler.result(stats)
        return fp.result(stats), det.result(stats), [(f.shot_index, f.time) for f in frames]

    plain, ahead = analyse(0), analyse(8)
    assert ahead == plain
    assert len(plain[1]) == 4  # Megamind's hand-labelled cuts give 4 shots


def test_variable_frame_rate_keeps_each_frames_own_time(tmp_path):
    times = [0.0, 0.1, 0.15, 0.4, 0.45, 1.0, 1.05, 1.1, 2.0, 2.5]
    frames = [np.full((48, 64, 3), 20 * i, np.uint8) for i in range(len(times))]
    path = encode_video(str(tmp_path / "vfr.mp4"), frames, times=times)
    decoded = list(iter_frames(path))
    assert [round(f.time, 3) for f in decoded] == times
    # each frame is the one written at its time (grey level 20 * i)
    assert [round(float(f.image.mean()) / 20) for f in decoded] == list(range(len(times)))


@pytest.mark.parametrize("rotation", [90, 270, 180])
def test_rotation_metadata_is_applied(tmp_path, rotation):
    image = np.zeros((32, 64, 3), np.uint8)
    image[:, :32] = 255  # the left half is white
    path = encode_video(str(tmp_path / "rot.mp4"), [image] * 5, rotation=rotation)
    frame = next(iter(iter_frames(path))).image
    # turned counter-clockwise: the left edge goes to the bottom (90), the top (270) or the
    # right (180)
    expected = {90: (64, 32, frame[-1, 16], frame[0, 16]),
                270: (64, 32, frame[0, 16], frame[-1, 16]),
                180: (32, 64, frame[16, -1], frame[16, 0])}[rotation]
    height, width, white, black = expected
    assert frame.shape[:2] == (height, width)
    assert white.mean() > 200 and black.mean() < 50
    with open_video(path) as video:
        (_, _, decoded), *_ = video.frames(lambda i, t: True)
        assert (decoded.height, decoded.width) == (height, width)
        assert decoded.gray().shape == (height, width)
        assert decoded.small_bgr(16).shape[1] == 16


def damaged_copy(tmp_path, share: float = 0.2) -> tuple[str, int]:
    """60 frames of a real video as H.264 (a keyframe every 10), with the middle ``share`` of
    the file's bytes overwritten by noise; returns the path and the frame count written."""
    source = [f.image for f in iter_frames(video("vtest_a.mp4"))][:60]
    path = encode_video(str(tmp_path / "damaged.mp4"), source, fps=10, gop=10)
    data = bytearray(open(path, "rb").read())
    lo, hi = int(len(data) * (0.5 - share / 2)), int(len(data) * (0.5 + share / 2))
    data[lo:hi] = np.random.default_rng(0).integers(0, 256, hi - lo, np.uint8).tobytes()
    with open(path, "wb") as f:
        f.write(data)
    return path, len(source)


def test_a_damaged_middle_costs_its_frames_not_the_rest(tmp_path):
    path, written = damaged_copy(tmp_path)
    stats = decode_pass(path, [])
    assert stats.decode_errors > 0
    assert stats.frames_decoded >= 0.75 * written  # OpenCV's decoder stops at 21 of 60
    assert stats.duration == pytest.approx(6.0, abs=0.11)  # the end of the video survived
