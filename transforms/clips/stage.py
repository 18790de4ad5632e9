"""Beam stage: keep the clips of the kept shots, from the candidate clips the analysis pass
made while it decoded the video (no second decode).

Each video's candidate clips are read back from its result file, in order; those of kept
shots get their label and person score (``kept.kept_record``) and leave as small references
(``ClipRef``: where the candidate is, what is set on it, the kept record's CRC-32 and first
bytes), the others are discarded. The shard writer makes each record again from its
reference, so no record's bytes cross a shuffle. Memory is flat in the number of clips.
"""

from __future__ import annotations

import logging
import time

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.analyze.results import iter_candidates
from transforms.clips.config import ClipConfig
from transforms.clips.kept import clip_ref, kept_record
from transforms.clips.sampler import clips_outcome
from transforms.output.records import UNKNOWN_LABEL_ID
from transforms.progress import NAMESPACE, Progress
from transforms.types import ClipJob, Outcome, Reason, Stage, Status, Tag


class _KeepClipsFn(beam.DoFn):
    """ClipJob -> ClipRef of each kept clip (main output) and one Outcome per video."""

    def __init__(self, config: ClipConfig, label_ids: dict[str, int], total: int):
        self._config = config
        self._label_ids = label_ids
        self._total = total
        self._clips = Metrics.counter(NAMESPACE, "clips_written")
        self._cpu = Metrics.counter(NAMESPACE, "cpu_ms_clips")

    def setup(self):
        self._progress = Progress(self._total, Stage.CLIPS)

    def process(self, job: ClipJob):
        start = time.thread_time()
        ref = job.ref
        scores = {r.shot_index: r.person_score for r in job.ranges}
        label_id = self._label_ids.get(ref.label, UNKNOWN_LABEL_ID)
        count = 0
        try:
            for offset, shot_index, candidate in iter_candidates(job.clips_path):
                if shot_index in scores:
                    count += 1
                    record = kept_record(candidate, label_id, ref.label, ref.subset,
                                         scores[shot_index])
                    yield clip_ref(job.clips_path, offset, record, label_id, ref.label,
                                   ref.subset, scores[shot_index])
        except Exception as exc:
            logging.exception("writing the clips of %s failed", ref.video_id)
            outcome = Outcome(ref.video_id, ref.uri, Status.FAILED, Stage.CLIPS, Reason.ERROR,
                              f"{type(exc).__name__}: {exc}"
                              + (f" (after {count} clips were written)" if count else ""),
                              clips=count)
        else:
            outcome = clips_outcome(ref, count, len(scores), job.facts.duration,
                                    self._config.clip_seconds)
        outcome = outcome.with_facts(job.facts)
        self._clips.inc(count)
        self._cpu.inc(round((time.thread_time() - start) * 1000))
        self._progress.video_done(ref.video_id, count, outcome.status
                                  if outcome.status == Status.KEPT else
                                  f"{outcome.status} ({outcome.reason})")
        yield beam.pvalue.TaggedOutput(Tag.OUTCOMES, outcome)


class KeepClips(beam.PTransform):
    """PCollection[ClipJob] -> {"records": ClipRef, "outcomes": Outcome}: the candidate
    clips of each job's kept shots, labelled and scored, by reference; one Outcome per video
    (kept with its clip count, or dropped ``too_short`` when no clip fits a kept shot)."""

    def __init__(self, config: ClipConfig, label_ids: dict[str, int], total: int):
        super().__init__()
        self._fn = _KeepClipsFn(config, label_ids, total)

    def expand(self, jobs):
        results = (jobs
                   | "Reshuffle" >> beam.Reshuffle()
                   | "KeepShotClips" >> beam.ParDo(self._fn).with_outputs(Tag.OUTCOMES,
                                                                          main=Tag.RECORDS))
        return {Tag.RECORDS: results.records, Tag.OUTCOMES: results[Tag.OUTCOMES]}
