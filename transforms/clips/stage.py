"""Beam stage: decode each video once and cut its clips into serialized records."""

from __future__ import annotations

import logging

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.analyze.decode import PREFETCH, VideoError, open_video
from transforms.clips.config import ClipConfig
from transforms.clips.sampler import ClipSampler, SampledClip
from transforms.output.records import UNKNOWN_LABEL_ID, ClipRecord, make_clip_id, to_example
from transforms.progress import Progress
from transforms.types import WHOLE_VIDEO, ClipJob, DecodedFacts, Outcome, Reason, Stage, Status, Tag


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
        self._progress = Progress(self._total, Stage.CLIPS)

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
            outcome = Outcome(ref.video_id, ref.uri, Status.FAILED, Stage.DECODE, exc.reason,
                              exc.message)
        except Exception as exc:  # a bad video must never kill the run
            logging.exception("clip sampling failed for %s", ref.video_id)
            outcome = Outcome(ref.video_id, ref.uri, Status.FAILED, Stage.CLIPS, Reason.ERROR,
                              f"{type(exc).__name__}: {exc}"
                              + (f" (after {count} clips were written)" if count else ""),
                              clips=count)
        else:
            if stats is not None:
                self._frames.inc(stats.frames_decoded)
                facts = DecodedFacts(stats.duration, stats.frames_decoded, stats.size_bytes)
            else:
                facts = job.decoded
            if count:
                outcome = Outcome(ref.video_id, ref.uri, Status.KEPT, Stage.CLIPS, clips=count)
            else:
                outcome = Outcome(ref.video_id, ref.uri, Status.DROPPED, Stage.CLIPS,
                                  Reason.TOO_SHORT,
                                  f"no {cfg.clip_seconds:g} s clip fits in "
                                  f"{facts.duration:.2f} s of decoded video"
                                  + ("" if job.ranges == WHOLE_VIDEO else " within kept shots"))
            outcome = outcome.with_facts(facts)
        self._clips.inc(count)
        self._progress.video_done(ref.video_id, count, outcome.status
                                  if outcome.status == Status.KEPT else
                                  f"{outcome.status} ({outcome.reason})")
        yield beam.pvalue.TaggedOutput(Tag.OUTCOMES, outcome)


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
                   | "DecodeAndCut" >> beam.ParDo(self._fn).with_outputs(Tag.OUTCOMES,
                                                                         main=Tag.RECORDS))
        return {Tag.RECORDS: results.records, Tag.OUTCOMES: results[Tag.OUTCOMES]}
