"""Beam stage: the one decode pass per video, feeding every stage's part at once.

While a video streams through the decoder a single time, the parts the job gives it
(``transforms.analyze.part.AnalysisPart``; this module imports none of them) compute, in the
default job, its fingerprint (for de-duplication), its shots, the frames to score for people,
a candidate clip for every 2-second span of every shot and the report's thumbnails.
Candidate clips, shot frames and thumbnails are written to
the video's result files as they are made (``transforms.analyze.results``), so memory is flat
in the video's length; what leaves this stage is small: the analysis (hashes, shot spans,
where the results are). Later stages read frames and clips from those files.

A video whose results were committed by an earlier, interrupted or identical run (same input
file, same settings) is not decoded again: its results are read back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils.shared import Shared

from transforms.analyze.config import LimitsConfig
from transforms.analyze.decode import PREFETCH, VideoError, dispatch, open_video
from transforms.analyze.part import AnalysisPart, VideoPass
from transforms.analyze.results import (
    ResultWriter,
    is_committed,
    read_result,
    result_name,
    result_paths,
    source_identity,
)
from transforms.progress import NAMESPACE, Progress
from transforms.threads import one_blas_thread
from transforms.types import (
    Outcome,
    Reason,
    Stage,
    Status,
    Tag,
    VideoAnalysis,
    VideoRef,
)


class _AnalyzeFn(beam.DoFn):
    """VideoRef -> VideoAnalysis (main) and failed Outcome (tagged)."""

    def __init__(self, parts: Sequence[AnalysisPart], work_folder: str, limits: LimitsConfig,
                 total: int):
        self._parts = tuple(parts)
        self._work_folder = work_folder
        self._limits = limits
        self._total = total
        self._frames = Metrics.counter(NAMESPACE, "frames_decoded_analyze")
        self._cpu = Metrics.counter(NAMESPACE, "cpu_ms_analyze")
        self._reused = Metrics.counter(NAMESPACE, "videos_resumed")
        self._candidates = Metrics.counter(NAMESPACE, "candidate_clip_bytes")
        self._shots = Metrics.distribution(NAMESPACE, "shots_per_video")
        self._shared = Shared()  # what parts load: once per worker process, for its threads

    def setup(self):
        one_blas_thread()
        self._progress = Progress(self._total, "analyze")
        for part in self._parts:
            part.setup(lambda load, tag=part.name: self._shared.acquire(load, tag=tag))

    def process(self, ref: VideoRef):
        name = result_name(ref, source_identity(ref.uri))
        meta_path, _ = result_paths(self._work_folder, name)
        if is_committed(meta_path):
            yield from self._replay(ref, meta_path)
            return
        start = time.thread_time()
        writer = None
        try:
            writer = ResultWriter(self._work_folder, name)
            yield from self._analyze(ref, writer)
        except VideoError as exc:
            if writer is not None:
                writer.abort()
            self._progress.video_done(ref.video_id, 0, f"failed ({exc.reason})")
            yield beam.pvalue.TaggedOutput(Tag.FAILED, Outcome(
                ref.video_id, ref.uri, Status.FAILED, Stage.ANALYZE, exc.reason, exc.message))
        except Exception as exc:
            if writer is not None:
                writer.abort()
            logging.exception("analysis failed for %s", ref.video_id)
            self._progress.video_done(ref.video_id, 0, "failed (error)")
            yield beam.pvalue.TaggedOutput(Tag.FAILED, Outcome(
                ref.video_id, ref.uri, Status.FAILED, Stage.ANALYZE, Reason.ERROR,
                f"{type(exc).__name__}: {exc}"))
        finally:
            self._cpu.inc(round((time.thread_time() - start) * 1000))

    def _replay(self, ref: VideoRef, meta_path: str):
        self._reused.inc()
        for item in read_result(meta_path, frames=False):
            self._progress.video_done(ref.video_id, 0, "re-used (committed earlier)")
            yield item

    def _analyze(self, ref: VideoRef, writer: ResultWriter):
        with open_video(ref.uri, self._limits) as video:
            here = VideoPass(ref, video.frame_period)
            runs = [part.start(here) for part in self._parts]
            for _ in dispatch(video, [run.consumer for run in runs], PREFETCH):
                for run in runs:
                    run.drain(writer)
            stats = video.stats
            found = {"fingerprint": None, "shots": None}
            for run in runs:
                found.update(run.finish(stats))
            for run in runs:
                run.drain(writer)
        analysis = VideoAnalysis(ref, stats.duration, stats.frames_decoded, stats.width,
                                 stats.height, stats.size_bytes, **found,
                                 decode_errors=stats.decode_errors,
                                 clips_path=writer.clips_path, clips=writer.clips,
                                 clip_bytes=writer.clip_bytes)
        writer.commit(analysis)
        shots = len(analysis.shots or ())
        self._cpu.inc(round(stats.decoder_cpu_seconds * 1000))
        self._frames.inc(stats.frames_decoded)
        self._candidates.inc(writer.clip_bytes)
        self._shots.update(shots)
        errors = f", {stats.decode_errors} decode errors" if stats.decode_errors else ""
        self._progress.video_done(ref.video_id, 0, f"analyzed ({stats.frames_decoded} frames, "
                                  f"{shots} shots, {writer.clips} candidate clips{errors})")
        yield analysis


class AnalyzeVideos(beam.PTransform):
    """PCollection[VideoRef] -> outputs ``analyses`` (VideoAnalysis) and ``failed`` (Outcome
    of unusable videos).

    ``parts`` ride the one decode pass of each video, in order (``transforms.analyze.part``);
    their results go to ``work_folder`` (``results.work_folder(root, parts)``); ``limits``
    end a video that is too long, too large or too slow to decode as failed."""

    def __init__(self, parts: Sequence[AnalysisPart], work_folder: str,
                 limits: LimitsConfig, total: int):
        super().__init__()
        self._fn = _AnalyzeFn(parts, work_folder, limits, total)

    def expand(self, refs):
        return (refs
                | "Reshuffle" >> beam.Reshuffle()
                | "DecodeOnce" >> beam.ParDo(self._fn).with_outputs(
                    Tag.FAILED, main=Tag.ANALYSES))
