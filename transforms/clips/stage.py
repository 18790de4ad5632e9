"""Beam stage: decode each video once and cut its clips into serialized records."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.analyze.decode import PREFETCH, VideoError, open_video
from transforms.clips.sampler import (
    CLIP_SECONDS,
    CLIP_STRIDE,
    FRAMES_PER_CLIP,
    JPEG_QUALITY,
    SHORT_SIDE,
    WHOLE_VIDEO,
    ClipSampler,
    SampledClip,
)
from transforms.output.records import UNKNOWN_LABEL_ID, ClipRecord, make_clip_id, to_example
from transforms.progress import Progress
from transforms.types import DROPPED, FAILED, KEPT, Outcome, TimeRange, VideoRef

OUTCOMES = "outcomes"
STAGE = "clips"


@dataclass(frozen=True)
class ClipConfig:
    """How clips are cut: seconds, stride, frames per clip, output short side, JPEG quality."""

    clip_seconds: float = CLIP_SECONDS
    stride: float = CLIP_STRIDE
    frames_per_clip: int = FRAMES_PER_CLIP
    short_side: int = SHORT_SIDE
    jpeg_quality: int = JPEG_QUALITY


@dataclass(frozen=True)
class ClipJob:
    """A video to cut clips from, and the time ranges clips must lie in. ``decoded`` holds
    (duration s, frames, bytes) when an earlier pass already decoded the whole video: the
    clip pass may then stop once its last clip is cut."""

    ref: VideoRef
    ranges: tuple[TimeRange, ...] = WHOLE_VIDEO
    decoded: tuple[float, int, int] | None = None


def _record(job: ClipJob, clip: SampledClip, label_ids: dict[str, int], fps: float) -> bytes:
    ref, spec = job.ref, clip.spec
    return to_example(ClipRecord(
        video_id=ref.video_id, clip_id=make_clip_id(ref.video_id, spec.start, spec.end),
        source_uri=ref.uri, start=spec.start, end=spec.end, fps=fps,
        height=clip.height, width=clip.width, frames=clip.frames, timestamps=clip.timestamps,
        label_id=label_ids.get(ref.label, UNKNOWN_LABEL_ID), label_name=ref.label,
        subset=ref.subset, shot_index=spec.shot_index, person_score=spec.person_score))


class _SampleClipsFn(beam.DoFn):
    """ClipJob -> serialized clip records (main output) and one Outcome per video."""

    def __init__(self, config: ClipConfig, label_ids: dict[str, int], total: int):
        self._config = config
        self._label_ids = label_ids
        self._total = total
        self._clips = Metrics.counter("hacs", "clips_written")
        self._frames = Metrics.counter("hacs", "frames_decoded")

    def setup(self):
        self._progress = Progress(self._total, STAGE)

    def process(self, job: ClipJob):
        cfg, ref = self._config, job.ref
        fps = cfg.frames_per_clip / cfg.clip_seconds
        count = 0
        try:
            with open_video(ref.uri) as video:
                sampler = ClipSampler(job.ranges, video.frame_period, cfg.clip_seconds,
                                      cfg.stride, cfg.frames_per_clip, cfg.short_side,
                                      cfg.jpeg_quality)
                frames = video.frames(sampler.wants, prefetch=PREFETCH)
                try:
                    for index, t, image in frames:
                        sampler.add(index, t, image)
                        for clip in sampler.drain():
                            count += 1
                            yield _record(job, clip, self._label_ids, fps)
                        if sampler.done and job.decoded is not None:
                            break  # the tail after the last kept shot is not decoded
                finally:
                    frames.close()
                stats = video.stats
        except VideoError as exc:
            outcome = Outcome(ref.video_id, ref.uri, FAILED, "decode", exc.reason, exc.message)
        except Exception as exc:  # noqa: BLE001 - a bad video must never kill the run
            logging.exception("clip sampling failed for %s", ref.video_id)
            outcome = Outcome(ref.video_id, ref.uri, FAILED, STAGE, "error",
                              f"{type(exc).__name__}: {exc}"
                              + (f" (after {count} clips were written)" if count else ""),
                              clips=count)
        else:
            if stats is not None:
                self._frames.inc(stats.frames_decoded)
                decoded = (stats.duration, stats.frames_decoded, stats.size_bytes)
            else:
                decoded = job.decoded
            common = dict(duration=decoded[0], frames=decoded[1], size_bytes=decoded[2])
            if count:
                outcome = Outcome(ref.video_id, ref.uri, KEPT, STAGE, clips=count, **common)
            else:
                outcome = Outcome(ref.video_id, ref.uri, DROPPED, STAGE, "too_short",
                                  f"no {cfg.clip_seconds:g} s clip fits in "
                                  f"{decoded[0]:.2f} s of decoded video"
                                  + ("" if job.ranges == WHOLE_VIDEO else " within kept shots"),
                                  **common)
        self._clips.inc(count)
        self._progress.video_done(ref.video_id, count, outcome.status
                                  if outcome.status == KEPT else
                                  f"{outcome.status} ({outcome.reason})")
        yield beam.pvalue.TaggedOutput(OUTCOMES, outcome)


class SampleClips(beam.PTransform):
    """PCollection[ClipJob] -> {"records": serialized tf.train.Example, "outcomes": Outcome}.

    Each video is decoded once, front to back; clip records stream out while it decodes.
    """

    def __init__(self, config: ClipConfig, label_ids: dict[str, int], total: int):
        super().__init__()
        self._fn = _SampleClipsFn(config, label_ids, total)

    def expand(self, jobs):
        results = (jobs
                   | "Reshuffle" >> beam.Reshuffle()
                   | "DecodeAndCut" >> beam.ParDo(self._fn).with_outputs(OUTCOMES,
                                                                         main="records"))
        return {"records": results.records, OUTCOMES: results[OUTCOMES]}
