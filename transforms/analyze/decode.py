"""The one streaming video decoder every stage uses.

A video is decoded once per pass, front to back, with OpenCV. Every frame is *grabbed* (the
codec has to decode it anyway), but a frame is only *retrieved* (colour-converted and handed
out) when some consumer asks for it, so a pass that samples 8 frames per second of a 30 fps
video pays for decoding and little else. Nothing holds the whole video: memory is flat in its
length.

Timestamps come from the decoder (``CAP_PROP_POS_MSEC``), not from the container header: a
file such as ``tree.avi`` claims 444 frames at 15 fps but decodes 68 frames spread over 30 s.
Where the decoder reports a timestamp that does not advance (some AVI demuxers report 0 for
the last frame), the frame gets the previous timestamp plus one nominal frame period.

Remote inputs (``gs://`` or any Beam FileSystems scheme) are copied to a temporary local file
that is deleted when the pass ends, whatever happens.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from transforms.types import Reason

# FFmpeg inside OpenCV logs every glitch of a damaged stream at ERROR level; those are
# expected in web video and are accounted for per video, not printed per frame.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")

_DEFAULT_FPS = 25.0
# Wanted frames a decoder thread may run ahead of the stages consuming them (each is a full
# decoded frame: 8 at 1080p is about 50 MB).
PREFETCH = 8
_COPY_CHUNK = 8 << 20


class VideoError(Exception):
    """A video that cannot be used; ``reason`` says why (a failed Outcome's reason)."""

    def __init__(self, reason: Reason, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class VideoProbe:
    """What the container says before decoding (may be wrong; decoding has the last word)."""

    path: str
    size_bytes: int
    header_fps: float
    header_frames: int
    width: int
    height: int


@dataclass(frozen=True)
class DecodeStats:
    """What one decode pass found: these numbers, not the header, describe the video."""

    frames_decoded: int
    frames_retrieved: int
    first_time: float
    last_time: float
    frame_period: float
    width: int
    height: int
    size_bytes: int

    @property
    def duration(self) -> float:
        """Seconds from the first frame to the end of the last one."""
        if self.frames_decoded == 0:
            return 0.0
        return self.last_time + self.frame_period - self.first_time


class FrameConsumer(Protocol):
    """Something fed by a decode pass: it says which frames it wants, then receives them.

    ``wants`` is asked about every frame in order and must not depend on what ``add`` did:
    a prefetching decoder asks it ahead of ``add``.
    """

    def wants(self, index: int, time: float) -> bool:
        """Whether the frame at decode ``index`` and ``time`` seconds is needed."""

    def add(self, index: int, time: float, image: np.ndarray) -> None:
        """Receive a wanted frame (BGR uint8, full decoded size; do not keep a reference
        to it without copying or resizing: the buffer is reused)."""


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
    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened():
            raise VideoError(Reason.UNREADABLE, f"not a decodable video container: {path}")
        return VideoProbe(
            path=path,
            size_bytes=size,
            header_fps=float(cap.get(cv2.CAP_PROP_FPS) or 0.0),
            header_frames=int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0),
            width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
            height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
        )
    finally:
        cap.release()


def nominal_period(header_fps: float) -> float:
    """Seconds per frame from the header rate, with a sane fallback for broken headers."""
    fps = header_fps if 1.0 <= header_fps <= 240.0 else _DEFAULT_FPS
    return 1.0 / fps


class VideoStream:
    """An opened video, decoded on demand by :meth:`frames` (one pass, front to back).

    Use :func:`open_video`; ``probe`` holds the header facts, ``frame_period`` the nominal
    seconds per frame, and ``stats`` the decoded facts once :meth:`frames` has finished.
    """

    def __init__(self, uri: str, path: str):
        self.uri = uri
        self.probe = probe(path)
        self.frame_period = nominal_period(self.probe.header_fps)
        self.stats: DecodeStats | None = None

    def frames(self, wants: Callable[[int, float], bool], prefetch: int = 0,
               ) -> Iterator[tuple[int, float, np.ndarray]]:
        """Yield ``(index, time, image)`` for each decoded frame where ``wants(index, time)``.

        Only wanted frames are retrieved. ``image`` is BGR uint8 at the decoded size. Without
        prefetch its buffer is reused for the next frame: copy or resize it before keeping
        it. With ``prefetch`` > 0, a decoder thread runs up to that many wanted frames ahead
        (each in its own buffer), so decoding overlaps the caller's work on earlier frames
        (OpenCV releases the GIL); ``wants`` then runs on the decoder thread, ahead of the
        caller, and must not depend on what the caller did with earlier frames.
        Sets ``stats`` when the stream ends (a consumer that stops early leaves it unset).
        Raises VideoError when no frame decodes at all.
        """
        if prefetch <= 0:
            yield from self._decode(wants, reuse=True)
            return
        items: queue.Queue = queue.Queue(maxsize=prefetch)
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
            frames = self._decode(wants, reuse=False, stop=stop)
            try:
                for item in frames:
                    if not put(item):
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
                item = items.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            worker.join()

    def _decode(self, wants: Callable[[int, float], bool], reuse: bool,
                stop: threading.Event | None = None,
                ) -> Iterator[tuple[int, float, np.ndarray]]:
        info = self.probe
        cap = cv2.VideoCapture(info.path)
        try:
            index = retrieved = 0
            first = last = 0.0
            width, height = info.width, info.height
            image = None
            while cap.grab():
                if stop is not None and stop.is_set():
                    return  # the caller stopped early: no stats for a partial pass
                time = _frame_time(cap, index, last, self.frame_period)
                if index == 0:
                    first = time
                last = time
                if wants(index, time):
                    ok, image = cap.retrieve(image if reuse else None)
                    if ok and image is not None:
                        retrieved += 1
                        height, width = image.shape[:2]
                        yield index, time, image
                index += 1
        finally:
            cap.release()
        if index == 0:
            raise VideoError(Reason.NO_FRAMES,
                             f"the container opened but no frame decoded: {self.uri}")
        self.stats = DecodeStats(frames_decoded=index, frames_retrieved=retrieved,
                                 first_time=first, last_time=last,
                                 frame_period=self.frame_period, width=width, height=height,
                                 size_bytes=info.size_bytes)


_END = object()


@contextlib.contextmanager
def open_video(uri: str) -> Iterator[VideoStream]:
    """Open ``uri`` (local path or Beam FileSystems URI) for one streaming decode pass.
    Raises VideoError when it is missing, empty or not a video container."""
    with local_copy(uri) as path:
        yield VideoStream(uri, path)


def decode_pass(uri: str, consumers: Sequence[FrameConsumer], prefetch: int = 0) -> DecodeStats:
    """One decode pass feeding several consumers (fingerprints, shots, clips) together:
    each frame is retrieved once if any consumer wants it, and given to those that do.
    ``prefetch`` > 0 decodes on a thread ahead of the consumers (see VideoStream.frames);
    every consumer's ``wants`` must then be independent of its ``add``."""
    takers: dict[int, list[FrameConsumer]] = {}

    def wants(index: int, time: float) -> bool:
        wanted = [c for c in consumers if c.wants(index, time)]
        if wanted:
            takers[index] = wanted
        return bool(wanted)

    with open_video(uri) as video:
        for index, time, image in video.frames(wants, prefetch):
            for consumer in takers.pop(index):
                consumer.add(index, time, image)
        return video.stats


def _frame_time(cap: cv2.VideoCapture, index: int, previous: float, period: float) -> float:
    time = float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0
    if index > 0 and not time > previous:
        return previous + period
    if index == 0 and time < 0:
        return 0.0
    return time


def resize_short_side(image: np.ndarray, short_side: int | None) -> np.ndarray:
    """Downscale so the shorter side is ``short_side`` pixels (never upscales; None keeps the
    size). Always returns a new array, so it is safe on the decoder's reused buffer.

    Area interpolation, computed as exact 2x2 box halvings while at least 4x too large, then
    one area resize for the rest: OpenCV's integer-factor area path is several times faster
    than its general one, and the result is within ~1 grey level of a single area resize.
    """
    if not short_side:
        return image.copy()
    h, w = image.shape[:2]
    scale = short_side / min(h, w)
    if scale >= 1.0:
        return image.copy()
    while min(h, w) >= 4 * short_side:
        h, w = h // 2, w // 2
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    size = (max(1, round(image.shape[1] * short_side / min(h, w))),
            max(1, round(image.shape[0] * short_side / min(h, w))))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


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
