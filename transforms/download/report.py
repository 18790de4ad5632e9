"""The download run's report: where every video ended, added up. Plain functions, no Beam."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from transforms.types import DownloadOutcome, DownloadStatus


@dataclass
class DownloadTally:
    """Running sums over download outcomes, mergeable (a Beam CombineFn's accumulator).
    ``fetched_bytes`` counts only what this run downloaded (not the resumed videos)."""

    videos: int = 0
    by_status: Counter = field(default_factory=Counter)
    by_reason: Counter = field(default_factory=Counter)
    bytes: int = 0
    fetched_bytes: int = 0
    video_seconds: float = 0.0
    attempts: int = 0
    retried: int = 0
    resumed: int = 0

    def add(self, outcome: DownloadOutcome) -> DownloadTally:
        self.videos += 1
        self.by_status[str(outcome.status)] += 1
        if outcome.status == DownloadStatus.FAILED:
            self.by_reason[outcome.reason] += 1
        else:
            self.bytes += outcome.size_bytes
            self.video_seconds += outcome.duration
            if not outcome.resumed:
                self.fetched_bytes += outcome.size_bytes
        if not outcome.resumed:
            self.attempts += outcome.attempts
            self.retried += outcome.attempts > 1
        self.resumed += outcome.resumed
        return self

    def merge(self, other: DownloadTally) -> DownloadTally:
        self.videos += other.videos
        self.by_status.update(other.by_status)
        self.by_reason.update(other.by_reason)
        self.bytes += other.bytes
        self.fetched_bytes += other.fetched_bytes
        self.video_seconds += other.video_seconds
        self.attempts += other.attempts
        self.retried += other.retried
        self.resumed += other.resumed
        return self


def build_download_report(t: DownloadTally, elapsed_seconds: float, settings: dict) -> dict:
    """The ``report.json`` document of a download run."""
    downloaded = t.by_status.get(DownloadStatus.DOWNLOADED, 0)
    fresh = downloaded - t.resumed
    return {
        "videos": {"input": t.videos, "downloaded": downloaded,
                   "failed": t.by_status.get(DownloadStatus.FAILED, 0),
                   "resumed": t.resumed},
        "reasons": {"failed": dict(sorted(t.by_reason.items()))},
        "bytes": t.bytes,
        "fetched_bytes": t.fetched_bytes,
        "video_seconds": round(t.video_seconds, 3),
        "attempts": t.attempts,
        "retried_videos": t.retried,
        "elapsed_seconds": round(elapsed_seconds, 3),
        "downloads_per_second": round(fresh / elapsed_seconds, 3) if elapsed_seconds else 0.0,
        "settings": settings,
    }


def download_summary(report: dict) -> str:
    """A short human summary of a download report, for the end of a run."""
    v = report["videos"]
    lines = [f"videos: {v['input']} in -> {v['downloaded']} downloaded "
             f"({v['resumed']} by an earlier run), {v['failed']} failed",
             f"bytes:  {report['bytes'] / 1e6:.1f} MB ({report['fetched_bytes'] / 1e6:.1f} MB "
             f"fetched by this run), {report['video_seconds'] / 3600:.2f} h of video"]
    for reason, n in report["reasons"]["failed"].items():
        lines.append(f"  failed {reason}: {n}")
    lines.append(f"elapsed: {report['elapsed_seconds']:.1f} s, {report['attempts']} tries, "
                 f"{report['retried_videos']} videos retried")
    return "\n".join(lines)
