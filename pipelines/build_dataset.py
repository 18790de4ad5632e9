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
import os
import sys
import time
from dataclasses import asdict, dataclass, fields, replace

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, SetupOptions

from models.detectors import (
    DetectorConfig,
    DetectorUnavailable,
    add_detector_arguments,
    detector_config_from_options,
    load_configured_detector,
)
from pipelines import cli
from pipelines.provenance import provenance
from transforms.analyze.config import (
    LimitsConfig,
    add_limit_arguments,
    limits_config_from_options,
)
from transforms.analyze.results import settings_digest
from transforms.analyze.stage import AnalysisConfig, AnalyzeVideos
from transforms.clips.config import ClipConfig, add_clip_arguments, clip_config_from_options
from transforms.clips.stage import KeepClips
from transforms.dedup.config import (
    DedupConfig,
    PreviousRun,
    add_dedup_arguments,
    dedup_config_from_options,
)
from transforms.dedup.stage import DropNearDuplicates, WriteFingerprintIndex, index_pattern
from transforms.inputs.manifest import ManifestError, load_inputs, ref_from_json, write_inputs
from transforms.output import layout
from transforms.output.config import OutputConfig, add_output_arguments, output_config_from_options
from transforms.output.report import stage_costs, summary_text
from transforms.output.report_html import collect_gallery, write_report_html
from transforms.output.stage import WriteClipShards, WriteRunReport, WriteSortedLines
from transforms.persons.config import (
    PersonConfig,
    add_person_arguments,
    person_config_from_options,
)
from transforms.persons.stage import ScorePersons, SelectPersonShots
from transforms.routing import (
    FillVideoStats,
    KeptFingerprints,
    MakeAllShotJobs,
    MakeClipJobs,
    RouteSurvivors,
    ShotRows,
    by_id,
)
from transforms.shots.config import (
    ShotDetectorConfig,
    add_shot_arguments,
    add_shot_detector_arguments,
    shot_detector_config_from_options,
    shot_params_from_options,
)
from transforms.shots.histogram import ShotParams
from transforms.types import Stage, Tag

STAGES = tuple(Stage)


class BuildDatasetOptions(PipelineOptions):
    """Options of the dataset job; each stage adds its own (defaults follow the HACS paper
    where it gives one)."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--input", help="Manifest (.csv or .jsonl with video_id, uri and "
                            "optional label, subset), the --videos folder of a download run "
                            "(the manifest it published), or a glob / directory of videos, "
                            "local or gs://. Required.")
        cli.add_shared_flag(parser, "--keep_v_prefix",
                            help="With a glob --input, keep a leading v_ in the file names "
                            "as part of the video id (by default v_<id>.mp4, as the HACS "
                            "download tools name files, gives video_id <id>).")
        parser.add_argument("--output", help="Output directory, local or gs://: shards, "
                            "videos.jsonl, report.json, dataset.json. Required.")
        cli.add_shared_flag(parser, "--overwrite",
                            help="Replace the run published in --output (it stays readable "
                            "until the new one is published) and start from scratch.")
        cli.add_shared_flag(parser, "--resume",
                            help="Go on with an interrupted run in --output: videos it "
                            "finished (same input files, same settings) are not decoded "
                            "again.")
        parser.add_argument("--keep_work", action="store_true",
                            help="Keep the per-video results of the analysis pass (the "
                            "output's work/ folder, about the size of the clips) after the job "
                            "succeeds; they are always kept when it fails, for --resume.")
        parser.add_argument("--previous", action="append", default=[],
                            help="The --output of an earlier run of the dataset being grown "
                            "(repeatable): a new video that duplicates a video it kept is "
                            "dropped as a duplicate (checked before the --reference sets). "
                            "Its published run must have a fingerprint index (it was built "
                            "without --skip_dedup).")
        parser.add_argument("--skip_dedup", action="store_true",
                            help="Do not fingerprint or remove near-duplicates (HACS step 1).")
        parser.add_argument("--skip_person_filter", action="store_true",
                            help="Do not segment shots or score people (HACS step 2): clips "
                            "are cut from whole videos.")
        add_limit_arguments(parser)
        add_clip_arguments(parser)
        add_output_arguments(parser)
        add_dedup_arguments(parser)
        add_shot_arguments(parser)
        add_shot_detector_arguments(parser)
        add_person_arguments(parser)
        add_detector_arguments(parser)


@dataclass(frozen=True)
class JobConfig:
    """Every stage's config, filled from the command line once; ``dedup`` is None with
    ``--skip_dedup``, ``persons``/``detector`` are None with ``--skip_person_filter`` (shots
    are always segmented: clips never span a cut; ``shot_detector`` says with which
    detector, ``shots`` holds the histogram detector's settings). The report records
    :meth:`settings`."""

    limits: LimitsConfig
    clips: ClipConfig
    output: OutputConfig
    dedup: DedupConfig | None
    shots: ShotParams
    persons: PersonConfig | None
    detector: DetectorConfig | None
    shot_detector: ShotDetectorConfig = ShotDetectorConfig()

    @classmethod
    def from_options(cls, opts: BuildDatasetOptions) -> JobConfig:
        """Raises UsageError naming the option for a value that cannot work."""
        try:
            filtered = not opts.skip_person_filter
            return cls(limits=limits_config_from_options(opts),
                       clips=clip_config_from_options(opts),
                       output=output_config_from_options(opts),
                       dedup=None if opts.skip_dedup else dedup_config_from_options(opts),
                       shots=shot_params_from_options(opts),
                       persons=person_config_from_options(opts) if filtered else None,
                       detector=detector_config_from_options(opts) if filtered else None,
                       shot_detector=shot_detector_config_from_options(opts))
        except ValueError as exc:
            raise UsageError(str(exc)) from exc

    def settings(self) -> dict:
        """``asdict()`` of every stage's config (None for a stage turned off)."""
        return {f.name: (asdict(getattr(self, f.name)) if getattr(self, f.name) is not None
                         else None) for f in fields(self)}


def work_folder(output: str, cfg: JobConfig) -> str:
    """Where the per-video results of the analysis pass go: a folder of the output named by
    the settings that change them, so a rerun with other settings never re-uses them."""
    fingerprints = cfg.dedup and [cfg.dedup.fps, cfg.dedup.kind, cfg.dedup.crop_variants]
    digest = settings_digest({"fingerprints": fingerprints,
                              "shots": asdict(cfg.shots), "clips": asdict(cfg.clips),
                              "shot_detector": asdict(cfg.shot_detector),
                              "frame_positions": cfg.persons.frame_positions
                              if cfg.persons else None})
    return FileSystems.join(layout.work_root(output), digest)


def shot_buckets(videos: int) -> int:
    """How many sorted parts ``shots.jsonl`` is written from: one per 2 000 input videos
    (about 20 MB of lines each at 50 shots a video), at least 1, at most 1 024."""
    return max(1, min(1024, videos // 2000))


def _add_counts(counts) -> tuple[int, int]:
    """Sum ``(shots, kept)`` pairs (a combiner: partial sums come back in as pairs)."""
    total = kept = 0
    for shots, kept_shots in counts:
        total += shots
        kept += kept_shots
    return total, kept


def _shot_totals(counts: tuple[int, int]) -> dict:
    """report.json's ``shots``: shots of the videos that reached the person filter, and how
    many it kept (``counts``: their ``(shots, kept)`` summed over the videos)."""
    total, kept = counts
    return {"shots": {"total": total, "kept": kept,
                      "share_kept": round(kept / total, 4) if total else 0.0,
                      "hacs_share_kept": 0.497}}


def build(p: beam.Pipeline, opts: BuildDatasetOptions, cfg: JobConfig, refs,
          start_time: float, detector=None, run_dir: str | None = None) -> None:
    """Wire the dataset job onto ``p`` for the already-validated input videos ``refs``.

    Stages: one decode pass per video (fingerprints, shots, frames to score, candidate clips
    of every shot), near-duplicate removal (internal, then earlier runs, then reference sets
    in order), person scoring per shot, then the candidate clips of the kept shots of the
    surviving videos are written, and the fingerprints of the videos kept (with dedup on).
    ``detector`` is the loaded person detector (required unless ``cfg.persons`` is None).
    Everything is written into ``run_dir`` (default: the output folder itself); the per-video
    results go to the output's work folder.
    """
    run_dir = run_dir or opts.output
    work = work_folder(opts.output, cfg)
    labels = sorted({r.label for r in refs if r.label})
    label_ids = {name: i for i, name in enumerate(labels)}
    # The validated list is written next to the outputs and read back as a file: a job graph
    # that embeds millions of inputs (beam.Create) is too large for Dataflow to accept.
    inputs = FileSystems.join(run_dir, "inputs.jsonl")
    write_inputs(inputs, refs)
    videos = (p
              | "ReadInputs" >> beam.io.ReadFromText(inputs)
              | "ParseInputs" >> beam.Map(ref_from_json))
    outcomes, extras = [], []
    dedup = cfg.dedup or DedupConfig()
    analysis = videos | "AnalyzeVideos" >> AnalyzeVideos(AnalysisConfig(
        fingerprint_fps=None if cfg.dedup is None else dedup.fps,
        fingerprint_kind=dedup.kind,
        crop_variants=dedup.crop_variants,
        shot_params=cfg.shots,
        shot_detector=cfg.shot_detector,
        frame_positions=cfg.persons.frame_positions if cfg.persons else (),
        clips=cfg.clips,
        work_folder=work,
        limits=cfg.limits), total=len(refs))
    outcomes.append(analysis[Tag.FAILED])
    analyses = by_id("KeyAnalyses", analysis.analyses, key=lambda a: a.ref.video_id)
    if cfg.dedup is None:
        survivors = analyses
    else:
        deduped = (analysis.analyses
                   | "Fingerprints" >> beam.Map(lambda a: a.fingerprint)
                   | "DropNearDuplicates" >> DropNearDuplicates(
                       references=dedup.references, params=dedup.match,
                       bands=dedup.bands, hot_bucket_cap=dedup.hot_bucket_cap,
                       previous=dedup.previous))
        outcomes.append((deduped[Tag.DROPPED], deduped[Tag.FAILED])
                        | "DedupVideoStats" >> FillVideoStats(analyses))
        survivors = by_id("KeySurvivors", deduped[Tag.KEPT])
    rows = {"analyses": analyses, "survived": survivors}
    if cfg.persons is None:
        jobs = ({"analyses": analyses, "kept": survivors}
                | "MakeAllShotJobs" >> MakeAllShotJobs())
    else:
        routed = ({"analyses": analyses, "kept": survivors,
                   "frames": analysis[Tag.SHOT_FRAMES]}
                  | "RouteSurvivors" >> RouteSurvivors())
        scored = routed[Tag.FRAMES] | "ScorePersons" >> ScorePersons(detector)
        selected = ({"shots": routed[Tag.SHOTS], "scores": scored[Tag.SCORES],
                     "failed": scored[Tag.FAILED]}
                    | "SelectPersonShots" >> SelectPersonShots(cfg.persons.threshold))
        made = ({"analyses": routed.analyses, "kept": selected.kept,
                 "no_person": selected[Tag.NO_PERSON], "failed": selected[Tag.FAILED]}
                | "MakeClipJobs" >> MakeClipJobs())
        jobs = made.jobs
        outcomes.append(made[Tag.OUTCOMES])
        rows.update(scores=scored[Tag.SCORES], kept=selected.kept)
    shot_rows = rows | "ShotRows" >> ShotRows()
    _ = shot_rows[Tag.SHOT_ROWS] | "WriteShotsJsonl" >> WriteSortedLines(
        FileSystems.join(run_dir, layout.SHOTS),
        parts=FileSystems.join(work, "shots-" + run_dir.rstrip("/").split("/")[-1]),
        buckets=shot_buckets(len(refs)))
    if cfg.persons is not None:
        extras.append(shot_rows[Tag.SHOT_TOTALS]
                      | "AddShotCounts" >> beam.CombineGlobally(_add_counts)
                      | "ShotTotals" >> beam.Map(_shot_totals))
    sampled = jobs | "KeepClips" >> KeepClips(cfg.clips, label_ids, total=len(refs))
    outcomes.append(sampled[Tag.OUTCOMES])
    index = None
    if cfg.dedup is not None:  # the kept videos' index: what a later run's --previous reads
        folder = FileSystems.join(run_dir, "fingerprints")
        _ = ({"fingerprints": survivors, "outcomes": sampled[Tag.OUTCOMES]}
             | "KeptFingerprints" >> KeptFingerprints()
             | "WriteFingerprints" >> WriteFingerprintIndex(folder))
        index = index_pattern(folder)
    shards = sampled[Tag.RECORDS] | "WriteClipShards" >> WriteClipShards(
        run_dir, cfg.output.num_shards)
    report_inputs = {"outcomes": tuple(outcomes) | "AllOutcomes" >> beam.Flatten(),
                     "shards": shards}
    if extras:
        report_inputs["extras"] = tuple(extras) | "AllExtras" >> beam.Flatten()
    settings = {**cfg.settings(), **provenance(opts, BuildDatasetOptions)}
    _ = report_inputs | "WriteRunReport" >> WriteRunReport(run_dir, STAGES, labels,
                                                           settings, start_time, index)


class UsageError(ValueError):
    """Options that cannot work; reported before the job starts."""


def _folder(path: str) -> str:
    """A folder's path, comparable with another spelling of it."""
    path = path.rstrip("/")
    return path if "://" in path else os.path.abspath(path)


def _previous_run(output: str, this_output: str, kind: str) -> PreviousRun:
    """The published run of ``output`` (a ``--previous`` value) and its fingerprint index,
    checked before the job (UsageError naming the option when it cannot be used)."""
    if _folder(output) == _folder(this_output):
        raise UsageError(f"--previous {output} is this run's --output: the run it grows "
                         "would be replaced; write the new run to another folder")
    doc = layout.published(output)
    if doc is None:
        raise UsageError(f"--previous {output}: no published run there (no "
                         f"{layout.DATASET}); give the --output of a run that finished")
    index = doc.get("fingerprints")
    if not index:
        raise UsageError(f"--previous {output}: its run {doc.get('run')} has no fingerprint "
                         "index (it was built with --skip_dedup, or before runs wrote one); "
                         "rebuild it with near-duplicate removal on")
    if not FileSystems.match([index])[0].metadata_list:
        raise UsageError(f"--previous {output}: its fingerprint index {index} is missing")
    made = ((doc.get("clip_settings") or {}).get("dedup") or {}).get("kind", kind)
    if made != kind:
        raise UsageError(f"--previous {output}: its fingerprints are {made} hashes, this run "
                         f"makes {kind} (they are never compared): give --dedup_hash {made}")
    return PreviousRun(output=output, run=doc["run"], fingerprints=index)


def _check(opts: BuildDatasetOptions) -> tuple[JobConfig, list]:
    """The job's config and its validated input videos (UsageError / ManifestError)."""
    if not opts.input or not opts.output:
        raise UsageError("both --input and --output are required")
    if opts.overwrite and opts.resume:
        raise UsageError("--overwrite and --resume exclude each other")
    try:
        layout.check_output(opts.output, opts.overwrite, opts.resume)
    except layout.OutputError as exc:
        raise UsageError(str(exc)) from exc
    cfg = JobConfig.from_options(opts)
    if opts.previous:
        if cfg.dedup is None:
            raise UsageError("--previous needs near-duplicate removal: drop --skip_dedup")
        cfg = replace(cfg, dedup=replace(cfg.dedup, previous=tuple(
            _previous_run(p, opts.output, cfg.dedup.kind) for p in opts.previous)))
    for name, path in cfg.dedup.references if cfg.dedup else ():
        if not FileSystems.match([path if "*" in path else path.rstrip("/") + "/*"]
                                 )[0].metadata_list:
            raise UsageError(f"--reference {name}={path}: no fingerprint index files at "
                             f"{path} (build one with python -m "
                             "pipelines.build_reference_index)")
    return cfg, load_inputs(opts.input, strip_v_prefix=not opts.keep_v_prefix)


def run(argv=None, save_main_session=True, test_pipeline=None) -> dict | None:
    """Run the job and publish it (see transforms/output/layout.py); return the report, or
    None when the runner did not finish the job here."""
    start = time.time()
    cli.check_known_options(argv, BuildDatasetOptions, UsageError)
    options = PipelineOptions(argv)
    options.view_as(SetupOptions).save_main_session = save_main_session
    opts = options.view_as(BuildDatasetOptions)
    cfg, refs = _check(opts)
    detector = load_configured_detector(cfg.detector) if cfg.detector else None
    output = opts.output
    before = layout.published(output)
    # Folders of runs that never published (interrupted, failed) go; the published one stays
    # readable until this run replaces it.
    layout.remove_other_runs(output, keep=before["run"].split("/")[-1] if before else None)
    if opts.overwrite:
        layout.remove_tree(layout.work_root(output))
    run_id = layout.new_run_id()
    run_dir = layout.run_folder(output, run_id)
    sys.stderr.write(f"[hacs-pipeline] {len(refs)} input videos -> {run_dir}\n")
    p = test_pipeline or beam.Pipeline(options=options)
    build(p, opts, cfg, refs, start, detector, run_dir)
    try:
        result = p.run()
        result.wait_until_finish()
    except BaseException as exc:
        # Nothing of this run is published; its folder (Beam's temporary files too) goes,
        # the per-video results stay for --resume.
        layout.remove_tree(run_dir)
        interrupted = isinstance(exc, KeyboardInterrupt) or "KeyboardInterrupt" in str(exc)
        sys.stderr.write(f"[hacs-pipeline] {'interrupted' if interrupted else 'failed'}: "
                         "nothing was published ("
                         f"{'the earlier run stays published' if before else 'no run yet'}); "
                         "the videos analysed so far are kept: run again with --resume to "
                         "go on\n")
        if interrupted:
            raise KeyboardInterrupt from None
        raise
    report_path = FileSystems.join(run_dir, "report.json")
    if not FileSystems.exists(report_path):
        return None
    with FileSystems.open(report_path) as f:
        report = json.loads(f.read().decode("utf-8"))
    report.update(stage_costs(_counters(result), report))
    report["run"] = run_id
    layout.write_json_atomically(report_path, report)
    try:
        gallery = collect_gallery(run_dir, work_folder(output, cfg),
                                  [row["path"] for row in report["shards"]],
                                  distance=cfg.dedup.match.distance if cfg.dedup else 32)
        page = write_report_html(run_dir, report, gallery)
    except Exception:  # the page is a view of the run: it never costs the run itself
        logging.exception("report.html could not be built; the run is published without it")
        page = None
    with FileSystems.open(FileSystems.join(run_dir, layout.DATASET)) as f:
        dataset = json.loads(f.read().decode("utf-8"))
    published = layout.publish(output, run_id, {
        **dataset, "report": report_path, "report_html": page,
        "videos": FileSystems.join(run_dir, "videos.jsonl")})
    layout.remove_other_runs(output, keep=run_id)
    if not opts.keep_work:
        layout.remove_tree(layout.work_root(output))
    sys.stderr.write(summary_text(report) + "\n")
    sys.stderr.write(f"published: {published}\nreport: {page or report_path}\nper video: "
                     f"{FileSystems.join(run_dir, 'videos.jsonl')}\n")
    return report


def _counters(result) -> dict[str, int]:
    """The job's Beam Metrics counters by name (namespaces ``hacs`` and ``persons``)."""
    from apache_beam.metrics.metric import MetricsFilter

    totals: dict[str, int] = {}
    for namespace in ("hacs", "persons"):
        query = result.metrics().query(MetricsFilter().with_namespace(namespace))
        for counter in query["counters"]:
            value = counter.committed if counter.committed is not None else counter.attempted
            totals[counter.key.metric.name] = totals.get(counter.key.metric.name, 0) + value
    return totals


def main() -> None:
    cli.main(run, "python -m pipelines.build_dataset", __doc__, BuildDatasetOptions,
             errors=(ManifestError, UsageError, DetectorUnavailable))


if __name__ == "__main__":
    main()
