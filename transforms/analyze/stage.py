"""Beam stage: the one decode pass per video, feeding every stage's consumer at once.

While a video streams through the decoder a single time, the same pass computes its
fingerprint (for de-duplication), its shots, the frames to score for people and a candidate
clip for every 2-second span of every shot. Candidate clips and shot frames are written to the
video's result files as they are made (``transforms.analyze.results``), so memory is flat in
the video's length; what leaves this stage is small: the analysis (hashes, shot spans, where
the candidate clips are) and the shot frames to score (a few small JPEGs per shot).

A video whose results were committed by an earlier, interrupted or identical run (same input
file, same settings) is not decoded again: its results are read back.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils.shared import Shared

from transforms.analyze.config import LimitsConfig
from transforms.analyze.decode import PREFETCH, VideoError, dispatch, open_video
from transforms.analyze.results import (
    ResultWriter,
    is_committed,
    read_result,
    result_name,
    result_paths,
    source_identity,
)
from transforms.clips.config import ClipConfig
from transforms.clips.sampler import ClipCutter, SampledClip
from transforms.dedup.fingerprint import Fingerprinter
from transforms.output.records import UNKNOWN_LABEL_ID, ClipRecord, make_clip_id, to_example
from transforms.output.thumbnails import FPS as THUMB_FPS
from transforms.output.thumbnails import Thumbnailer
from transforms.persons.sampling import ShotFrameSampler
from transforms.progress import NAMESPACE, Progress
from transforms.shots.config import ShotDetectorConfig
from transforms.shots.histogram import ShotDetector, ShotParams
from transforms.shots.transnet import TransNetDetector, load_model
from transforms.types import (
    Outcome,
    Reason,
    ShotFrame,
    Stage,
    Status,
    Tag,
    VideoAnalysis,
    VideoRef,
)


@dataclass(frozen=True)
class AnalysisConfig:
    """What the analysis pass computes: fingerprints at ``fingerprint_fps`` with hash
    ``fingerprint_kind``, with crop-variant hashes when ``crop_variants`` (fps None: no
    fingerprints); shots with the detector ``shot_detector`` names (the histogram one with
    ``shot_params``); the frames at ``frame_positions`` of each shot
    for the person detector (empty: none); candidate clips of every shot as ``clips`` says.
    ``work_folder`` is where the per-video results go; ``limits`` end a video that is too
    long, too large or too slow to decode as failed."""

    fingerprint_fps: float | None
    fingerprint_kind: str
    crop_variants: bool
    shot_params: ShotParams
    frame_positions: tuple[float, ...]
    clips: ClipConfig
    work_folder: str
    limits: LimitsConfig = LimitsConfig()
    shot_detector: ShotDetectorConfig = ShotDetectorConfig()


def candidate_example(ref: VideoRef, clip: SampledClip, fps: float) -> bytes:
    """A candidate clip as a record without label or person score (set when kept)."""
    spec = clip.spec
    return to_example(ClipRecord(
        video_id=ref.video_id, clip_id=make_clip_id(ref.video_id, spec.start, spec.end),
        source_uri=ref.uri, start=spec.start, end=spec.end, fps=fps, height=clip.height,
        width=clip.width, frames=clip.frames, timestamps=clip.timestamps,
        label_id=UNKNOWN_LABEL_ID, shot_index=spec.shot_index))


class _AnalyzeFn(beam.DoFn):
    """VideoRef -> VideoAnalysis (main), ShotFrame (tagged), failed Outcome (tagged)."""

    def __init__(self, config: AnalysisConfig, total: int):
        self._config = config
        self._total = total
        self._frames = Metrics.counter(NAMESPACE, "frames_decoded_analyze")
        self._cpu = Metrics.counter(NAMESPACE, "cpu_ms_analyze")
        self._reused = Metrics.counter(NAMESPACE, "videos_resumed")
        self._candidates = Metrics.counter(NAMESPACE, "candidate_clip_bytes")
        self._shots = Metrics.distribution(NAMESPACE, "shots_per_video")
        self._shared = Shared()  # one TransNetV2 per worker process, shared by its threads
        self._transnet = None

    def setup(self):
        self._progress = Progress(self._total, "analyze")
        params = self._config.shot_detector.transnet
        if params is not None:
            self._transnet = self._shared.acquire(lambda: load_model(params.device))

    def _shot_detector(self) -> ShotDetector | TransNetDetector:
        """A new shot detector for one video's pass."""
        if self._transnet is not None:
            return TransNetDetector(self._transnet, self._config.shot_detector.transnet)
        return ShotDetector(self._config.shot_params)

    def process(self, ref: VideoRef):
        name = result_name(ref, source_identity(ref.uri))
        meta_path, _ = result_paths(self._config.work_folder, name)
        if is_committed(meta_path):
            yield from self._replay(ref, meta_path)
            return
        start = time.thread_time()
        writer = None
        try:
            writer = ResultWriter(self._config.work_folder, name)
            yield from self._analyze(ref, writer)
        except VideoError as exc:
            if writer is not None:
                writer.abort()
            self._progress.video_done(ref.video_id, 0, f"failed ({exc.reason})")
            yield beam.pvalue.TaggedOutput(Tag.FAILED, Outcome(
                ref.video_id, ref.uri, Status.FAILED, Stage.DECODE, exc.reason, exc.message))
        except Exception as exc:
            if writer is not None:
                writer.abort()
            logging.exception("analysis failed for %s", ref.video_id)
            self._progress.video_done(ref.video_id, 0, "failed (error)")
            yield beam.pvalue.TaggedOutput(Tag.FAILED, Outcome(
                ref.video_id, ref.uri, Status.FAILED, Stage.DECODE, Reason.ERROR,
                f"{type(exc).__name__}: {exc}"))
        finally:
            self._cpu.inc(round((time.thread_time() - start) * 1000))

    def _replay(self, ref: VideoRef, meta_path: str):
        self._reused.inc()
        for item in read_result(meta_path):
            if isinstance(item, ShotFrame):
                yield beam.pvalue.TaggedOutput(Tag.SHOT_FRAMES, item)
            else:
                self._progress.video_done(ref.video_id, 0, "re-used (committed earlier)")
                yield item

    def _analyze(self, ref: VideoRef, writer: ResultWriter):
        cfg = self._config
        clip_cfg = cfg.clips
        fps = clip_cfg.frames_per_clip / clip_cfg.clip_seconds
        with open_video(ref.uri, cfg.limits) as video:
            fingerprinter = (Fingerprinter(ref.video_id, cfg.fingerprint_fps, cfg.fingerprint_kind,
                                           uri=ref.uri, variants=cfg.crop_variants)
                             if cfg.fingerprint_fps else None)
            detector = self._shot_detector()
            sampler = (ShotFrameSampler(detector, ref.video_id, cfg.frame_positions)
                       if cfg.frame_positions else None)
            cutter = ClipCutter(detector, video.frame_period, clip_cfg.clip_seconds,
                                clip_cfg.stride, clip_cfg.frames_per_clip, clip_cfg.short_side,
                                clip_cfg.jpeg_quality)
            thumbnailer = Thumbnailer(cfg.fingerprint_fps or THUMB_FPS)
            consumers = [c for c in (fingerprinter, detector, sampler, cutter, thumbnailer)
                         if c is not None]

            def collect():
                for frame in sampler.drain() if sampler else ():
                    writer.add_frame(frame)
                    yield beam.pvalue.TaggedOutput(Tag.SHOT_FRAMES, frame)
                for clip in cutter.drain():
                    writer.add_clip(clip.spec.shot_index, candidate_example(ref, clip, fps))

            for _ in dispatch(video, consumers, PREFETCH):
                yield from collect()
            stats = video.stats
            shots = tuple(detector.result(stats))
            if sampler:
                sampler.finish(stats)
            cutter.finish(stats.first_time + stats.duration)
            yield from collect()
            for time_, jpeg in thumbnailer.thumbs:
                writer.add_thumbnail(time_, jpeg)
        fingerprint = fingerprinter.result(stats) if fingerprinter else None
        analysis = VideoAnalysis(ref, stats.duration, stats.frames_decoded, stats.width,
                                 stats.height, stats.size_bytes, fingerprint, shots,
                                 decode_errors=stats.decode_errors,
                                 clips_path=writer.clips_path, clips=writer.clips,
                                 clip_bytes=writer.clip_bytes)
        writer.commit(analysis)
        self._cpu.inc(round(stats.decoder_cpu_seconds * 1000))
        self._frames.inc(stats.frames_decoded)
        self._candidates.inc(writer.clip_bytes)
        self._shots.update(len(shots))
        errors = f", {stats.decode_errors} decode errors" if stats.decode_errors else ""
        self._progress.video_done(ref.video_id, 0, f"analyzed ({stats.frames_decoded} frames, "
                                  f"{len(shots)} shots, {writer.clips} candidate clips{errors})")
        yield analysis


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
