"""Options of the download stage: its config dataclass and the function that fills it from the
command line.

The defaults are bounds for the HACS / Kinetics / ActivityNet sources (YouTube uploads of
minutes), not numbers from a paper: 720p is more than the dataset job keeps (128 px short
side), and the duration limit is the dataset job's own ``--max_video_seconds`` default, so
nothing is downloaded that the dataset job would refuse.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from transforms.analyze.config import MAX_VIDEO_SECONDS

# yt-dlp's format selector: the best file that holds both video and audio at most 720p high,
# else the best video-only file at most 720p: a single file either way, so nothing needs
# merging (no FFmpeg step); a format whose height the site does not give passes.
VIDEO_FORMAT = "best[height<=?720]/bestvideo[height<=?720]"
MAX_FILE_MB = 1024.0
RETRIES = 3
RETRY_BACKOFF = 2.0
DOWNLOADS_PER_SECOND = 1.0
CONCURRENT_DOWNLOADS = 4
SOCKET_TIMEOUT = 30.0
MAX_DOWNLOAD_SECONDS = 1800.0
URL_DOWNLOADERS = ("direct", "yt-dlp")
REDACTED = "<given>"  # what the report says of a cookies file or proxy that was given


@dataclass(frozen=True)
class DownloadConfig:
    """How each video is fetched (0 for a limit: none).

    ``video_format``: yt-dlp's format selector. ``max_file_mb``: largest file in MiB (checked
    against the announced size before any byte is read, and while reading). ``max_duration``:
    longest video in seconds (the site's claim before downloading, the container's after).
    ``retries`` of transient errors (HTTP 408/429/5xx, stalled or cut connections) per video,
    ``retry_backoff`` seconds before the first, doubling after each (a server's
    ``Retry-After`` wins when longer). ``downloads_per_second`` started per worker (retries
    included) and ``concurrent_downloads`` at once per worker. ``socket_timeout`` seconds a
    connection may stay silent; ``max_download_seconds`` of wall-clock time for one video,
    retries included. ``cookies`` (a Netscape cookies file) and ``proxy`` go to yt-dlp (the
    proxy to plain HTTP too) and never into the report. ``url_downloader``: ``direct`` fetches
    http(s) URLs as files, ``yt-dlp`` gives them to yt-dlp's extractors (pages of video sites;
    its generic extractor for other pages and files). YouTube ids and URLs always go to
    yt-dlp."""

    video_format: str = VIDEO_FORMAT
    max_file_mb: float = MAX_FILE_MB
    max_duration: float = MAX_VIDEO_SECONDS
    retries: int = RETRIES
    retry_backoff: float = RETRY_BACKOFF
    downloads_per_second: float = DOWNLOADS_PER_SECOND
    concurrent_downloads: int = CONCURRENT_DOWNLOADS
    socket_timeout: float = SOCKET_TIMEOUT
    max_download_seconds: float = MAX_DOWNLOAD_SECONDS
    cookies: str = ""
    proxy: str = ""
    url_downloader: str = "direct"

    def __post_init__(self) -> None:
        for name in ("max_file_mb", "max_duration", "retry_backoff", "downloads_per_second",
                     "max_download_seconds"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"--{name} must be >= 0 (0: no limit), not {getattr(self, name)}")
        if self.retries < 0:
            raise ValueError(f"--download_retries must be >= 0, not {self.retries}")
        if self.concurrent_downloads < 1:
            raise ValueError(f"--concurrent_downloads must be >= 1, not "
                             f"{self.concurrent_downloads}")
        if not self.socket_timeout > 0:
            raise ValueError(f"--socket_timeout must be > 0 seconds, not {self.socket_timeout}")
        if self.url_downloader not in URL_DOWNLOADERS:
            raise ValueError(f"--url_downloader must be one of {', '.join(URL_DOWNLOADERS)}, "
                             f"not {self.url_downloader!r}")
        if not self.video_format.strip():
            raise ValueError("--video_format must not be empty")

    @property
    def max_bytes(self) -> int:
        """``max_file_mb`` in bytes (0: no limit)."""
        return int(self.max_file_mb * (1 << 20))

    def settings(self) -> dict:
        """``asdict()`` for the report, with the cookies file and the proxy (which may hold a
        password) only said to be given."""
        return {**asdict(self), "cookies": REDACTED if self.cookies else "",
                "proxy": REDACTED if self.proxy else ""}

    def resume_key(self) -> dict:
        """The settings that change which file a video gives: a run resumed with other ones
        downloads every video again."""
        return {"video_format": self.video_format, "max_file_mb": self.max_file_mb,
                "max_duration": self.max_duration, "url_downloader": self.url_downloader}


def add_download_arguments(parser) -> None:
    """Add the download options to a ``PipelineOptions._add_argparse_args`` parser."""
    parser.add_argument("--video_format", default=VIDEO_FORMAT,
                        help="yt-dlp format selector for YouTube and other sites. Default: the "
                             "best single file with video at most 720p high (with audio if "
                             "there is one), so nothing needs merging.")
    parser.add_argument("--max_file_mb", type=float, default=MAX_FILE_MB,
                        help="Largest file, in MiB; larger ones fail as too_large, from the "
                             "announced size before downloading or as soon as the bytes read "
                             "pass it. Default 1024 (a 720p video of an hour is about 500 "
                             "MiB); 0: no limit.")
    parser.add_argument("--max_duration", type=float, default=MAX_VIDEO_SECONDS,
                        help="Longest video, in seconds; longer ones fail as too_long (the "
                             "site's claim before downloading, the container's after). "
                             "Default 14400: the dataset job's --max_video_seconds default; "
                             "0: no limit.")
    parser.add_argument("--download_retries", type=int, default=RETRIES,
                        help="Retries per video of transient errors only (HTTP 408, 429, 5xx, "
                             "a stalled or cut connection). Default 3.")
    parser.add_argument("--retry_backoff", type=float, default=RETRY_BACKOFF,
                        help="Seconds before the first retry, doubled before each next one; a "
                             "server's Retry-After wins when longer. Default 2.")
    parser.add_argument("--downloads_per_second", type=float, default=DOWNLOADS_PER_SECOND,
                        help="Downloads (tries) started per second per worker process; 0: no "
                             "limit. Default 1: YouTube asks fast clients to prove they are not "
                             "bots.")
    parser.add_argument("--concurrent_downloads", type=int, default=CONCURRENT_DOWNLOADS,
                        help="Downloads at once per worker process. Default 4 "
                             "(benchmarks/RESULTS.md: download job).")
    parser.add_argument("--socket_timeout", type=float, default=SOCKET_TIMEOUT,
                        help="Seconds a connection may stay silent before the try fails as "
                             "timeout (then retried). Default 30.")
    parser.add_argument("--max_download_seconds", type=float, default=MAX_DOWNLOAD_SECONDS,
                        help="Wall-clock seconds one video may take, retries included; then "
                             "it fails as timeout. Default 1800; 0: no limit.")
    parser.add_argument("--cookies", default="",
                        help="Netscape cookies file for yt-dlp (sites that ask to sign in), "
                             "local or gs:// (workers read it; each try uses a private copy, "
                             "as yt-dlp writes its cookies back). Never written to the "
                             "report.")
    parser.add_argument("--proxy", default="",
                        help="Proxy URL for yt-dlp and plain HTTP(S) downloads, e.g. "
                             "http://user:pass@host:3128. Never written to the report.")
    parser.add_argument("--url_downloader", default="direct", choices=URL_DOWNLOADERS,
                        help="How http(s) URLs are fetched: direct (as files; a page that is "
                             "not a video fails as not_video) or yt-dlp (its extractors: pages "
                             "of video sites, its generic extractor otherwise). YouTube ids "
                             "and URLs always go through yt-dlp.")


def download_config_from_options(options) -> DownloadConfig:
    """DownloadConfig from options added by :func:`add_download_arguments` (ValueError naming
    the option for a value that cannot work)."""
    return DownloadConfig(video_format=options.video_format, max_file_mb=options.max_file_mb,
                          max_duration=options.max_duration, retries=options.download_retries,
                          retry_backoff=options.retry_backoff,
                          downloads_per_second=options.downloads_per_second,
                          concurrent_downloads=options.concurrent_downloads,
                          socket_timeout=options.socket_timeout,
                          max_download_seconds=options.max_download_seconds,
                          cookies=options.cookies or "", proxy=options.proxy or "",
                          url_downloader=options.url_downloader)
