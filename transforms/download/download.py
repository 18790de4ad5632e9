"""One video's download from start to end, as a plain function the Beam stage, the tests and
the benchmark call alike: tries with backoff (transient errors only), the check with the
project's decoder, the file put in its final place only then, and the record --resume reads.

Every path ends in a :class:`transforms.types.DownloadOutcome`: downloaded, or failed with a
reason; nothing raises out of :func:`download_video`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import av

from transforms.analyze.decode import VideoError, open_video
from transforms.download import layout
from transforms.download.config import DownloadConfig
from transforms.download.fetch import Fetched, FetchError, fetch, redact
from transforms.types import (
    DownloadOutcome,
    DownloadReason,
    DownloadStatus,
    DownloadTarget,
)

# Container families as FFmpeg names them -> the extensions a file of that family may carry
# (the first is the default when the source suggested none of them).
CONTAINER_EXTENSIONS = {"mov": ("mp4", "mov", "m4v", "3gp"), "matroska": ("mkv", "webm"),
                        "avi": ("avi",), "flv": ("flv",), "mpeg": ("mpg", "mpeg"),
                        "asf": ("wmv",), "mpegts": ("ts",)}


class WorkerGate:
    """What one worker process allows itself: at most ``concurrency`` downloads at once and
    ``per_second`` tries started per second (0: no limit), shared by its threads."""

    def __init__(self, concurrency: int, per_second: float):
        self._slots = threading.BoundedSemaphore(concurrency)
        self._interval = 1.0 / per_second if per_second else 0.0
        self._lock = threading.Lock()
        self._next = 0.0

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """Hold a download slot, entered no sooner than the rate allows."""
        with self._slots:
            if self._interval:
                with self._lock:
                    now = time.monotonic()
                    start = max(now, self._next)
                    self._next = start + self._interval
                if start > now:
                    time.sleep(start - now)
            yield


@dataclass(frozen=True)
class VideoCheck:
    """What the project's decoder found in a fetched file: ``duration`` in seconds (the
    container's), frame ``width``/``height``, and ``container``, the extension to name it by."""

    duration: float
    width: int
    height: int
    container: str


def container_extension(path: str, suggested: str) -> str:
    """The extension a file's container calls for: ``suggested`` (the source's) when it is
    one of the container's, else the container's usual one."""
    with av.open(path) as container:
        names = container.format.name.split(",")
    for name in names:
        if name in CONTAINER_EXTENSIONS:
            allowed = CONTAINER_EXTENSIONS[name]
            return suggested if suggested in allowed else allowed[0]
    return suggested or names[0]


def check_video(path: str, suggested_ext: str, cfg: DownloadConfig) -> VideoCheck:
    """Open ``path`` with the project's decoder and decode its first frame: raises
    FetchError ``not_video`` when that fails and ``too_long`` over ``cfg.max_duration``."""
    try:
        with open_video(path) as video:
            first = next(iter(video.frames(lambda index, _: index == 0)), None)
            if first is None:
                raise FetchError(DownloadReason.NOT_VIDEO, "no frame decodes")
            probe = video.probe
        ext = container_extension(path, suggested_ext)
    except VideoError as exc:
        raise FetchError(DownloadReason.NOT_VIDEO, f"not a video: {exc.message}") from None
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise FetchError(DownloadReason.NOT_VIDEO, f"not a video: {exc}") from None
    if cfg.max_duration and probe.header_duration > cfg.max_duration:
        raise FetchError(DownloadReason.TOO_LONG, f"the container says "
                         f"{probe.header_duration:.0f} s, over --max_duration "
                         f"{cfg.max_duration:g}")
    return VideoCheck(duration=probe.header_duration, width=probe.width, height=probe.height,
                      container=ext)


def retry_delay(error: FetchError, attempt: int, cfg: DownloadConfig) -> float | None:
    """Seconds to wait before try ``attempt + 1`` after ``error`` (None: do not retry): only
    transient errors, at most ``cfg.retries`` times, ``retry_backoff`` doubled each time or
    the server's ``Retry-After`` when longer."""
    if not error.transient or attempt > cfg.retries:
        return None
    return max(cfg.retry_backoff * 2 ** (attempt - 1), error.retry_after or 0.0)


def publish_file(local: str, uri: str) -> None:
    """Put the checked file ``local`` at ``uri``: renamed into place on a local disk (it was
    written beside it), uploaded in one request to an object store."""
    if layout.is_local(uri):
        os.replace(local, layout.local_path(uri))
        return
    from apache_beam.io.filesystems import FileSystems

    with open(local, "rb") as src, FileSystems.create(
            uri, mime_type="application/octet-stream") as dst:
        shutil.copyfileobj(src, dst, 8 << 20)


def commit(work: str, outcome: DownloadOutcome) -> None:
    """Record a downloaded video for --resume (after its file is in place)."""
    layout.write_json_atomically(layout.record_path(work, outcome.video_id),
                                 outcome.to_json_dict())


def committed(work: str, target: DownloadTarget) -> DownloadOutcome | None:
    """The outcome an earlier run recorded for ``target`` when its file is still there, of
    the recorded size (``resumed`` set, the target's classes and subset); else None."""
    from apache_beam.io.filesystems import FileSystems

    path = layout.record_path(work, target.video_id)
    try:
        with FileSystems.open(path) as f:
            outcome = DownloadOutcome.from_json_dict(json.loads(f.read().decode("utf-8")))
    except Exception:  # noqa: BLE001 - no record (a missing file or object), or a broken one
        return None
    if outcome.source != target.source or outcome.status != DownloadStatus.DOWNLOADED:
        return None
    found = FileSystems.match([outcome.uri])[0].metadata_list
    if not found or found[0].size_in_bytes != outcome.size_bytes:
        return None
    return replace(outcome, classes=target.classes, subset=target.subset, resumed=True)


def failed(target: DownloadTarget, reason: str, message: str, attempts: int,
           ) -> DownloadOutcome:
    return DownloadOutcome(video_id=target.video_id, source=target.source,
                           status=DownloadStatus.FAILED, reason=str(reason), message=message,
                           attempts=attempts, classes=target.classes, subset=target.subset)


def _try(target: DownloadTarget, folder: str, cfg: DownloadConfig, deadline: float,
         gate: WorkerGate) -> tuple[Fetched, VideoCheck]:
    """One try into the empty ``folder``: fetched and checked, or FetchError."""
    with gate.turn():
        fetched = fetch(target.source, folder, cfg, deadline)
    return fetched, check_video(fetched.path, fetched.ext, cfg)


def _empty(folder: str) -> None:
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


def download_video(target: DownloadTarget, cfg: DownloadConfig, output: str, work: str,
                   gate: WorkerGate | None = None,
                   sleep: Callable[[float], None] = time.sleep) -> DownloadOutcome:
    """Download ``target`` into ``output`` (local or any FileSystems URI) as
    ``<first class>/v_<id>.<ext>``: tries until one succeeds, a non-transient error, the
    retries or the time limit run out; the file is checked with the decoder before it is put
    in place, then recorded under ``work`` for --resume. Never raises."""
    gate = gate or WorkerGate(1, 0)
    deadline = (time.monotonic() + cfg.max_download_seconds if cfg.max_download_seconds
                else math.inf)
    attempts = 0
    staging = None
    try:
        staging = (layout.staging_folder(output, target.video_id, target.classes)
                   or tempfile.mkdtemp(prefix="hacs-download-"))
        while True:
            attempts += 1
            _empty(staging)
            try:
                fetched, check = _try(target, staging, cfg, deadline, gate)
                break
            except FetchError as err:
                delay = retry_delay(err, attempts, cfg)
                if delay is None:
                    return failed(target, err.reason, err.message, attempts)
                if time.monotonic() + delay > deadline:
                    return failed(target, err.reason, f"{err.message} (no time left for "
                                  f"another try within --max_download_seconds "
                                  f"{cfg.max_download_seconds:g})", attempts)
                sleep(delay)
        uri = layout.video_path(output, target.video_id, target.classes, check.container)
        publish_file(fetched.path, uri)
        outcome = DownloadOutcome(
            video_id=target.video_id, source=target.source,
            status=DownloadStatus.DOWNLOADED, uri=uri, size_bytes=fetched.size_bytes,
            duration=check.duration or fetched.duration, format=fetched.format,
            container=check.container, sha256=fetched.sha256, width=check.width,
            height=check.height, attempts=attempts, classes=target.classes,
            subset=target.subset)
        commit(work, outcome)
        return outcome
    except Exception as exc:  # noqa: BLE001 - every video ends in one place, never the job
        return failed(target, DownloadReason.ERROR,
                      redact(f"{type(exc).__name__}: {exc}", cfg), attempts)
    finally:
        if staging:
            shutil.rmtree(staging, ignore_errors=True)
