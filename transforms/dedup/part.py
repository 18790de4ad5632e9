"""The near-duplicate stage's part of the decode pass: a video's fingerprint, hashed from the
frames it samples while the video streams past (``transforms.analyze.part``). No Beam."""

from __future__ import annotations

from transforms.analyze.part import AnalysisPart, ResultRun, VideoPass
from transforms.dedup.config import FingerprintConfig
from transforms.dedup.fingerprint import Fingerprinter


class FingerprintPart(AnalysisPart):
    """Adds ``fingerprint`` (a VideoFingerprint) to each video's analysis."""

    name = "fingerprints"
    config: FingerprintConfig

    def start(self, video: VideoPass) -> ResultRun:
        cfg = self.config
        return ResultRun(Fingerprinter(video.ref.video_id, cfg.fps, cfg.kind, uri=video.ref.uri,
                                       variants=cfg.crop_variants), "fingerprint")
