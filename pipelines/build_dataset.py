"""Build a HACS-style clip dataset: videos in, sharded TFRecord clips and a run report out.

    python -m pipelines.build_dataset --input videos.csv --output out/run1
    python -m pipelines.build_dataset --input 'gs://bucket/videos/*.mp4' --output gs://b/out \
        --runner DataflowRunner --project P --region R --temp_location gs://b/tmp \
        --setup_file ./setup.py

Every Beam option passes through to the runner. The manifest is read and checked before the
job starts; every input video ends in ``videos.jsonl`` as kept, dropped or failed.
"""

from __future__ import annotations

import json
import logging
import sys
import time

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, SetupOptions

from models.detectors import DetectorUnavailable
from transforms.analyze.stage import SHOT_FRAMES, AnalysisConfig, AnalyzeVideos
from transforms.clips import sampler as clips
from transforms.clips.stage import OUTCOMES, ClipConfig, ClipJob, SampleClips
from transforms.dedup.stage import (
    DROPPED_TAG,
    KEPT_TAG,
    add_dedup_arguments,
    dedup_from_options,
    parse_reference,
)
from transforms.inputs.manifest import ManifestError, load_inputs, ref_from_json, write_inputs
from transforms.output.report import summary_text
from transforms.output.run_report import WriteRunReport
from transforms.output.write_shards import WriteClipShards
from transforms.persons.stage import (
    NO_PERSON,
    ScorePersons,
    SelectPersonShots,
    add_shot_person_arguments,
    detector_from_options,
    frame_positions_from_options,
    shot_params_from_options,
)
from transforms.routing import (
    FRAMES,
    KEPT_SHOTS,
    SHOTS,
    FillVideoStats,
    MakeClipJobs,
    RouteSurvivors,
    by_id,
)
from transforms.types import FAILED

STAGES = ("decode", "dedup", "persons", "clips")


class BuildDatasetOptions(PipelineOptions):
    """Options of the dataset job; defaults follow the HACS paper where it gives one."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--input", help="Manifest (.csv or .jsonl with video_id, uri and "
                            "optional label, subset) or a glob / directory of videos, local "
                            "or gs://. Required.")
        parser.add_argument("--output", help="Output directory, local or gs://: shards, "
                            "videos.jsonl, report.json, dataset.json. Required.")
        parser.add_argument("--clip_seconds", type=float, default=clips.CLIP_SECONDS,
                            help="Clip length in seconds (HACS Clips: 2-second clips).")
        parser.add_argument("--clip_stride", type=float, default=clips.CLIP_STRIDE,
                            help="Seconds between clip starts (default = clip length: "
                            "consecutive, non-overlapping clips).")
        parser.add_argument("--frames_per_clip", type=int, default=clips.FRAMES_PER_CLIP,
                            help="Frames stored per clip, evenly spaced (16 over 2 s = 8 fps).")
        parser.add_argument("--short_side", type=int, default=clips.SHORT_SIDE,
                            help="Stored frames are downscaled so the short side is this many "
                            "pixels (128: the C3D/R(2+1)D input convention; never upscaled).")
        parser.add_argument("--jpeg_quality", type=int, default=clips.JPEG_QUALITY,
                            help="JPEG quality of stored frames (0-100).")
        parser.add_argument("--num_shards", type=int, default=8,
                            help="Number of TFRecord shards (fixed, so names are "
                            "deterministic; aim for 100-200 MB per shard at scale).")
        parser.add_argument("--skip_dedup", action="store_true",
                            help="Do not fingerprint or remove near-duplicates (HACS step 1).")
        parser.add_argument("--skip_person_filter", action="store_true",
                            help="Do not segment shots or score people (HACS step 2): clips "
                            "are cut from whole videos.")
        add_dedup_arguments(parser)
        add_shot_person_arguments(parser)


def _settings(opts: BuildDatasetOptions) -> dict:
    out = {"clip_seconds": opts.clip_seconds, "clip_stride": opts.clip_stride,
           "frames_per_clip": opts.frames_per_clip, "short_side": opts.short_side,
           "jpeg_quality": opts.jpeg_quality, "num_shards": opts.num_shards,
           "dedup": not opts.skip_dedup, "person_filter": not opts.skip_person_filter}
    if not opts.skip_dedup:
        out.update(references=list(opts.reference or ()), dedup_fps=opts.dedup_fps,
                   dedup_hash=opts.dedup_hash, dedup_distance=opts.dedup_distance,
                   dedup_contain=opts.dedup_contain, dedup_overlap=opts.dedup_overlap,
                   dedup_crop_variants=opts.dedup_crop_variants)
    if not opts.skip_person_filter:
        out.update(detector=opts.detector, person_threshold=opts.person_threshold,
                   person_frame_positions=opts.person_frame_positions,
                   shot_threshold=opts.shot_threshold, shot_distance=opts.shot_distance)
    return out


def _shot_totals(lines) -> dict:
    total = kept = 0
    for line in lines:
        row = json.loads(line)
        total += row["shots"]
        kept += len(row["kept"])
    return {"shots": {"total": total, "kept": kept,
                      "share_kept": round(kept / total, 4) if total else 0.0,
                      "hacs_share_kept": 0.497}}


def build(p: beam.Pipeline, opts: BuildDatasetOptions, refs, start_time: float,
          detector=None) -> None:
    """Wire the dataset job onto ``p`` for the already-validated input videos ``refs``.

    Stages: one decode pass per video (fingerprints, shots, frames to score), near-duplicate
    removal (internal, then reference sets in order), person scoring per shot, then a clip
    pass over the kept shots of the surviving videos. ``detector`` is the loaded person
    detector (required unless ``--skip_person_filter``).
    """
    labels = sorted({r.label for r in refs if r.label})
    label_ids = {name: i for i, name in enumerate(labels)}
    config = ClipConfig(opts.clip_seconds, opts.clip_stride, opts.frames_per_clip,
                        opts.short_side, opts.jpeg_quality)
    # The validated list is written next to the outputs and read back as a file: a job graph
    # that embeds millions of inputs (beam.Create) is too large for Dataflow to accept.
    inputs = FileSystems.join(opts.output, "inputs.jsonl")
    write_inputs(inputs, refs)
    videos = (p
              | "ReadInputs" >> beam.io.ReadFromText(inputs)
              | "ParseInputs" >> beam.Map(ref_from_json))
    outcomes, extras = [], []
    if opts.skip_dedup and opts.skip_person_filter:
        jobs = videos | "WholeVideos" >> beam.Map(ClipJob)
    else:
        analysis = videos | "AnalyzeVideos" >> AnalyzeVideos(AnalysisConfig(
            fingerprint_fps=None if opts.skip_dedup else opts.dedup_fps,
            fingerprint_kind=opts.dedup_hash,
            crop_variants=opts.dedup_crop_variants == "on",
            shot_params=None if opts.skip_person_filter else shot_params_from_options(opts),
            frame_positions=frame_positions_from_options(opts)), total=len(refs))
        outcomes.append(analysis[FAILED])
        analyses = by_id("KeyAnalyses", analysis.analyses, key=lambda a: a.ref.video_id)
        if opts.skip_dedup:
            survivors = analyses
        else:
            dedup = (analysis.analyses
                     | "Fingerprints" >> beam.Map(lambda a: a.fingerprint)
                     | "DropNearDuplicates" >> dedup_from_options(opts))
            outcomes.append(dedup[DROPPED_TAG]
                            | "DedupVideoStats" >> FillVideoStats(analyses))
            survivors = by_id("KeySurvivors", dedup[KEPT_TAG])
        if opts.skip_person_filter:
            jobs = ({"analysis": analyses, "kept": survivors}
                    | "JoinSurvivors" >> beam.CoGroupByKey()
                    | "WholeSurvivors" >> beam.FlatMap(
                        lambda kv: [ClipJob(kv[1]["analysis"][0].ref)] if kv[1]["kept"]
                        else []))
        else:
            routed = ({"analyses": analyses, "kept": survivors,
                       "frames": analysis[SHOT_FRAMES]}
                      | "RouteSurvivors" >> RouteSurvivors())
            scores = routed[FRAMES] | "ScorePersons" >> ScorePersons(detector)
            selected = ({"shots": routed[SHOTS], "scores": scores}
                        | "SelectPersonShots" >> SelectPersonShots(opts.person_threshold))
            made = ({"analyses": routed.analyses, "kept": selected.kept,
                     "no_person": selected[NO_PERSON]}
                    | "MakeClipJobs" >> MakeClipJobs())
            jobs = made.jobs
            outcomes.append(made[OUTCOMES])
            lines = made[KEPT_SHOTS]
            _ = lines | "WriteKeptShots" >> beam.io.WriteToText(
                FileSystems.join(opts.output, "kept_shots"), file_name_suffix=".jsonl",
                num_shards=1, shard_name_template="")
            extras.append(lines
                          | "CollectKeptShots" >> beam.combiners.ToList()
                          | "ShotTotals" >> beam.Map(_shot_totals))
    sampled = jobs | "SampleClips" >> SampleClips(config, label_ids, total=len(refs))
    outcomes.append(sampled[OUTCOMES])
    shards = sampled["records"] | "WriteClipShards" >> WriteClipShards(opts.output,
                                                                       opts.num_shards)
    report_inputs = {"outcomes": tuple(outcomes) | "AllOutcomes" >> beam.Flatten(),
                     "shards": shards}
    if extras:
        report_inputs["extras"] = tuple(extras) | "AllExtras" >> beam.Flatten()
    _ = report_inputs | "WriteRunReport" >> WriteRunReport(opts.output, STAGES, labels,
                                                           _settings(opts), start_time)


class UsageError(ValueError):
    """Options that cannot work; reported before the job starts."""


def _check(opts: BuildDatasetOptions) -> list:
    if not opts.input or not opts.output:
        raise UsageError("both --input and --output are required")
    if not 0 < opts.clip_seconds or not 0 < opts.clip_stride or opts.frames_per_clip < 1:
        raise UsageError("--clip_seconds, --clip_stride and --frames_per_clip must be > 0")
    for spec in opts.reference or ():
        try:
            _, path = parse_reference(spec)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        if not FileSystems.match([path if "*" in path else path.rstrip("/") + "/*"]
                                 )[0].metadata_list:
            raise UsageError(f"--reference {spec}: no fingerprint index files at {path} "
                             "(build one with python -m pipelines.build_reference_index)")
    return load_inputs(opts.input)


def run(argv=None, save_main_session=True, test_pipeline=None) -> dict | None:
    """Run the job; return the report (when the runner finished it), else None."""
    start = time.time()
    options = PipelineOptions(argv)
    options.view_as(SetupOptions).save_main_session = save_main_session
    opts = options.view_as(BuildDatasetOptions)
    refs = _check(opts)
    detector = None if opts.skip_person_filter else detector_from_options(opts)
    sys.stderr.write(f"[hacs-pipeline] {len(refs)} input videos -> {opts.output}\n")
    p = test_pipeline or beam.Pipeline(options=options)
    build(p, opts, refs, start, detector)
    result = p.run()
    result.wait_until_finish()
    report_path = FileSystems.join(opts.output, "report.json")
    if not FileSystems.exists(report_path):
        return None
    with FileSystems.open(report_path) as f:
        report = json.loads(f.read().decode("utf-8"))
    sys.stderr.write(summary_text(report) + "\n")
    sys.stderr.write(f"report: {report_path}\nper video: "
                     f"{FileSystems.join(opts.output, 'videos.jsonl')}\n")
    return report


def print_help() -> None:
    """The job's own options (Beam's runner options pass through; see Beam's docs)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m pipelines.build_dataset", description=__doc__.split("\n\n")[0],
        epilog="Any Beam pipeline option (--runner, --project, --temp_location, "
               "--direct_num_workers, ...) passes through to the runner.")
    BuildDatasetOptions._add_argparse_args(parser)
    parser.print_help()


def main() -> None:
    logging.getLogger().setLevel(logging.WARNING)
    if {"-h", "--help"} & set(sys.argv[1:]):
        print_help()
        return
    try:
        run()
    except (ManifestError, UsageError, DetectorUnavailable) as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
