"""The run report: where every input video ended, added up, and every other figure of
``report.json``, assembled here and nowhere else. Plain functions, no Beam (its files through
Beam's FileSystems, local or gs://)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from transforms.output.config import TFRECORD, WEBDATASET
from transforms.output.records import SCHEMA_VERSION
from transforms.output.shards import index_path, is_tar
from transforms.types import Outcome, ShardInfo, Status


@dataclass
class Tally:
    """Running sums over outcomes, mergeable (it is the accumulator of a Beam CombineFn)."""

    videos: int = 0
    clips: int = 0
    input_bytes: int = 0
    input_seconds: float = 0.0
    by_status: Counter | None = None
    by_stage: Counter | None = None
    by_reason: Counter | None = None
    by_reference: Counter | None = None
    frames: int = 0
    decode_errors: int = 0
    damaged_videos: int = 0

    def __post_init__(self):
        self.by_status = self.by_status or Counter()
        self.by_stage = self.by_stage or Counter()
        self.by_reason = self.by_reason or Counter()
        self.by_reference = self.by_reference or Counter()

    def add(self, outcome: Outcome) -> Tally:
        self.videos += 1
        self.clips += outcome.clips
        self.input_bytes += outcome.size_bytes
        self.input_seconds += outcome.duration
        self.frames += outcome.frames
        self.decode_errors += outcome.decode_errors
        self.damaged_videos += outcome.decode_errors > 0
        self.by_status[outcome.status] += 1
        if outcome.status != Status.KEPT:
            self.by_stage[(outcome.stage, outcome.status)] += 1
            self.by_reason[(outcome.status, outcome.reason)] += 1
        ref_set = outcome.evidence.get("set") if outcome.evidence else None
        if ref_set:
            self.by_reference[ref_set] += 1
        return self

    def merge(self, other: Tally) -> Tally:
        self.videos += other.videos
        self.clips += other.clips
        self.input_bytes += other.input_bytes
        self.input_seconds += other.input_seconds
        self.frames += other.frames
        self.decode_errors += other.decode_errors
        self.damaged_videos += other.damaged_videos
        for mine, theirs in ((self.by_status, other.by_status), (self.by_stage, other.by_stage),
                             (self.by_reason, other.by_reason),
                             (self.by_reference, other.by_reference)):
            mine.update(theirs)
        return self


def tally(outcomes: Iterable[Outcome]) -> Tally:
    """Sum a collection of outcomes."""
    total = Tally()
    for outcome in outcomes:
        total.add(outcome)
    return total


def funnel(t: Tally, stages: Sequence[str]) -> list[dict]:
    """Videos remaining after each stage, in pipeline order, with what each stage removed."""
    rows = [{"stage": "input", "remaining": t.videos}]
    remaining = t.videos
    for stage in stages:
        failed = t.by_stage.get((stage, Status.FAILED), 0)
        dropped = t.by_stage.get((stage, Status.DROPPED), 0)
        remaining -= failed + dropped
        rows.append({"stage": stage, "failed": failed, "dropped": dropped,
                     "remaining": remaining})
    return rows


def build_report(t: Tally, stages: Sequence[str], shards: Sequence[ShardInfo],
                 elapsed_seconds: float, settings: dict) -> dict:
    """The ``report.json`` document."""
    shard_rows = sorted(({"path": s.path, "records": s.records, "bytes": s.size_bytes}
                         for s in shards), key=lambda r: r["path"])
    reasons: dict[str, dict[str, int]] = {}
    for (status, reason), n in sorted(t.by_reason.items()):
        reasons.setdefault(status, {})[reason or "unspecified"] = n
    return {
        "videos": {"input": t.videos, **{str(s): t.by_status.get(s, 0) for s in Status}},
        "reasons": reasons,
        "reference_removals": dict(sorted(t.by_reference.items())),
        "funnel": funnel(t, stages),
        "clips": t.clips,
        "bytes": {"input": t.input_bytes, "output": sum(s.size_bytes for s in shards)},
        "input_video_seconds": round(t.input_seconds, 3),
        "input_frames": t.frames,
        "decode_errors": {"videos": t.damaged_videos, "packets": t.decode_errors},
        "shards": shard_rows,
        "elapsed_seconds": round(elapsed_seconds, 3),
        "settings": settings,
    }


# HACS (Zhao et al., ICCV 2019, Sec. 3.1) kept 49.7% of its shots after the person filter.
HACS_SHARE_KEPT = 0.497


def add_shot_counts(counts: Iterable[tuple[int, int]]) -> tuple[int, int]:
    """Sum ``(shots, kept)`` pairs, one per video that reached the person filter (a
    combiner: partial sums come back in as pairs)."""
    total = kept = 0
    for shots, kept_shots in counts:
        total += shots
        kept += kept_shots
    return total, kept


def shot_totals(counts: tuple[int, int]) -> dict:
    """report.json's ``shots``: shots of the videos that reached the person filter and how
    many it kept (``counts``: :func:`add_shot_counts` over the videos), against HACS."""
    total, kept = counts
    return {"shots": {"total": total, "kept": kept,
                      "share_kept": round(kept / total, 4) if total else 0.0,
                      "hacs_share_kept": HACS_SHARE_KEPT}}


def stage_costs(counters: dict[str, int], report: dict) -> dict:
    """What each stage cost, from the job's counters (Beam Metrics of namespace ``hacs``):
    CPU seconds and frames decoded per stage, and the bytes of candidate clips the analysis
    pass wrote per byte of input video. ``frames_decoded`` equal to ``input_frames`` means
    each video was decoded once."""
    def seconds(name: str) -> float:
        return round(counters.get(name, 0) / 1000.0, 3)

    candidates = counters.get("candidate_clip_bytes", 0)
    input_bytes = report["bytes"]["input"]
    return {
        "stages": {
            "analyze": {"cpu_seconds": seconds("cpu_ms_analyze"),
                        "frames_decoded": counters.get("frames_decoded_analyze", 0),
                        "videos_resumed": counters.get("videos_resumed", 0)},
            "persons": {"frames_scored": counters.get("frames_scored", 0)},
            "clips": {"cpu_seconds": seconds("cpu_ms_clips"), "frames_decoded": 0,
                      "clips_written": counters.get("clips_written", 0)},
        },
        "frames_decoded": counters.get("frames_decoded_analyze", 0),
        "candidate_clips": {"bytes": candidates,
                            "bytes_per_input_byte": round(candidates / input_bytes, 4)
                            if input_bytes else 0.0},
    }


def complete_report(path: str, counters: dict[str, int], run_id: str) -> dict:
    """Add what is known only once the job has finished to the run's ``report.json`` at
    ``path`` (written by the job): the stage costs from the job's ``counters`` and the run
    id; rewrite it and return it."""
    from apache_beam.io.filesystems import FileSystems

    from transforms.output.layout import write_json_atomically

    with FileSystems.open(path) as f:
        report = json.loads(f.read().decode("utf-8"))
    report.update(stage_costs(counters, report))
    report["run"] = run_id
    write_json_atomically(path, report)
    return report


def summary_text(report: dict) -> str:
    """A short human summary of a report, for the end of a run."""
    v = report["videos"]
    lines = [f"videos: {v['input']} in -> {v[Status.KEPT]} kept, {v[Status.DROPPED]} dropped, "
             f"{v[Status.FAILED]} failed",
             f"clips:  {report['clips']} in {len(report['shards'])} shards "
             f"({report['bytes']['output'] / 1e6:.1f} MB from "
             f"{report['bytes']['input'] / 1e6:.1f} MB of video)"]
    for status in (Status.DROPPED, Status.FAILED):
        for reason, n in report["reasons"].get(status, {}).items():
            lines.append(f"  {status:7s} {reason}: {n}")
    for name, n in report["reference_removals"].items():
        lines.append(f"  removed as in reference set {name}: {n}")
    lines.append("funnel: " + " -> ".join(f"{r['stage']} {r['remaining']}"
                                          for r in report["funnel"]))
    lines.append(f"elapsed: {report['elapsed_seconds']:.1f} s")
    return "\n".join(lines)


def dataset_manifest(shards: list[ShardInfo], labels: list[str], settings: dict,
                     fingerprints: str | None = None) -> dict:
    """The small ``dataset.json`` that training code and tools read first; ``fingerprints``
    is the glob of the kept videos' fingerprint index (None: the run made no fingerprints)."""
    rows = sorted(shards, key=lambda s: s.path)
    return {
        "schema_version": SCHEMA_VERSION,
        "record_format": "tf.train.Example (see README: Clip record schema)",
        "shard_format": WEBDATASET if rows and all(is_tar(s.path) for s in rows) else TFRECORD,
        "labels": labels,
        "num_records": sum(s.records for s in rows),
        "shards": [{"path": s.path, "index": index_path(s.path), "records": s.records,
                    "bytes": s.size_bytes} for s in rows],
        "clip_settings": settings,
        "fingerprints": fingerprints,
    }
