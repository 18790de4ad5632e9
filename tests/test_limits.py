"""Per-video limits: a video too long, too large or too slow to decode ends as failed with its
reason and a message, and the other videos of the same job are kept.

The slow and the hung decoder are real decoders made slow in-process: the demux/decode
generator the pass reads packets from is wrapped so that one video's frames come 0.2 s apart
(a pathologically slow decoder) or never (a decoder stuck inside one call). Sleeping and
waiting release the GIL as FFmpeg does, so the pass's decoder thread and the Beam worker
(FnApiRunner runs in this process) behave as they would with a stuck FFmpeg call.
"""

from __future__ import annotations

import json
import os
import threading
import time

import av
import cv2
import numpy as np
import pytest

from pipelines.build_dataset import UsageError, run
from tests.conftest import VIDEOS, run_dir, write_manifest
from tests.media import encode_video
from transforms.analyze import decode


def _frames(count: int, width: int = 96, height: int = 64) -> list[np.ndarray]:
    """A smooth picture drifting one pixel a frame: one shot, no cut."""
    small = np.random.default_rng(7).integers(0, 255, (4, 8, 3), np.uint8)
    base = cv2.resize(small, (width + count, height), interpolation=cv2.INTER_CUBIC)
    return [np.ascontiguousarray(base[:, i:i + width]) for i in range(count)]


def _raw_h264(path: str, source: str) -> str:
    """A raw H.264 elementary stream of ``source``: no header duration, no timestamps."""
    with av.open(source) as src, av.open(path, "w", format="h264") as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    return path


@pytest.fixture
def slow_decoders(monkeypatch):
    """Frames of videos named ``slow*`` come 0.2 s apart; those of ``hung*`` never come."""
    real = decode._decoded_frames
    release = threading.Event()

    def decoded_frames(container, stream, errors, check):
        name = os.path.basename(container.name)
        if name.startswith("hung"):
            release.wait()  # stuck until the test ends
            return
        for frame in real(container, stream, errors, check):
            if name.startswith("slow"):
                time.sleep(0.2)
            yield frame

    monkeypatch.setattr(decode, "_decoded_frames", decoded_frames)
    monkeypatch.setattr(decode, "_JOIN_SECONDS", 0.5)
    yield
    release.set()


def test_videos_over_a_limit_fail_with_their_reason_and_the_others_are_kept(
        tmp_path, slow_decoders):
    folder = tmp_path / "in"
    folder.mkdir()
    ok = encode_video(str(folder / "ok.mp4"), _frames(30), fps=10)                # 3 s, 96x64
    long = encode_video(str(folder / "long.mp4"), _frames(50), fps=10)            # 5 s
    unstamped = encode_video(str(folder / "unstamped.mp4"), _frames(150), fps=10)
    raw = _raw_h264(str(folder / "raw.h264"), unstamped)  # 150 frames at 25 fps: 6 s decoded
    big = encode_video(str(folder / "big.mp4"), _frames(30, 160, 120), fps=10)    # 19200 px
    slow = encode_video(str(folder / "slow.mp4"), _frames(30), fps=10)            # 6 s to decode
    hung = encode_video(str(folder / "hung.mp4"), _frames(30), fps=10)
    manifest = write_manifest(str(tmp_path / "m.csv"), [
        (name, path, "", "") for name, path in
        [("ok", ok), ("long", long), ("raw", raw), ("big", big), ("slow", slow),
         ("hung", hung)]])
    out = str(tmp_path / "out")
    started = time.monotonic()
    report = run(["--input", manifest, "--output", out, "--num_shards", "1", "--skip_dedup",
                  "--skip_person_filter", "--max_video_seconds", "4", "--max_pixels", "10000",
                  "--max_decode_seconds", "1", "--runner", "FnApiRunner"],
                 save_main_session=False)
    assert time.monotonic() - started < 60  # nobody waited for the hung decoder
    with open(os.path.join(run_dir(out), "videos.jsonl")) as f:
        rows = {row["video_id"]: row for row in map(json.loads, f)}
    assert {k: (v["status"], v["stage"], v["reason"]) for k, v in rows.items()} == {
        "ok": ("kept", "clips", ""),
        "long": ("failed", "analyze", "too_long"),
        "raw": ("failed", "analyze", "too_long"),
        "big": ("failed", "analyze", "too_large"),
        "slow": ("failed", "analyze", "timeout"),
        "hung": ("failed", "analyze", "timeout")}
    assert rows["ok"]["clips"] == 1
    assert "header says 5.0 s, over --max_video_seconds 4" in rows["long"]["message"]
    assert ("decoded timestamps pass --max_video_seconds 4 (the header gives no duration)"
            in rows["raw"]["message"])
    assert "160x120 frames are over --max_pixels 10000" in rows["big"]["message"]
    for name in ("slow", "hung"):
        assert "over --max_decode_seconds 1" in rows[name]["message"]
    assert report["videos"] == {"input": 6, "kept": 1, "dropped": 0, "failed": 5}
    assert report["reasons"]["failed"] == {"too_long": 2, "too_large": 1, "timeout": 2}
    assert report["settings"]["limits"] == {"max_video_seconds": 4.0, "max_pixels": 10000,
                                            "max_decode_seconds": 1.0}


def test_default_limits_pass_the_sample_videos():
    from transforms.analyze.config import LimitsConfig

    with decode.open_video(os.path.join(VIDEOS, "vtest_a.mp4"), LimitsConfig()) as video:
        frames = sum(1 for _ in decode.dispatch(video, [], decode.PREFETCH))
    assert frames == 0 and video.stats.frames_decoded == video.probe.header_frames > 0


@pytest.mark.parametrize(("flag", "value"), [
    ("--max_video_seconds", "-1"), ("--max_pixels", "-5"), ("--max_decode_seconds", "-0.5"),
    ("--max_video_seconds", "nan")])
def test_limits_out_of_range_are_refused_naming_the_option(tmp_path, flag, value):
    out = tmp_path / "out"
    with pytest.raises(UsageError, match=f"{flag} must be >= 0"):
        run(["--input", VIDEOS, "--output", str(out), "--runner", "FnApiRunner", flag, value],
            save_main_session=False)
    assert not out.exists()



@pytest.mark.parametrize("prefetch", [0, decode.PREFETCH], ids=["in-caller", "decoder-thread"])
def test_a_slow_decoder_times_out_in_either_decode_loop(tmp_path, slow_decoders, prefetch):
    """Without a decoder thread the time is checked between packets; with one, the caller's
    wait on the thread is bounded too. Unlimited, this pass takes 6 s."""
    from transforms.analyze.config import LimitsConfig

    path = encode_video(str(tmp_path / "slow.mp4"), _frames(30), fps=10)
    started = time.monotonic()
    with pytest.raises(decode.VideoError) as info:
        decode.decode_pass(path, [], prefetch, LimitsConfig(0, 0, 0.5))
    assert info.value.reason == "timeout"
    assert 0.5 <= time.monotonic() - started < 2.0
