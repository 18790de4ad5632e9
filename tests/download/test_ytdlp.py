"""yt-dlp as the job uses it: its generic extractor against the local server (URL inputs with
``url_downloader="yt-dlp"``), and the mapping of what YouTube says through yt-dlp to reasons.

YouTube cannot be reached here. Its refusals are recorded below as yt-dlp 2026.10.26 words them
(``yt_dlp/extractor/youtube/_video.py`` joins YouTube's playability ``reason`` and ``subreason``
and adds the login hint of ``_login_hint('cookies')`` and ``_youtube_login_hint``; geo blocks
raise GeoRestrictedError). An extractor standing in for YouTube raises them through yt-dlp's
own ``raise_no_formats`` / ``raise_geo_restricted``, so the exceptions the job maps are the
ones ``YoutubeDL.extract_info`` really raises. A new yt-dlp pin fails
:func:`test_strings_were_recorded_with_the_pinned_yt_dlp` until they are checked again.
"""

from __future__ import annotations

import hashlib
import io
import os

import pytest
import yt_dlp

from tests.conftest import video
from transforms.download.config import DownloadConfig
from transforms.download.download import download_video
from transforms.download.fetch import is_youtube, message_reason, source_url, ytdlp_reason
from transforms.types import DownloadTarget

RECORDED_WITH = "2026.10.26"
COOKIES_HINT = ("Use --cookies-from-browser or --cookies for the authentication. See  "
                "https://github.com/yt-dlp/yt-dlp/wiki/FAQ#how-do-i-pass-cookies-to-yt-dlp  "
                "for how to manually pass cookies. Also see  "
                "https://github.com/yt-dlp/yt-dlp/wiki/Extractors#exporting-youtube-cookies  "
                "for tips on effectively exporting YouTube cookies")
# (what YouTube's player says, as the extractor passes it to raise_no_formats) -> reason
YOUTUBE_SAYS = [
    (f"Private video. Sign in if you've been granted access to this video. {COOKIES_HINT}",
     "private"),
    ("Video unavailable. This video has been removed by the uploader", "removed"),
    ("Video unavailable. This video has been removed for violating YouTube's Terms of Service",
     "removed"),
    ("Video unavailable. This video is no longer available because the YouTube account "
     "associated with this video has been terminated.", "removed"),
    ("Video unavailable. This video is no longer available due to a copyright claim by "
     "Example Records", "removed"),
    ("Video unavailable. This video contains content from Example Records, who has blocked "
     "it in your country on copyright grounds.", "geo_blocked"),
    ("Video unavailable", "unavailable"),
    ("Video unavailable. This video is unavailable", "unavailable"),
    ("Join this channel to get access to members-only content like this video, and other "
     "exclusive perks.", "unavailable"),
    ("Premieres in 3 hours", "unavailable"),
    (f"Sign in to confirm your age. This video may be inappropriate for some users. "
     f"{COOKIES_HINT}", "age_restricted"),
    (f"Sign in to confirm you\u2019re not a bot. {COOKIES_HINT}", "bot_check"),
    ("This content isn't available, try again later. The current session has been "
     "rate-limited by YouTube for up to an hour. It is recommended to use `-t sleep` to add "
     "a delay between video requests to avoid exceeding the rate limit. For more "
     "information, refer to  https://github.com/yt-dlp/yt-dlp/wiki/Extractors"
     "#this-content-isnt-available-try-again-later", "http_429"),
]
GEO = "The uploader has not made this video available in your country"


class _StandInIE(yt_dlp.extractor.common.InfoExtractor):
    """Stands in for YouTube: refuses every video the way the YouTube extractor does."""

    _VALID_URL = r"standin://(?P<id>[^/]+)"
    IE_NAME = "youtube"
    says = ""

    def _real_extract(self, url):
        video_id = self._match_id(url)
        if self.says == GEO:
            self.raise_geo_restricted(GEO, ["DE", "FR"], metadata_available=True)
        self.raise_no_formats(self.says, expected=True, video_id=video_id)


def _raised(says: str) -> BaseException:
    """The exception ``YoutubeDL.extract_info`` raises when the site says ``says``."""
    ydl = yt_dlp.YoutubeDL({"quiet": True, "no_warnings": True, "logger": _Quiet()},
                           auto_init=False)
    ie = _StandInIE(ydl)
    ie.says = says
    ydl.add_info_extractor(ie)
    with pytest.raises(yt_dlp.utils.DownloadError) as info:
        ydl.extract_info("standin://dQw4w9WgXcQ", download=False, ie_key=ie.ie_key())
    return info.value


class _Quiet:
    def debug(self, msg):
        pass

    info = warning = error = debug


def test_strings_were_recorded_with_the_pinned_yt_dlp():
    assert yt_dlp.version.__version__ == RECORDED_WITH, (
        "yt-dlp changed: check YOUTUBE_SAYS against its youtube extractor (_video.py) and "
        "record the new version here")


@pytest.mark.parametrize(("says", "reason"), YOUTUBE_SAYS + [(GEO, "geo_blocked")],
                         ids=lambda v: v[:40] if isinstance(v, str) and len(v) > 20 else None)
def test_youtube_refusals_map_to_reasons(says, reason):
    raised = _raised(says)
    assert str(raised).startswith("ERROR: [youtube] dQw4w9WgXcQ: ")
    got, transient, _ = ytdlp_reason(raised)
    assert got == reason
    assert transient == (reason == "http_429")  # only the rate limit is worth a retry


def test_an_http_status_is_read_from_the_wrapped_error_with_retry_after():
    from yt_dlp.networking.common import Response
    from yt_dlp.networking.exceptions import HTTPError
    from yt_dlp.utils import DownloadError, ExtractorError

    response = Response(io.BytesIO(b""), "https://example.com/v", {"Retry-After": "7"},
                        status=503)
    cause = HTTPError(response)
    error = ExtractorError("Unable to download webpage: HTTP Error 503", cause=cause)
    assert ytdlp_reason(DownloadError(f"ERROR: {error}", (type(error), error, None))) == (
        "http_503", True, 7.0)


@pytest.mark.parametrize(("message", "reason"), [
    ("ERROR: [generic] x: Unable to download webpage: HTTP Error 404: Not Found", "http_404"),
    ("ERROR: [download] Got error: Read timed out.", "timeout"),
    ("ERROR: Unsupported URL: https://example.com/", "not_video"),
    ("ERROR: something new", "error"),
])
def test_messages_without_a_wrapped_error(message, reason):
    assert message_reason(message) == reason


@pytest.mark.parametrize(("source", "youtube"), [
    ("dQw4w9WgXcQ", True), ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", True),
    ("https://youtu.be/dQw4w9WgXcQ", True), ("https://m.youtube.com/shorts/dQw4w9WgXcQ", True),
    ("https://example.com/dQw4w9WgXcQ", False), ("gs://b/dQw4w9WgXcQ.mp4", False),
    ("v_dQw4w9WgXc", False)])
def test_youtube_sources(source, youtube):
    assert is_youtube(source) == youtube
    assert source_url("dQw4w9WgXcQ") == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


YTDLP = DownloadConfig(url_downloader="yt-dlp", downloads_per_second=0, retry_backoff=0.05,
                       socket_timeout=0.5, retries=2)


def _get(server, route, tmp_path, cfg=YTDLP):
    out = tmp_path / "out"
    return download_video(DownloadTarget("vid", server.url + route, ("walking",)), cfg,
                          str(out), str(out / "work")), out


def _sha(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.mark.parametrize(("route", "name", "attempts"), [
    ("/v/vtest_a.mp4", "vtest_a.mp4", 1),          # a video file: the generic extractor
    ("/page/Megamind.avi", "Megamind.avi", 1),     # a page with a <video>
    ("/flaky/1/tree.avi", "tree.avi", 2),          # 500 then the video: retried
    ("/hop/3/vtest_b.mp4", "vtest_b.mp4", 1),
], ids=["file", "page", "500_then_success", "redirects"])
def test_generic_extractor_downloads(server, tmp_path, route, name, attempts):
    outcome, out = _get(server, route, tmp_path)
    assert outcome.status == "downloaded", outcome.message
    assert outcome.attempts == attempts and outcome.format
    assert outcome.sha256 == _sha(video(name)) == _sha(outcome.uri)
    assert os.listdir(out / "walking") == [os.path.basename(outcome.uri)]


@pytest.mark.parametrize(("route", "reason", "attempts", "cfg"), [
    ("/status/404", "http_404", 1, YTDLP),
    ("/status/410", "http_410", 1, YTDLP),
    ("/html", "not_video", 1, YTDLP),
    ("/loop", "error", 1, YTDLP),
    ("/page/vtest_a.mp4/tree.avi", "error", 1, YTDLP),     # two videos: which one?
    ("/stall/vtest_a.mp4", "timeout", 3, YTDLP),
    ("/cut/vtest_a.mp4", "error", 3, YTDLP),
    ("/endless", "too_large", 1, DownloadConfig(url_downloader="yt-dlp", max_file_mb=1,
                                                downloads_per_second=0)),
    ("/v/Megamind.avi", "too_large", 1, DownloadConfig(url_downloader="yt-dlp",
                                                       max_file_mb=0.5,
                                                       downloads_per_second=0)),
    ("/v/vtest_a.mp4", "too_long", 1, DownloadConfig(url_downloader="yt-dlp", max_duration=10,
                                                     downloads_per_second=0)),
    ("/trickle/vtest_a.mp4", "timeout", 1, DownloadConfig(url_downloader="yt-dlp",
                                                          max_download_seconds=1.5,
                                                          downloads_per_second=0)),
], ids=["404", "410", "html", "redirect_loop", "page_of_two", "stall", "cut_short",
        "endless_too_large", "announced_too_large", "too_long", "slow_past_time_limit"])
def test_generic_extractor_failures(server, tmp_path, route, reason, attempts, cfg):
    outcome, out = _get(server, route, tmp_path, cfg)
    assert (outcome.status, outcome.reason, outcome.attempts) == ("failed", reason, attempts), (
        outcome.message)
    assert not (out / "walking").exists() or os.listdir(out / "walking") == []
    if route.startswith("/page/"):
        assert "holds 2 videos" in outcome.message and server.hits["/v/tree.avi"] == 0
    if route == "/endless":
        assert server.sent["/endless"] < 32 << 20


@pytest.mark.parametrize("downloader", ["yt-dlp", "direct"])
def test_an_unreachable_proxy_fails_without_its_password(server, tmp_path, downloader):
    cfg = DownloadConfig(url_downloader=downloader, proxy="http://user:s3cret@127.0.0.1:9",
                         retries=0, downloads_per_second=0)
    outcome, _ = _get(server, "/v/vtest_a.mp4", tmp_path, cfg)
    assert (outcome.status, outcome.reason) == ("failed", "error")
    assert "s3cret" not in outcome.message and "report this issue" not in outcome.message
    assert server.hits["/v/vtest_a.mp4"] == 0


def test_cookies_reach_the_site_and_the_file_is_left_as_it_was(server, tmp_path):
    cookies = tmp_path / "cookies.txt"
    text = ("# Netscape HTTP Cookie File\n"
            "127.0.0.1\tFALSE\t/\tFALSE\t4102444800\tsession\tabc123\n")
    cookies.write_text(text)
    cfg = DownloadConfig(url_downloader="yt-dlp", cookies=str(cookies),
                         downloads_per_second=0)
    outcome, _ = _get(server, "/v/vtest_b.mp4", tmp_path, cfg)
    assert outcome.status == "downloaded", outcome.message
    assert server.cookies["/v/vtest_b.mp4"] == "session=abc123"
    assert cookies.read_text() == text  # yt-dlp wrote its jar back to a private copy


def test_youtube_challenge_solver_is_installed():
    """What YouTube extraction needs besides yt-dlp (requirements-download.txt): the solver
    scripts and a JavaScript runtime yt-dlp finds and supports. ``_js_runtimes`` is yt-dlp's
    own (private) view of them: this fails loudly if it goes."""
    import yt_dlp_ejs  # noqa: F401 - the solver scripts

    runtimes = yt_dlp.YoutubeDL({"quiet": True})._js_runtimes
    info = runtimes["deno"].info
    assert info is not None and info.supported, "yt-dlp finds no supported deno"
