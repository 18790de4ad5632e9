"""Beam stage: one decode pass per video that feeds every early filter at once.

Fingerprints (for de-duplication), shot boundaries and the frames to score for people are
all computed while the video streams through the decoder a single time; the elements that
leave this stage are small (hashes, shot spans, a few JPEG frames per shot), never video.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.analyze.decode import PREFETCH, VideoError, decode_pass
from transforms.dedup.fingerprint import Fingerprinter
from transforms.persons.sampling import ShotFrameSampler
from transforms.progress import Progress
from transforms.shots.histogram import ShotDetector, ShotParams
from transforms.types import Outcome, Reason, Stage, Status, Tag, VideoAnalysis, VideoRef


@dataclass(frozen=True)
class AnalysisConfig:
    """What the analysis pass computes: fingerprints at ``fingerprint_fps`` with hash
    ``fingerprint_kind``, with crop-variant hashes when ``crop_variants`` (fps None: no
    fingerprints), and shots with ``shot_params`` plus the frames at ``frame_positions`` of
    each shot (None: no shots)."""

    fingerprint_fps: float | None
    fingerprint_kind: str
    crop_variants: bool
    shot_params: ShotParams | None
    frame_positions: tuple[float, ...]


class _AnalyzeFn(beam.DoFn):
    """VideoRef -> VideoAnalysis (main), ShotFrame (tagged), failed Outcome (tagged)."""

    def __init__(self, config: AnalysisConfig, total: int):
        self._config = config
        self._total = total
        self._frames = Metrics.counter("hacs", "frames_analyzed")
        self._shots = Metrics.distribution("hacs", "shots_per_video")

    def setup(self):
        self._progress = Progress(self._total, "analyze")

    def process(self, ref: VideoRef):
        cfg = self._config
        fingerprinter = detector = sampler = None
        consumers = []
        if cfg.fingerprint_fps:
            fingerprinter = Fingerprinter(ref.video_id, cfg.fingerprint_fps,
                                          cfg.fingerprint_kind, uri=ref.uri,
                                          variants=cfg.crop_variants)
            consumers.append(fingerprinter)
        if cfg.shot_params is not None:
            detector = ShotDetector(cfg.shot_params)
            sampler = ShotFrameSampler(detector, ref.video_id, cfg.frame_positions)
            consumers += [detector, sampler]
        try:
            stats = decode_pass(ref.uri, consumers, prefetch=PREFETCH)
            frames = sampler.result(stats) if sampler else []
            shots = tuple(detector.result(stats)) if detector else None
            fingerprint = fingerprinter.result(stats) if fingerprinter else None
        except VideoError as exc:
            self._progress.video_done(ref.video_id, 0, f"failed ({exc.reason})")
            yield beam.pvalue.TaggedOutput(Tag.FAILED, Outcome(
                ref.video_id, ref.uri, Status.FAILED, Stage.DECODE, exc.reason, exc.message))
            return
        except Exception as exc:  # a bad video must never kill the run
            logging.exception("analysis failed for %s", ref.video_id)
            self._progress.video_done(ref.video_id, 0, "failed (error)")
            yield beam.pvalue.TaggedOutput(Tag.FAILED, Outcome(
                ref.video_id, ref.uri, Status.FAILED, Stage.DECODE, Reason.ERROR,
                f"{type(exc).__name__}: {exc}"))
            return
        self._frames.inc(stats.frames_decoded)
        if shots is not None:
            self._shots.update(len(shots))
        self._progress.video_done(ref.video_id, 0, f"analyzed ({stats.frames_decoded} frames"
                                  + (f", {len(shots)} shots)" if shots is not None else ")"))
        yield VideoAnalysis(ref, stats.duration, stats.frames_decoded, stats.width,
                            stats.height, stats.size_bytes, fingerprint, shots)
        for frame in frames:
            yield beam.pvalue.TaggedOutput(Tag.SHOT_FRAMES, frame)


class AnalyzeVideos(beam.PTransform):
    """PCollection[VideoRef] -> outputs ``analyses`` (VideoAnalysis), ``shot_frames``
    (ShotFrame, for person scoring) and ``failed`` (Outcome of unusable videos)."""

    def __init__(self, config: AnalysisConfig, total: int):
        super().__init__()
        self._fn = _AnalyzeFn(config, total)

    def expand(self, refs):
        return (refs
                | "Reshuffle" >> beam.Reshuffle()
                | "DecodeOnce" >> beam.ParDo(self._fn).with_outputs(
                    Tag.SHOT_FRAMES, Tag.FAILED, main=Tag.ANALYSES))
