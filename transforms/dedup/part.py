"""The near-duplicate stage's part of the decode pass: a video's fingerprint, hashed from the
frames it samples while the video streams past (``transforms.analyze.part``). No Beam."""

from __future__ import annotations

from transforms.analyze.part import AnalysisPart, VideoPass
from transforms.dedup.config import FingerprintConfig
from transforms.dedup.fingerprint import Fingerprinter


class _Run:
    def __init__(self, fingerprinter: Fingerprinter):
        self.consumer = fingerprinter

    def drain(self, writer):
        return ()

    def finish(self, stats) -> dict:
        return {"fingerprint": self.consumer.result(stats)}


class FingerprintPart(AnalysisPart):
    """Adds ``fingerprint`` (a VideoFingerprint) to each video's analysis."""

    name = "fingerprints"
    config: FingerprintConfig

    def start(self, video: VideoPass) -> _Run:
        cfg = self.config
        return _Run(Fingerprinter(video.ref.video_id, cfg.fps, cfg.kind, uri=video.ref.uri,
                                  variants=cfg.crop_variants))
