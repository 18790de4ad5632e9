"""How a clip's frames are stored, and read back: JPEG frames, or one H.264 stream in MP4.

An "h264" clip is one small MP4 file (PyAV's bundled FFmpeg and libx264): every frame it was
given, a keyframe first so it decodes alone, each frame's presentation time its source time
less the clip's first (1/90000 s ticks), and deterministic bytes (one encoder thread, no
B-frame reordering, no macroblock tree, FFmpeg's bit-exact flag so no library version or date
goes into the header): the same frames make the same file. Readers get BGR ``uint8`` frames from
:func:`clip_frames` whatever the codec. No Beam.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from fractions import Fraction

import av
import cv2
import numpy as np

from transforms.jpeg import decode_jpeg

JPEG = "jpeg"
H264 = "h264"
CODECS = (JPEG, H264)

# x264 settings of every clip: "veryfast" costs 0.5 ms a 227x128 frame here and gives the
# smallest files of the presets measured (benchmarks/RESULTS.md, issue 25).
X264_PRESET = "veryfast"
CLIP_CRF = 23
# x264's macroblock-tree rate control made about one clip in a hundred differ between runs
# of the job (the same pictures in, a different corner macroblock out: it reads memory it did
# not set); without it the clips of twelve job runs were byte-identical, at about 11% more
# bytes a clip (benchmarks/RESULTS.md, issue 25).
X264_PARAMS = "mbtree=0"
_TICKS = 90000


def encode_h264(frames: Sequence[np.ndarray], times: Sequence[float],
                crf: int = CLIP_CRF) -> bytes:
    """One MP4 file of ``frames`` shown at ``times`` (seconds, increasing; the first shown at
    0). Frames are all of one even size, either BGR uint8 arrays (converted to yuv420p by
    OpenCV: BT.601, limited range, what decoders assume of untagged video) or such yuv420p
    pictures already, in OpenCV's I420 layout (2-D, height * 3 / 2 rows). The same frames and
    times make the same bytes, in any process (:data:`X264_PARAMS`)."""
    if not frames or len(frames) != len(times):
        raise ValueError("encode_h264 needs frames and one time for each")
    planar = frames[0].ndim == 2
    height, width = frames[0].shape[:2]
    if planar:
        height = height * 2 // 3
    if width % 2 or height % 2:
        raise ValueError(f"H.264 frames must have even sides, not {width}x{height}")
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("libx264", rate=max(1, round(len(frames) / max(
            times[-1] - times[0], 1e-3))))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = stream.codec_context.time_base = Fraction(1, _TICKS)
        stream.codec_context.options = {"preset": X264_PRESET, "crf": str(crf), "threads": "1",
                                        "bf": "0", "x264-params": X264_PARAMS}
        last = -1
        for frame, time in zip(frames, times, strict=True):
            # the array itself, not a copy (from_ndarray's copy cost 0.2 ms a frame)
            picture = av.VideoFrame.from_numpy_buffer(
                frame if planar else cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420),
                format="yuv420p")
            last = max(last + 1, round((time - times[0]) * _TICKS))
            picture.pts, picture.time_base = last, stream.time_base
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def decode_h264(data: bytes, indices: Sequence[int] | None = None) -> list[np.ndarray]:
    """The BGR frames at ``indices`` (default all) of an MP4 made by :func:`encode_h264`: the
    stream is decoded up to the last index asked for, and only those frames are converted to
    BGR, by OpenCV (the inverse of the encoder's conversion; 2.5x cheaper than swscale's)."""
    wanted = None if indices is None else set(int(i) for i in indices)
    stop = None if wanted is None else max(wanted, default=-1)
    images: dict[int, np.ndarray] = {}
    with av.open(io.BytesIO(data), format="mp4") as container:
        stream = container.streams.video[0]
        stream.thread_count = 1
        for n, frame in enumerate(container.decode(stream)):
            if stop is not None and n > stop:
                break
            if wanted is None or n in wanted:
                images[n] = cv2.cvtColor(frame.to_ndarray(format="yuv420p"),
                                         cv2.COLOR_YUV2BGR_I420)
    order = range(len(images)) if indices is None else [int(i) for i in indices]
    missing = [i for i in order if i not in images]
    if missing:
        raise ValueError(f"the clip's video holds {len(images)} frames; asked for {missing[0]}")
    return [images[i] for i in order]


def clip_frames(clip, indices: Sequence[int] | None = None) -> list[np.ndarray]:
    """BGR frames of a :class:`~transforms.output.records.ClipRecord` at ``indices`` (default
    all), whatever its codec; each frame decoded once."""
    if clip.codec == H264:
        return decode_h264(clip.video, indices)
    if clip.codec != JPEG:
        raise ValueError(f"clip {clip.clip_id}: unknown codec {clip.codec!r} (this reader "
                         f"knows {', '.join(CODECS)})")
    order = range(len(clip.frames)) if indices is None else [int(i) for i in indices]
    decoded = {i: decode_jpeg(clip.frames[i]) for i in sorted(set(order))}
    return [decoded[i] for i in order]
