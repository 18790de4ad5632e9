"""The one streaming video decoder every stage uses (PyAV: FFmpeg's decoders, in process).

A video is decoded once per pass, front to back. Each decoded frame is handed to the pass's
consumers as a :class:`DecodedFrame`, which converts only on request and only to the small
image a consumer needs: the luma plane for hashes (no colour conversion), a strided subsample
of the planes for a shot histogram (no full-size resize), and one scaled conversion for a clip
or detector frame. Converting and resizing every full frame costs as much as decoding it, so
a pass that makes only small images pays for decoding and little else. Nothing holds the
whole video: memory is flat in its length.

Timestamps are the frames' presentation times (decoded, from the stream's start), not the
container header's claims: ``tree.avi`` claims 444 frames at 15 fps but decodes 68 frames
over 30 s; variable frame rates come out as they are. A timestamp that is missing or does not
advance gets the previous one plus one nominal frame period. Rotation metadata (the display
matrix) is applied to every image a frame gives out.

A damaged packet costs the frames it holds, not the rest of the video: decoding goes on after
an error, and the errors are counted (``DecodeStats.decode_errors``).

Limits (``LimitsConfig``) end a video as failed instead of letting it hold a worker: frames
larger than ``max_pixels`` and a header duration over ``max_video_seconds`` before decoding;
decoded timestamps past ``max_video_seconds`` (the header can lie or say nothing) and a pass
running past ``max_decode_seconds`` of wall-clock time while decoding. With a decoder thread
(``prefetch`` > 0) the caller stops waiting for a decoder stuck inside one FFmpeg call and
leaves that thread behind; without one, time is checked between packets only.

Remote inputs (``gs://`` or any Beam FileSystems scheme) are copied to a temporary local file
that is deleted when the pass ends, whatever happens.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import math
import os
import queue
import shutil
import tempfile
import threading
import time as _time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import av
import cv2
import numpy as np

from transforms.analyze.config import NO_LIMITS, LimitsConfig
from transforms.types import Reason

# FFmpeg logs every glitch of a damaged stream; those are expected in web video and are
# counted per video, not printed per frame.
av.logging.set_level(av.logging.PANIC)

_DEFAULT_FPS = 25.0
# Decoded frames a decoder thread may run ahead of the consumers (each holds a full decoded
# frame: 8 at 1080p are about 25 MB). The thread overlaps decoding with the consumers' work and
# lets a pass give up on a decoder stuck inside FFmpeg (--max_decode_seconds); handing frames
# over in batches of 4 keeps its cost at about 2% of the CPU of decoding on the consumers'
# thread (8% one frame at a time).
PREFETCH = 8
_COPY_CHUNK = 8 << 20
# Seconds the caller waits for a stopped decoder thread to end before leaving it behind (a
# decoder stuck inside one call cannot be interrupted; its thread is a daemon).
_JOIN_SECONDS = 5.0


class VideoError(Exception):
    """A video that cannot be used; ``reason`` says why (a failed Outcome's reason)."""

    def __init__(self, reason: Reason, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class VideoProbe:
    """What the container says before decoding (may be wrong; decoding has the last word).
    ``width``/``height`` are as coded (a rotation is applied to the decoded frames);
    ``header_duration`` is in seconds, 0 when the header does not say."""

    path: str
    size_bytes: int
    header_fps: float
    header_frames: int
    width: int
    height: int
    codec: str = ""
    header_duration: float = 0.0


@dataclass(frozen=True)
class DecodeStats:
    """What one decode pass found: these numbers, not the header, describe the video.
    ``decode_errors`` counts packets the decoder rejected (their frames are lost; decoding
    went on); ``decoder_cpu_seconds`` is the CPU time of the decoder thread when the pass
    prefetched (0 otherwise: the caller's own thread time then includes decoding)."""

    frames_decoded: int
    frames_retrieved: int
    first_time: float
    last_time: float
    frame_period: float
    width: int
    height: int
    size_bytes: int
    decode_errors: int = 0
    decoder_cpu_seconds: float = 0.0

    @property
    def duration(self) -> float:
        """Seconds from the first frame to the end of the last one."""
        if self.frames_decoded == 0:
            return 0.0
        return self.last_time + self.frame_period - self.first_time


_FULL_RANGE_LUMA = np.clip(np.round((np.arange(256) - 16) * (255.0 / 219.0)), 0, 255
                           ).astype(np.uint8)
_FULL_RANGE_CHROMA = np.clip(np.round((np.arange(256) - 128) * (255.0 / 224.0) + 128), 0, 255
                             ).astype(np.uint8)
# Frames tagged with these colour matrices (unspecified, BT.470BG, SMPTE 170M) swscale treats
# as BT.601, the matrix an untagged H.264 clip is read with.
_BT601_TAGS = frozenset({2, 5, 6})
_FULL_RANGE = 2  # AVCOL_RANGE_JPEG
_ROTATIONS = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180,
              270: cv2.ROTATE_90_CLOCKWISE}


class DecodedFrame:
    """One decoded frame, converted lazily: each method makes only the image asked for.

    ``width``/``height`` are the displayed size (rotation applied). The images are new
    arrays, safe to keep; the frame itself holds the decoded picture (YUV, full size), so
    keep frames only as long as needed (a few dozen at most).
    """

    __slots__ = ("_frame", "_rotation", "width", "height", "_planes", "_limited")

    def __init__(self, frame: av.VideoFrame, rotation: int = 0):
        self._frame = frame
        self._rotation = rotation % 360 if rotation % 90 == 0 else 0
        w, h = frame.width, frame.height
        self.width, self.height = (h, w) if self._rotation in (90, 270) else (w, h)
        self._planes: list[np.ndarray] | None = None
        # Most video is limited range (luma 16..235); JPEG-style full range says so.
        self._limited = frame.color_range != _FULL_RANGE

    def _rotate(self, image: np.ndarray) -> np.ndarray:
        code = _ROTATIONS.get(self._rotation)
        return image if code is None else cv2.rotate(image, code)

    def _yuv_planes(self) -> list[np.ndarray] | None:
        """Views of the Y, U, V planes of a planar 4:2:0 / 4:2:2 / 4:4:4 frame, else None."""
        if self._planes is None:
            name = self._frame.format.name
            if name not in ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p",
                            "yuvj444p"):
                return None
            self._planes = [np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)
                            [:, :p.width] for p in self._frame.planes]
        return self._planes

    def gray(self, max_side: int | None = None) -> np.ndarray:
        """Luma (BT.601 grey levels, full range 0..255): the Y plane as decoded, no colour
        conversion; halved (exact 2x2 area averages) while its long side is at least twice
        ``max_side`` (None: full size)."""
        planes = self._yuv_planes()
        grey = self._frame.to_ndarray(format="gray") if planes is None else planes[0]
        while max_side and max(grey.shape) >= 2 * max_side:
            h, w = grey.shape
            grey = cv2.resize(grey[:h // 2 * 2, :w // 2 * 2], (w // 2, h // 2),
                              interpolation=cv2.INTER_AREA)
        if planes is not None and self._limited:
            grey = cv2.LUT(grey, _FULL_RANGE_LUMA)
        elif planes is not None and grey is planes[0]:
            grey = grey.copy()  # never hand out a view of the decoder's picture
        return self._rotate(grey)

    def bgr(self, width: int | None = None, height: int | None = None) -> np.ndarray:
        """BGR uint8 at ``width`` x ``height`` displayed pixels (None: full size), scaled and
        converted in one step (area averaging, FFmpeg's swscale)."""
        width, height = width or self.width, height or self.height
        if self._rotation in (90, 270):
            width, height = height, width
        # One swscale thread: the pass already runs a decoder thread beside the consumers,
        # and sliced scaling of a small picture costs more CPU than it saves time.
        image = self._frame.reformat(width=width, height=height, format="bgr24",
                                     interpolation="AREA", threads=1).to_ndarray()
        return self._rotate(image)

    def rgb(self, width: int, height: int) -> np.ndarray:
        """RGB uint8 at ``width`` x ``height`` displayed pixels, scaled with swscale's bicubic
        filter: FFmpeg's default, what ``ffmpeg -s WxH`` makes (TransNetV2's input)."""
        if self._rotation in (90, 270):
            width, height = height, width
        image = self._frame.reformat(width=width, height=height, format="rgb24",
                                     interpolation="BICUBIC", threads=1).to_ndarray()
        return self._rotate(image)

    def bgr_short_side(self, short_side: int | None) -> np.ndarray:
        """BGR uint8 with the short side at ``short_side`` pixels (never upscaled; None: full
        size): ``scaled_size`` of the frame."""
        return self.bgr(*scaled_size(self.width, self.height, short_side))

    def i420_even_short_side(self, short_side: int | None) -> np.ndarray:
        """The picture of :meth:`bgr_short_side` with each side rounded up to an even number
        of pixels (``even_size``), as an H.264 clip stores it: yuv420p, BT.601 limited range,
        in OpenCV's I420 layout (2-D: the Y rows, then U's, then V's). A limited-range frame
        with a BT.601 or no colour tag is scaled plane by plane by swscale (area), without
        the round trip through RGB (0.33 instead of 0.43 ms CPU a 720p frame); any other
        (BT.709, full range, rotated) is converted through :meth:`bgr`, so its colours stay
        right."""
        width, height = even_size(*scaled_size(self.width, self.height, short_side))
        frame = self._frame
        if (self._rotation or frame.colorspace not in _BT601_TAGS
                or frame.color_range == _FULL_RANGE):
            return cv2.cvtColor(self.bgr(width, height), cv2.COLOR_BGR2YUV_I420)
        return frame.reformat(width=width, height=height, format="yuv420p",
                              interpolation="AREA", threads=1).to_ndarray()

    def small_bgr(self, width: int) -> np.ndarray:
        """A small BGR copy ``width`` pixels wide (for histograms): the planes are subsampled
        with a stride to about twice that size, converted, then area-averaged; costs next to
        nothing at any input size."""
        planes = self._yuv_planes()
        if planes is None:
            return self.bgr(width, max(1, round(self.height * width / self.width)))
        y, u, v = planes
        fy = y.shape[1] // u.shape[1]
        gy = y.shape[0] // u.shape[0]
        step = max(1, (y.shape[1] // (2 * width)) // fy)
        ys = y[::step * gy, ::step * fy]
        us, vs = u[::step, ::step], v[::step, ::step]
        rows, cols = min(ys.shape[0], us.shape[0]), min(ys.shape[1], us.shape[1])
        ys, us, vs = ys[:rows, :cols], us[:rows, :cols], vs[:rows, :cols]
        if self._limited:
            ys = cv2.LUT(ys, _FULL_RANGE_LUMA)
            us, vs = cv2.LUT(us, _FULL_RANGE_CHROMA), cv2.LUT(vs, _FULL_RANGE_CHROMA)
        image = self._rotate(cv2.cvtColor(cv2.merge([ys, vs, us]), cv2.COLOR_YCrCb2BGR))
        h = max(1, round(image.shape[0] * width / image.shape[1]))
        return cv2.resize(image, (width, h), interpolation=cv2.INTER_AREA)


class FrameConsumer(Protocol):
    """Something fed by a decode pass: it says which frames it wants, then receives them.

    ``wants`` is asked about every frame in order and must not depend on what ``add`` did:
    a prefetching decoder asks it ahead of ``add``.
    """

    def wants(self, index: int, time: float) -> bool:
        """Whether the frame at decode ``index`` and ``time`` seconds is needed."""

    def add(self, index: int, time: float, frame: DecodedFrame) -> None:
        """Receive a wanted frame; take the images it needs from ``frame``."""


def is_local(uri: str) -> bool:
    """True for plain paths and ``file://`` URIs."""
    return "://" not in uri or uri.startswith("file://")


@contextlib.contextmanager
def local_copy(uri: str) -> Iterator[str]:
    """Yield a local path for ``uri``; remote files are copied to a temp file, always deleted."""
    if is_local(uri):
        path = uri[len("file://"):] if uri.startswith("file://") else uri
        if not os.path.exists(path):
            raise VideoError(Reason.MISSING, f"no such file: {path}")
        yield path
        return
    from apache_beam.io.filesystems import FileSystems

    suffix = os.path.splitext(uri)[1]
    fd, tmp = tempfile.mkstemp(prefix="hacs-video-", suffix=suffix)
    try:
        try:
            with FileSystems.open(uri, mime_type="application/octet-stream",
                                  compression_type="uncompressed") as src, \
                    os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst, _COPY_CHUNK)
        except VideoError:
            raise
        except Exception as exc:  # every remote failure becomes one reason
            if _looks_missing(exc):
                raise VideoError(Reason.MISSING, f"no such object: {uri}") from exc
            raise VideoError(Reason.UNREADABLE, f"could not copy {uri}: {exc}") from exc
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def _looks_missing(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(s in text for s in ("notfound", "not found", "404", "no such", "filenotfound"))


def probe(path: str) -> VideoProbe:
    """Open a local file and read its header; raises VideoError for unusable files."""
    size = os.path.getsize(path)
    if size == 0:
        raise VideoError(Reason.EMPTY, f"zero-byte file: {path}")
    try:
        container = av.open(path)
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise VideoError(Reason.UNREADABLE,
                         f"not a decodable video container: {path} ({exc})") from exc
    try:
        if not container.streams.video:
            raise VideoError(Reason.UNREADABLE, f"no video stream in {path}")
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        return VideoProbe(path=path, size_bytes=size, header_fps=float(rate or 0.0),
                          header_frames=int(stream.frames or 0),
                          width=stream.codec_context.width, height=stream.codec_context.height,
                          codec=stream.codec_context.name,
                          header_duration=_header_duration(container, stream))
    finally:
        container.close()


def _header_duration(container, stream) -> float:
    """Seconds the header claims (the stream's duration, else the container's), 0 if none."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return 0.0


def nominal_period(header_fps: float) -> float:
    """Seconds per frame from the header rate, with a sane fallback for broken headers."""
    fps = header_fps if 1.0 <= header_fps <= 240.0 else _DEFAULT_FPS
    return 1.0 / fps


class VideoStream:
    """An opened video, decoded on demand by :meth:`frames` (one pass, front to back).

    Use :func:`open_video`; ``probe`` holds the header facts, ``frame_period`` the nominal
    seconds per frame, and ``stats`` the decoded facts once :meth:`frames` has finished.
    Raises VideoError (``too_large``, ``too_long``) when the header is past ``limits``.
    """

    def __init__(self, uri: str, path: str, limits: LimitsConfig = NO_LIMITS):
        self.uri = uri
        self.limits = limits
        self.probe = probe(path)
        self.frame_period = nominal_period(self.probe.header_fps)
        self.stats: DecodeStats | None = None
        info = self.probe
        if limits.max_pixels and info.width * info.height > limits.max_pixels:
            raise VideoError(Reason.TOO_LARGE,
                             f"{info.width}x{info.height} frames are over --max_pixels "
                             f"{limits.max_pixels} ({info.width * info.height} pixels): {uri}")
        if limits.max_video_seconds and info.header_duration > limits.max_video_seconds:
            raise VideoError(Reason.TOO_LONG,
                             f"the header says {info.header_duration:.1f} s, over "
                             f"--max_video_seconds {limits.max_video_seconds:g}: {uri}")

    def _deadline(self) -> float:
        """The monotonic time a pass starting now must end by (inf: no limit)."""
        limit = self.limits.max_decode_seconds
        return _time.monotonic() + limit if limit else math.inf

    def _timeout(self) -> VideoError:
        return VideoError(Reason.TIMEOUT,
                          f"the decode pass took over --max_decode_seconds "
                          f"{self.limits.max_decode_seconds:g} (a decoder hung or too slow): "
                          f"{self.uri}")

    def frames(self, wants: Callable[[int, float], bool], prefetch: int = 0,
               ) -> Iterator[tuple[int, float, DecodedFrame]]:
        """Yield ``(index, time, frame)`` for each decoded frame where ``wants(index, time)``.

        With ``prefetch`` > 0, a decoder thread runs up to that many wanted frames ahead, so
        decoding overlaps the caller's work on earlier frames (FFmpeg releases the GIL);
        ``wants`` then runs on the decoder thread, ahead of the caller, and must not depend
        on what the caller did with earlier frames. Sets ``stats`` when the stream ends (a
        consumer that stops early leaves it unset). Raises VideoError when no frame decodes
        or a limit is passed (``timeout``: the pass, the caller's work included, ran over
        ``max_decode_seconds``; with ``prefetch`` this also ends a wait on a stuck decoder).
        """
        deadline = self._deadline()
        if prefetch <= 0:
            yield from self._decode(wants, deadline)
            return
        items: queue.Queue = queue.Queue(maxsize=max(1, prefetch // _BATCH))
        stop = threading.Event()

        def put(item) -> bool:
            while not stop.is_set():
                try:
                    items.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            # Frames travel in small batches: one hand-off (and GIL switch) per batch, not
            # per frame.
            frames = self._decode(wants, deadline, stop=stop)
            batch: list = []
            try:
                for item in frames:
                    batch.append(item)
                    if len(batch) >= _BATCH:
                        if not put(batch):
                            return
                        batch = []
                if batch and not put(batch):
                    return
                put(_END)
            except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
                put(exc)
            finally:
                frames.close()

        worker = threading.Thread(target=produce, name=f"decode-{self.uri}", daemon=True)
        worker.start()
        try:
            while True:
                try:
                    item = items.get(timeout=max(0.0, deadline - _time.monotonic())
                                     if deadline < math.inf else None)
                except queue.Empty:
                    raise self._timeout() from None
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                for frame in item:
                    if _time.monotonic() > deadline:
                        raise self._timeout()
                    yield frame
        finally:
            stop.set()
            worker.join(_JOIN_SECONDS)
            if worker.is_alive():
                logging.warning("decoder thread of %s did not stop; left behind", self.uri)

    def _decode(self, wants: Callable[[int, float], bool], deadline: float,
                stop: threading.Event | None = None,
                ) -> Iterator[tuple[int, float, DecodedFrame]]:
        info = self.probe
        max_seconds = self.limits.max_video_seconds

        def check_time() -> None:
            if _time.monotonic() > deadline:
                raise self._timeout()

        cpu_start = _time.thread_time()
        container = av.open(info.path)
        try:
            stream = container.streams.video[0]
            stream.thread_count = 1
            origin = stream.start_time if stream.start_time is not None else None
            base = float(stream.time_base) if stream.time_base else 0.0
            index = retrieved = errors = 0
            rotation = None
            first = last = 0.0
            width, height = info.width, info.height
            frames = _decoded_frames(container, stream, counter := [0], check_time)
            for frame, pts in _presentation_times(frames):
                if stop is not None and stop.is_set():
                    return  # the caller stopped early: no stats for a partial pass
                if pts is not None and base:
                    if origin is None:
                        origin = pts
                    time = (pts - origin) * base
                else:
                    time = math.nan
                time = _repair_time(time, index, last, self.frame_period)
                if index == 0:
                    first = time
                last = time
                if max_seconds and time - first > max_seconds:
                    claim = (f"the header says {info.header_duration:.1f} s"
                             if info.header_duration else "the header gives no duration")
                    raise VideoError(Reason.TOO_LONG,
                                     f"decoded timestamps pass --max_video_seconds "
                                     f"{max_seconds:g} ({claim}): {self.uri}")
                if wants(index, time):
                    retrieved += 1
                    if rotation is None:  # the display matrix, carried by every frame
                        rotation = int(frame.rotation or 0)
                    decoded = DecodedFrame(frame, rotation)
                    width, height = decoded.width, decoded.height
                    yield index, time, decoded
                index += 1
            errors = counter[0]
        finally:
            container.close()
        if index == 0:
            raise VideoError(Reason.NO_FRAMES,
                             f"the container opened but no frame decoded: {self.uri}")
        self.stats = DecodeStats(frames_decoded=index, frames_retrieved=retrieved,
                                 first_time=first, last_time=last,
                                 frame_period=self.frame_period, width=width, height=height,
                                 size_bytes=info.size_bytes, decode_errors=errors,
                                 decoder_cpu_seconds=(_time.thread_time() - cpu_start
                                                      if stop is not None else 0.0))


def _decoded_frames(container, stream, errors: list[int], check: Callable[[], None],
                    ) -> Iterator[av.VideoFrame]:
    """Every frame the decoder gives for ``stream``; a packet it rejects is counted in
    ``errors[0]`` and skipped, and so is a damaged stretch of the container (demuxing goes on
    from the next packet it can find). ``check`` runs before each packet (it raises to end
    the pass)."""
    demuxer = container.demux(stream)
    while True:
        check()
        try:
            packet = next(demuxer)
        except StopIteration:
            break
        except (av.FFmpegError, ValueError) as exc:
            errors[0] += 1
            if isinstance(exc, av.EOFError):
                break
            continue
        try:
            yield from packet.decode()
        except (av.FFmpegError, ValueError):
            errors[0] += 1
    with contextlib.suppress(av.FFmpegError, ValueError):
        yield from stream.codec_context.decode(None)


_REORDER = 16  # frames a decoder can hold back to reorder (H.264 allows up to 16)


def _presentation_times(frames: Iterator[av.VideoFrame],
                        ) -> Iterator[tuple[av.VideoFrame, int | None]]:
    """Each frame (in the decoder's output order, which is presentation order) with its
    presentation timestamp. Containers without real timestamps (AVI) give the frames of a
    stream with B-frames the timestamps of decode order, shuffled within a few frames; the
    n-th frame out gets the n-th smallest timestamp, found in a window of ``_REORDER`` frames
    (what FFmpeg's best-effort timestamp does). A timestamp that is missing, or at or before
    one already given out, is None (the caller repairs it)."""
    pending: deque[tuple[av.VideoFrame, bool]] = deque()   # (frame, has a usable stamp)
    stamps: list[int] = []
    given = None

    def pop() -> tuple[av.VideoFrame, int | None]:
        nonlocal given
        frame, stamped = pending.popleft()
        if not stamped or not stamps:
            return frame, None
        given = heapq.heappop(stamps)
        return frame, given

    for frame in frames:
        usable = frame.pts is not None and (given is None or frame.pts > given)
        pending.append((frame, usable))
        if usable:
            heapq.heappush(stamps, frame.pts)
        if len(pending) > _REORDER:
            yield pop()
    while pending:
        yield pop()


_END = object()
_BATCH = 4  # frames per hand-off from the decoder thread


@contextlib.contextmanager
def open_video(uri: str, limits: LimitsConfig = NO_LIMITS) -> Iterator[VideoStream]:
    """Open ``uri`` (local path or Beam FileSystems URI) for one streaming decode pass within
    ``limits``. Raises VideoError when it is missing, empty, not a video container or its
    header is past the limits."""
    with local_copy(uri) as path:
        yield VideoStream(uri, path, limits)


def dispatch(video: VideoStream, consumers: Sequence[FrameConsumer], prefetch: int = 0,
             ) -> Iterator[int]:
    """Feed one decode pass of ``video`` to several consumers (fingerprints, shots, clips):
    each frame goes to those that want it; yields each frame's index after the consumers had
    it (so the caller can collect what they finished). ``video.stats`` is set at the end."""
    takers: dict[int, list[FrameConsumer]] = {}

    def wants(index: int, time: float) -> bool:
        wanted = [c for c in consumers if c.wants(index, time)]
        if wanted:
            takers[index] = wanted
        return bool(wanted)

    for index, time, frame in video.frames(wants, prefetch):
        for consumer in takers.pop(index):
            consumer.add(index, time, frame)
        yield index


def decode_pass(uri: str, consumers: Sequence[FrameConsumer], prefetch: int = 0,
                limits: LimitsConfig = NO_LIMITS) -> DecodeStats:
    """One decode pass of ``uri`` within ``limits`` feeding several consumers together (see
    :func:`dispatch`); returns the pass's DecodeStats."""
    with open_video(uri, limits) as video:
        for _ in dispatch(video, consumers, prefetch):
            pass
        return video.stats


def _repair_time(time: float, index: int, previous: float, period: float) -> float:
    if index == 0:
        return time if math.isfinite(time) and time >= 0 else 0.0
    if not (math.isfinite(time) and time > previous):
        return previous + period
    return time


def scaled_size(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    """``(width, height)`` scaled so the shorter side is ``short_side`` (never upscaled; None
    keeps the size)."""
    if not short_side or min(width, height) <= short_side:
        return width, height
    scale = short_side / min(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def even_size(width: int, height: int) -> tuple[int, int]:
    """The H.264 (4:2:0) frame size for a picture of ``width`` x ``height``: each side rounded
    up to an even number of pixels."""
    return width + width % 2, height + height % 2


class RateGate:
    """Picks frames at no more than ``fps`` per second (None or 0: every frame) from a
    stream of decoded times: a frame passes when it is at or after the next due time, which
    then moves one period on (or to the frame, after a gap). Decides from times alone, so a
    consumer's ``wants`` built on it is safe to call ahead of ``add``."""

    def __init__(self, fps: float | None):
        self._step = 1.0 / fps if fps else 0.0
        self._next = -math.inf

    def __call__(self, time: float) -> bool:
        if time < self._next - 1e-6:
            return False
        self._next = time + self._step if self._next == -math.inf else max(
            self._next + self._step, time)
        return True
