"""Fetching one video's bytes into a local folder, and what every way of failing means.

The one module that talks to the network, and the one place where yt-dlp's outcomes and
exceptions become the job's reasons (``transforms.types.DownloadReason``, ``http_<code>``):

- YouTube ids and URLs (and any http(s) URL with ``url_downloader="yt-dlp"``) go through
  yt-dlp as a library: the site's claims (duration, size of the chosen format) are checked
  before any video byte is read, and its errors are mapped by :func:`ytdlp_reason`, from the
  exception's type and HTTP status first and its message second (YouTube says why a video
  cannot be played in words only; the strings are recorded in tests/download/).
- other http(s) URLs are plain HTTP (urllib): redirects followed (at most 10, a loop
  refused), the announced size checked before reading, the bytes counted and hashed while
  they arrive and reading stopped at the size limit;
- anything else (``gs://``, a local path) is copied through Beam's FileSystems.

Each function raises :class:`FetchError` with a reason, whether retrying can help
(``transient``) and the server's ``Retry-After`` in seconds when it gave one. No Beam here
but its FileSystems; yt-dlp is imported only when a source needs it.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import http.client
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from transforms.download.config import DownloadConfig
from transforms.types import DownloadReason, http_reason

CHUNK = 1 << 20
MAX_REDIRECTS = urllib.request.HTTPRedirectHandler.max_redirections  # 10
# HTTP statuses worth another try: the server was busy or failed for a while.
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
YOUTUBE_HOSTS = ("youtube.com", "youtu.be", "youtube-nocookie.com")
USER_AGENT = "hacs-pipeline-download/0.1"
# Content types a server sends for video files; an extension from them names the file when
# the URL has none (the container probe has the last word: transforms.download.download).
CONTENT_TYPES = {"video/mp4": "mp4", "video/webm": "webm", "video/x-matroska": "mkv",
                 "video/quicktime": "mov", "video/x-msvideo": "avi", "video/avi": "avi",
                 "video/x-flv": "flv", "video/3gpp": "3gp", "video/mpeg": "mpg",
                 "video/x-m4v": "m4v", "video/x-ms-wmv": "wmv"}


class FetchError(Exception):
    """A try that failed: ``reason`` (a DownloadReason or ``http_<code>``), a ``message`` for
    people, ``transient`` when another try may succeed, ``retry_after`` seconds the server
    asked to wait (None: it did not say)."""

    def __init__(self, reason: str, message: str, transient: bool = False,
                 retry_after: float | None = None):
        super().__init__(f"{reason}: {message}")
        self.reason = str(reason)
        self.message = message
        self.transient = transient
        self.retry_after = retry_after


@dataclass(frozen=True)
class Fetched:
    """A fetched file: local ``path``, ``size_bytes``, ``sha256`` (hex), ``format`` as the
    source names it (yt-dlp's format, or ``direct`` / ``copy``), ``ext`` the source suggests
    ('' when it says nothing), ``duration`` in seconds the source claims (0: unknown)."""

    path: str
    size_bytes: int
    sha256: str
    format: str
    ext: str = ""
    duration: float = 0.0


def is_youtube(source: str) -> bool:
    """True for a bare YouTube id (11 characters of ``[A-Za-z0-9_-]``) or a YouTube URL."""
    if YOUTUBE_ID.match(source):
        return True
    host = urllib.parse.urlsplit(source).hostname or ""
    return any(host == h or host.endswith("." + h) for h in YOUTUBE_HOSTS)


def source_url(source: str) -> str:
    """The URL of a source: a bare YouTube id becomes its watch page."""
    return f"https://www.youtube.com/watch?v={source}" if YOUTUBE_ID.match(source) else source


def uses_ytdlp(source: str, cfg: DownloadConfig) -> bool:
    """Whether ``source`` goes through yt-dlp (YouTube always; other http(s) URLs with
    ``url_downloader="yt-dlp"``)."""
    if is_youtube(source):
        return True
    return cfg.url_downloader == "yt-dlp" and source.lower().startswith(("http://", "https://"))


def fetch(source: str, folder: str, cfg: DownloadConfig, deadline: float) -> Fetched:
    """One try at fetching ``source`` into the local ``folder`` (empty, private to this try)
    within ``cfg``'s limits and before ``deadline`` (``time.monotonic()``; ``math.inf``: none).
    Raises FetchError."""
    if uses_ytdlp(source, cfg):
        return fetch_ytdlp(source_url(source), folder, cfg, deadline)
    if source.lower().startswith(("http://", "https://")):
        return fetch_http(source, folder, cfg, deadline)
    return fetch_filesystem(source, folder, cfg, deadline)


def redact(message: str, cfg: DownloadConfig) -> str:
    """``message`` without the proxy URL (it may hold a password) or the cookies file."""
    for secret in (cfg.proxy, cfg.cookies):
        if secret:
            message = message.replace(secret, "<redacted>")
    return message


def _retry_after(value: str | None) -> float | None:
    """Seconds of a ``Retry-After`` header (a number of seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    return None


def status_error(code: int, message: str, retry_after: float | None = None) -> FetchError:
    """The FetchError of an HTTP status: ``http_<code>``, transient for 408/425/429/5xx."""
    return FetchError(http_reason(code), message, transient=code in TRANSIENT_STATUS,
                      retry_after=retry_after)


def _too_large(size: int, cfg: DownloadConfig, when: str) -> FetchError:
    return FetchError(DownloadReason.TOO_LARGE,
                      f"{when} {size} bytes, over --max_file_mb {cfg.max_file_mb:g}")


def _check_time(deadline: float, cfg: DownloadConfig) -> None:
    if time.monotonic() > deadline:
        raise FetchError(DownloadReason.TIMEOUT, f"took over --max_download_seconds "
                         f"{cfg.max_download_seconds:g}")


def _copy(src, dst_path: str, cfg: DownloadConfig, deadline: float,
          expected: int | None) -> tuple[int, str]:
    """Copy the readable ``src`` into ``dst_path`` in chunks, hashing and counting; stop at
    the size limit or the deadline. Returns (bytes, sha256 hex)."""
    digest = hashlib.sha256()
    size = 0
    # read1 returns what has arrived (up to CHUNK), so a slow server does not hold a read
    # past the deadline until a whole chunk is in
    read = getattr(src, "read1", src.read)
    with open(dst_path, "wb") as dst:
        while True:
            _check_time(deadline, cfg)
            chunk = read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if cfg.max_bytes and size > cfg.max_bytes:
                raise _too_large(size, cfg, "stopped after")
            digest.update(chunk)
            dst.write(chunk)
    if expected is not None and size != expected:
        raise FetchError(DownloadReason.ERROR, f"the response was cut short: {size} of "
                         f"{expected} bytes", transient=True)
    return size, digest.hexdigest()


def _opener(cfg: DownloadConfig) -> urllib.request.OpenerDirector:
    proxies = {"http": cfg.proxy, "https": cfg.proxy} if cfg.proxy else None
    # build_opener adds urllib's redirect handler: MAX_REDIRECTS hops, a loop refused
    return urllib.request.build_opener(urllib.request.ProxyHandler(proxies))


def _ext_of(url: str, content_type: str) -> str:
    ext = os.path.splitext(urllib.parse.urlsplit(url).path)[1].lstrip(".").lower()
    return ext or CONTENT_TYPES.get(content_type, "")


def fetch_http(url: str, folder: str, cfg: DownloadConfig, deadline: float) -> Fetched:
    """Fetch an http(s) URL as a file (see the module docstring)."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    path = os.path.join(folder, "download")
    try:
        with _opener(cfg).open(request, timeout=cfg.socket_timeout) as response:
            content_type = (response.headers.get_content_type() or "").lower()
            if content_type == "text/html":
                raise FetchError(DownloadReason.NOT_VIDEO,
                                 f"the server sent an HTML page, not a video: {url}")
            length = response.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            if expected is not None and cfg.max_bytes and expected > cfg.max_bytes:
                raise _too_large(expected, cfg, "the server announced")
            size, sha = _copy(response, path, cfg, deadline, expected)
            final_url = response.geturl()
    except FetchError:
        raise
    except urllib.error.HTTPError as exc:
        exc.close()
        if 300 <= exc.code < 400:
            raise FetchError(DownloadReason.ERROR, f"redirect loop or more than "
                             f"{MAX_REDIRECTS} redirects from {url}") from None
        raise status_error(exc.code, f"HTTP {exc.code} {exc.reason} from {url}",
                           _retry_after(exc.headers.get("Retry-After"))) from None
    except TimeoutError as exc:
        raise FetchError(DownloadReason.TIMEOUT, f"no data for --socket_timeout "
                         f"{cfg.socket_timeout:g} s from {url}", transient=True) from exc
    except http.client.IncompleteRead as exc:
        raise FetchError(DownloadReason.ERROR, f"the response was cut short: "
                         f"{len(exc.partial)} bytes then the connection closed ({url})",
                         transient=True) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise FetchError(DownloadReason.TIMEOUT, f"no answer for --socket_timeout "
                             f"{cfg.socket_timeout:g} s from {url}", transient=True) from exc
        raise FetchError(DownloadReason.ERROR, redact(f"cannot connect to {url}: "
                         f"{exc.reason}", cfg), transient=True) from exc
    except (ConnectionError, http.client.HTTPException, OSError) as exc:
        raise FetchError(DownloadReason.ERROR, redact(f"connection failed for {url}: "
                         f"{type(exc).__name__}: {exc}", cfg), transient=True) from exc
    return Fetched(path=path, size_bytes=size, sha256=sha, format="direct",
                   ext=_ext_of(final_url, content_type))


def fetch_filesystem(uri: str, folder: str, cfg: DownloadConfig, deadline: float) -> Fetched:
    """Copy a Beam FileSystems URI (``gs://...``) or local path, size checked first."""
    from apache_beam.io.filesystems import FileSystems

    path = os.path.join(folder, "download")
    try:
        found = FileSystems.match([uri])[0].metadata_list
    except Exception as exc:  # a denied bucket, a bad scheme: the same kind of failure
        raise FetchError(DownloadReason.ERROR, f"cannot look up {uri}: {exc}") from exc
    if not found:
        raise FetchError(DownloadReason.UNAVAILABLE, f"no such file or object: {uri}")
    size = found[0].size_in_bytes
    if cfg.max_bytes and size > cfg.max_bytes:
        raise _too_large(size, cfg, "the object has")
    try:
        with FileSystems.open(uri, mime_type="application/octet-stream",
                              compression_type="uncompressed") as src:
            size, sha = _copy(src, path, cfg, deadline, size)
    except FetchError:
        raise
    except Exception as exc:  # a remote read that broke off may work next time
        raise FetchError(DownloadReason.ERROR, f"cannot read {uri}: {exc}",
                         transient=True) from exc
    return Fetched(path=path, size_bytes=size, sha256=sha, format="copy",
                   ext=os.path.splitext(uri)[1].lstrip(".").lower())


# ---- yt-dlp ------------------------------------------------------------------------------

# What YouTube (and other sites) say, through yt-dlp, when a video cannot be played, in the
# order they are tried: the first rule whose words appear in the message (lower case) gives
# the reason. Bot checks and age gates also say "sign in", so they come before "private".
MESSAGE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (DownloadReason.BOT_CHECK, ("not a bot", "captcha", "unusual traffic")),
    (DownloadReason.AGE_RESTRICTED, ("confirm your age", "age-restricted", "age restricted",
                                     "inappropriate for some users", "age verification",
                                     "age-verification")),
    (DownloadReason.PRIVATE, ("private video", "this video is private", "is private")),
    (DownloadReason.GEO_BLOCKED, ("in your country", "from your location",
                                  "geo restriction", "geo-restricted", "not available in your")),
    (DownloadReason.REMOVED, ("has been removed", "been terminated", "copyright",
                              "violating", "no longer available", "account associated with "
                              "this video has been", "removed by the uploader")),
    (http_reason(429), ("too many requests", "rate-limited", "rate limited")),
    (DownloadReason.UNAVAILABLE, ("video unavailable", "this video is unavailable",
                                  "is not available", "members-only", "join this channel",
                                  "premieres in", "live event will begin",
                                  "requested format is not available")),
    (DownloadReason.NOT_VIDEO, ("unsupported url", "no video formats found",
                                "no media found")),
    (DownloadReason.TIMEOUT, ("timed out", "read timeout")),
)
_HTTP_STATUS = re.compile(r"HTTP Error (\d{3})")
# Words of yt-dlp's messages for a transfer that broke off (no exception type to go by):
# another try may get it whole.
BROKEN_TRANSFER = ("more expected", "connection reset", "incomplete read",
                   "content too short", "connection aborted", "remote end closed")


def message_reason(message: str) -> str:
    """The reason yt-dlp's error ``message`` gives (``error`` when no rule matches): the
    fallback of :func:`ytdlp_reason` when the exception's type says nothing more."""
    low = message.lower().replace("\u2019", "'")
    for reason, words in MESSAGE_RULES:
        if any(w in low for w in words):
            return str(reason)
    status = _HTTP_STATUS.search(message)
    return http_reason(int(status.group(1))) if status else str(DownloadReason.ERROR)


def _causes(exc: BaseException):
    """``exc`` and what it wraps: yt-dlp's DownloadError keeps the original in ``exc_info``,
    ExtractorError its ``cause``."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        info = getattr(exc, "exc_info", None)
        inner = info[1] if isinstance(info, tuple) and len(info) > 1 else None
        exc = inner or getattr(exc, "cause", None) or exc.__cause__


def ytdlp_reason(exc: BaseException) -> tuple[str, bool, float | None]:
    """(reason, transient, retry_after) of an exception yt-dlp raised: geo-restriction by its
    type, an HTTP status by the wrapped HTTPError (with ``Retry-After``), a timeout by the
    wrapped transport error, anything else by :func:`message_reason`."""
    from yt_dlp.networking.exceptions import HTTPError, TransportError
    from yt_dlp.utils import GeoRestrictedError

    message = str(exc)
    for inner in _causes(exc):
        if isinstance(inner, GeoRestrictedError):
            return str(DownloadReason.GEO_BLOCKED), False, None
        if isinstance(inner, HTTPError):
            code = inner.status
            if 300 <= code < 400:
                return str(DownloadReason.ERROR), False, None  # a redirect loop
            after = _retry_after(inner.response.headers.get("Retry-After")
                                 if inner.response is not None else None)
            return http_reason(code), code in TRANSIENT_STATUS, after
        if isinstance(inner, TimeoutError) or (
                isinstance(inner, TransportError) and "timed out" in str(inner).lower()):
            return str(DownloadReason.TIMEOUT), True, None
        if isinstance(inner, TransportError):
            return str(DownloadReason.ERROR), True, None
    reason = message_reason(message)
    transient = (reason == DownloadReason.TIMEOUT
                 or (reason.startswith("http_") and int(reason[5:]) in TRANSIENT_STATUS)
                 or (reason == DownloadReason.ERROR
                     and any(w in message.lower() for w in BROKEN_TRANSFER)))
    return reason, transient, None


class _Stop(Exception):
    """Raised inside a yt-dlp progress hook to stop a download at a limit."""

    def __init__(self, error: FetchError):
        super().__init__(error.message)
        self.error = error


class _Log:
    """yt-dlp's logger: nothing printed, every line kept (yt-dlp says only there that it
    skipped a file over ``max_filesize``)."""

    def __init__(self):
        self.lines: list[str] = []

    def debug(self, msg: str) -> None:
        self.lines.append(msg)

    info = warning = error = debug


@contextlib.contextmanager
def _cookies_copy(cfg: DownloadConfig):
    """A private copy of the cookies file (local or gs://) for one try, or None: yt-dlp
    writes its cookie jar back to the file when it ends, and tries on other threads would
    write the user's file at once."""
    if not cfg.cookies:
        yield None
        return
    from apache_beam.io.filesystems import FileSystems

    with tempfile.TemporaryDirectory(prefix="hacs-cookies-") as folder:
        path = os.path.join(folder, "cookies.txt")
        with FileSystems.open(cfg.cookies, compression_type="uncompressed") as src, \
                open(path, "wb") as dst:
            shutil.copyfileobj(src, dst)
        yield path


def _ytdlp_params(folder: str, cfg: DownloadConfig, hook, log: _Log,
                  cookies: str | None) -> dict:
    return {
        "format": cfg.video_format,
        "outtmpl": {"default": os.path.join(folder, "video.%(ext)s")},
        "noplaylist": True, "quiet": True, "no_warnings": True, "noprogress": True,
        "logger": log, "progress_hooks": [hook], "socket_timeout": cfg.socket_timeout,
        # retries are this job's (transient errors only, with backoff, counted)
        "retries": 0, "fragment_retries": 0, "extractor_retries": 0,
        "max_filesize": cfg.max_bytes or None, "cookiefile": cookies,
        "proxy": cfg.proxy or None, "cachedir": False, "updatetime": False,
        "overwrites": True, "color": "no_color",
    }


def fetch_ytdlp(url: str, folder: str, cfg: DownloadConfig, deadline: float) -> Fetched:
    """Fetch the video of a page yt-dlp knows (YouTube, other sites, its generic extractor):
    the site's info is read first and its duration and the chosen format's size checked
    against the limits before any video byte; the download is stopped at the size limit or
    the deadline."""
    try:
        import yt_dlp
    except ImportError:
        raise FetchError(DownloadReason.ERROR, "yt-dlp is not installed: pip install "
                         ".[download] (requirements-download.txt)") from None

    def hook(progress: dict) -> None:
        done = progress.get("downloaded_bytes") or 0
        if cfg.max_bytes and done > cfg.max_bytes:
            raise _Stop(_too_large(done, cfg, "stopped after"))
        _check_time_stop(deadline, cfg)

    log = _Log()
    try:
        with _cookies_copy(cfg) as cookies, \
                yt_dlp.YoutubeDL(_ytdlp_params(folder, cfg, hook, log, cookies)) as ydl:
            info = _one_video(ydl.extract_info(url, download=False), url)
            _check_claims(info, cfg, url)
            _check_time(deadline, cfg)
            info = ydl.process_ie_result(info, download=True)
    except FetchError:
        raise
    except _Stop as stop:
        raise stop.error from None
    except Exception as exc:  # noqa: BLE001 - yt-dlp raises DownloadError and others
        for inner in _causes(exc):
            if isinstance(inner, _Stop):
                raise inner.error from None
        reason, transient, after = ytdlp_reason(exc)
        raise FetchError(reason, redact(_clean(str(exc)), cfg), transient, after) from None
    downloads = info.get("requested_downloads") or [{}]
    path = downloads[0].get("filepath") or ""
    if not path or not os.path.exists(path):
        if any("max-filesize" in line for line in log.lines):
            raise FetchError(DownloadReason.TOO_LARGE, f"the file is over --max_file_mb "
                             f"{cfg.max_file_mb:g} (by its announced size): {url}")
        raise FetchError(DownloadReason.ERROR, f"yt-dlp wrote no file for {url}")
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return Fetched(path=path, size_bytes=os.path.getsize(path), sha256=digest.hexdigest(),
                   format=str(info.get("format") or info.get("format_id") or ""),
                   ext=str(info.get("ext") or ""), duration=float(info.get("duration") or 0))


def _check_time_stop(deadline: float, cfg: DownloadConfig) -> None:
    try:
        _check_time(deadline, cfg)
    except FetchError as err:
        raise _Stop(err) from None


def _one_video(info: dict, url: str) -> dict:
    """The video of ``url``'s info: a playlist (a channel, a page with several videos) is
    refused, since one id names one file; a playlist of one video is that video."""
    if info.get("_type") not in ("playlist", "multi_video"):
        return info
    entries = [e for e in info.get("entries") or () if e]
    if len(entries) == 1:
        return entries[0]
    if not entries:
        raise FetchError(DownloadReason.NOT_VIDEO, f"no video on the page: {url}")
    raise FetchError(DownloadReason.ERROR, f"{url} holds {len(entries)} videos (a playlist "
                     "or a page of several): list each video's own URL")


def _check_claims(info: dict, cfg: DownloadConfig, url: str) -> None:
    """Refuse, before downloading, a video the site says is too long or whose chosen format
    it says is too large."""
    duration = float(info.get("duration") or 0)
    if cfg.max_duration and duration > cfg.max_duration:
        raise FetchError(DownloadReason.TOO_LONG, f"the site says {duration:.0f} s, over "
                         f"--max_duration {cfg.max_duration:g}: {url}")
    size = info.get("filesize") or info.get("filesize_approx") or 0
    if cfg.max_bytes and size > cfg.max_bytes:
        raise _too_large(int(size), cfg, "the site announces")


def _clean(message: str) -> str:
    """yt-dlp's message without its ``ERROR:`` prefix, colour codes and its request to report
    a bug to yt-dlp (which a failing network also gets)."""
    message = re.sub(r"\x1b\[[0-9;]*m", "", message)
    message = re.sub(r";? *please report this issue on .*$", "", message, flags=re.S)
    return message.removeprefix("ERROR: ").strip()
