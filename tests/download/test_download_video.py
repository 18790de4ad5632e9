"""One video's download (``transforms.download.download.download_video``) against a server that
misbehaves on purpose: each way of failing ends in its reason, transient errors are retried
with backoff and the rest are not, and no file appears under its final name unless it came
whole and decodes as video."""

from __future__ import annotations

import glob
import hashlib
import os
import time

import pytest

from tests.conftest import video
from transforms.download.config import DownloadConfig
from transforms.download.download import WorkerGate, committed, download_video, retry_delay
from transforms.download.fetch import FetchError
from transforms.types import DownloadStatus, DownloadTarget

FAST = DownloadConfig(downloads_per_second=0, retry_backoff=0.05, socket_timeout=0.5,
                      retries=2)


def _sha(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _files(out) -> list[str]:
    """Every file under ``out`` but the resume records, hidden ones too."""
    return sorted(os.path.relpath(p, out) for p in glob.glob(f"{out}/**/*", recursive=True)
                  + glob.glob(f"{out}/**/.*", recursive=True)
                  if os.path.isfile(p) and "/work/" not in p)


def _get(server, route: str, tmp_path, cfg: DownloadConfig = FAST, classes=("walking",)):
    out = tmp_path / "out"
    target = DownloadTarget("vid", server.url + route, classes, "training")
    return download_video(target, cfg, str(out), str(out / "work")), out


@pytest.mark.parametrize(("route", "name", "attempts", "ext"), [
    ("/v/vtest_a.mp4", "vtest_a.mp4", 1, "mp4"),
    ("/flaky/2/vtest_b.mp4", "vtest_b.mp4", 3, "mp4"),       # 500, 500, then the video
    ("/hop/4/Megamind.avi", "Megamind.avi", 1, "avi"),       # four redirects
    ("/cutonce/tree.avi", "tree.avi", 2, "avi"),             # cut short once, then whole
], ids=["plain", "500_then_success", "redirect_chain", "cut_then_whole"])
def test_downloaded_whole_checked_and_recorded(server, tmp_path, route, name, attempts, ext):
    outcome, out = _get(server, route, tmp_path)
    assert outcome.status == DownloadStatus.DOWNLOADED, outcome.message
    assert outcome.attempts == attempts
    assert outcome.uri == str(out / "walking" / f"v_vid.{ext}")
    assert outcome.container == ext and outcome.sha256 == _sha(video(name))
    assert outcome.size_bytes == os.path.getsize(video(name))
    assert _sha(outcome.uri) == outcome.sha256
    assert _files(out) == [f"walking/v_vid.{ext}"]  # no staging folder left
    # the record --resume reads gives the same outcome back
    again = committed(str(out / "work"), DownloadTarget("vid", server.url + route,
                                                        ("walking",), "training"))
    assert again is not None and again.resumed and again.sha256 == outcome.sha256


def test_decoded_facts_come_from_the_container(server, tmp_path):
    outcome, _ = _get(server, "/v/vtest_a.mp4", tmp_path)
    assert (outcome.width, outcome.height) == (384, 288)
    assert outcome.duration == pytest.approx(20.0, abs=0.1)
    assert outcome.format == "direct"


@pytest.mark.parametrize(("route", "reason", "attempts", "words"), [
    ("/status/404", "http_404", 1, "404"),
    ("/status/403", "http_403", 1, "403"),
    ("/status/410", "http_410", 1, "410"),
    ("/status/503", "http_503", 3, "503"),                   # transient: retried, then given up
    ("/loop", "error", 1, "redirect loop"),
    ("/stall/vtest_a.mp4", "timeout", 3, "socket_timeout"),
    ("/cut/vtest_a.mp4", "error", 3, "cut short"),
    ("/html", "not_video", 1, "HTML"),
    ("/fake.mp4", "not_video", 1, "not a video"),            # sent as video/mp4: the decoder says
], ids=["404", "403", "410", "503_retried", "redirect_loop", "stall", "cut_short", "html",
        "html_as_mp4"])
def test_failures_end_with_their_reason_and_publish_nothing(server, tmp_path, route, reason,
                                                           attempts, words):
    outcome, out = _get(server, route, tmp_path)
    assert (outcome.status, outcome.reason, outcome.attempts) == ("failed", reason, attempts)
    assert words in outcome.message
    if route != "/loop":  # a loop is asked 11 times per try, then refused
        assert server.hits[route] == attempts  # permanent errors are asked once
    assert _files(out) == []  # nothing under a final name, no partial file either


def test_429_waits_for_retry_after(server, tmp_path):
    start = time.monotonic()
    outcome, _ = _get(server, "/busy/1/vtest_a.mp4", tmp_path)
    assert outcome.status == "downloaded" and outcome.attempts == 2
    assert time.monotonic() - start >= 1.0  # the server's 1 s, not the 0.05 s backoff


def test_retry_after_beyond_the_time_limit_fails_at_once(server, tmp_path):
    cfg = DownloadConfig(downloads_per_second=0, retry_backoff=0.05, max_download_seconds=0.5)
    start = time.monotonic()
    outcome, _ = _get(server, "/busy/30/vtest_a.mp4", tmp_path, cfg)
    assert (outcome.reason, outcome.attempts) == ("http_429", 1)
    assert "no time left" in outcome.message and time.monotonic() - start < 5


def test_over_the_size_limit_stops_early(server, tmp_path):
    cfg = DownloadConfig(downloads_per_second=0, max_file_mb=1)
    outcome, out = _get(server, "/endless", tmp_path, cfg)
    assert (outcome.reason, outcome.attempts) == ("too_large", 1)
    assert "stopped after" in outcome.message
    time.sleep(0.2)
    assert server.sent["/endless"] < 32 << 20  # of the 256 MB it would have sent
    assert _files(out) == []


def test_an_announced_size_over_the_limit_is_refused_before_reading(server, tmp_path):
    cfg = DownloadConfig(downloads_per_second=0, max_file_mb=0.5)
    outcome, _ = _get(server, "/v/Megamind.avi", tmp_path, cfg)
    assert outcome.reason == "too_large" and "announced 1189270 bytes" in outcome.message


def test_too_long_by_the_container(server, tmp_path):
    cfg = DownloadConfig(downloads_per_second=0, max_duration=10)
    outcome, out = _get(server, "/v/vtest_a.mp4", tmp_path, cfg)
    assert outcome.reason == "too_long" and "20 s" in outcome.message
    assert _files(out) == []


def test_the_time_limit_stops_a_slow_transfer(server, tmp_path):
    cfg = DownloadConfig(downloads_per_second=0, max_download_seconds=0.5)
    start = time.monotonic()
    outcome, out = _get(server, "/trickle/vtest_a.mp4", tmp_path, cfg)
    assert outcome.reason == "timeout" and "max_download_seconds" in outcome.message
    assert time.monotonic() - start < 2 and _files(out) == []


def test_a_video_without_a_class_lies_at_the_top(server, tmp_path):
    outcome, out = _get(server, "/v/vtest_b.mp4", tmp_path, classes=())
    assert outcome.uri == str(out / "v_vid.mp4") and os.path.exists(outcome.uri)


def test_a_gs_or_local_source_is_copied(tmp_path):
    out = tmp_path / "out"
    outcome = download_video(DownloadTarget("m", video("Megamind.avi")), FAST, str(out),
                             str(out / "work"))
    assert outcome.status == "downloaded" and outcome.format == "copy"
    assert outcome.sha256 == _sha(video("Megamind.avi"))
    missing = download_video(DownloadTarget("x", str(tmp_path / "nope.mp4")), FAST, str(out),
                             str(out / "work"))
    assert missing.reason == "unavailable"


@pytest.mark.parametrize(("transient", "attempt", "after", "expected"), [
    (False, 1, None, None), (True, 1, None, 2.0), (True, 2, None, 4.0), (True, 3, None, 8.0),
    (True, 4, None, None), (True, 1, 30.0, 30.0)],
    ids=["permanent", "first", "second", "third", "out_of_retries", "retry_after"])
def test_retry_delay(transient, attempt, after, expected):
    error = FetchError("http_503", "busy", transient=transient, retry_after=after)
    assert retry_delay(error, attempt, DownloadConfig(retries=3, retry_backoff=2)) == expected


def test_worker_gate_spaces_out_starts():
    gate = WorkerGate(concurrency=4, per_second=20)
    start = time.monotonic()
    for _ in range(5):
        with gate.turn():
            pass
    assert time.monotonic() - start == pytest.approx(0.2, abs=0.08)
