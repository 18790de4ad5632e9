"""Build a HACS-style clip dataset: videos in, sharded TFRecord clips and a run report out.

    python -m pipelines.build_dataset --input videos.csv --output out/run1
    python -m pipelines.build_dataset --input 'gs://bucket/videos/*.mp4' --output gs://b/out \
        --runner DataflowRunner --project P --region R --temp_location gs://b/tmp \
        --setup_file ./setup.py

Every Beam option passes through to the runner. The manifest is read and checked before the
job starts; every input video ends in ``videos.jsonl`` as kept, dropped or failed.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass, fields, replace

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from models.detectors import (
    OPERATING_THRESHOLD,
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
from transforms.analyze.part import AnalysisPart
from transforms.analyze.results import work_folder
from transforms.analyze.stage import AnalyzeVideos
from transforms.clips.config import ClipConfig, add_clip_arguments, clip_config_from_options
from transforms.clips.part import CandidateClipsPart
from transforms.clips.stage import KeepClips
from transforms.dedup.config import (
    DedupConfig,
    PreviousRun,
    add_dedup_arguments,
    dedup_config_from_options,
)
from transforms.dedup.part import FingerprintPart
from transforms.dedup.stage import DropNearDuplicates, WriteFingerprintIndex, index_pattern
from transforms.inputs.manifest import ManifestError, load_inputs, ref_from_json, write_inputs
from transforms.output import layout
from transforms.output.config import OutputConfig, add_output_arguments, output_config_from_options
from transforms.output.part import ThumbnailConfig, ThumbnailPart
from transforms.output.report import (
    add_shot_counts,
    complete_report,
    shot_totals,
    summary_text,
)
from transforms.output.report_html import write_report_page
from transforms.output.stage import (
    ReportInputs,
    WriteClipShards,
    WriteRunReport,
    WriteSortedLines,
    sorted_line_buckets,
)
from transforms.persons.config import (
    PersonConfig,
    add_person_arguments,
    person_config_from_options,
)
from transforms.persons.part import ShotFramesPart
from transforms.persons.stage import NAMESPACE as PERSONS_NAMESPACE
from transforms.persons.stage import PersonInputs, ScorePersons, SelectPersonShots
from transforms.progress import NAMESPACE
from transforms.routing import (
    AllShotInputs,
    FillVideoStats,
    JobInputs,
    KeptFingerprints,
    KeptInputs,
    MakeAllShotJobs,
    MakeClipJobs,
    RouteInputs,
    RouteSurvivors,
    ScoredShotRowInputs,
    ShotRowInputs,
    ShotRows,
    StatsInputs,
    by_id,
)
from transforms.shots.config import (
    ShotDetectorConfig,
    add_shot_arguments,
    add_shot_detector_arguments,
    shot_detector_config_from_options,
)
from transforms.shots.part import ShotsPart
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
                            help="Do not score people (HACS step 2): every shot's clips are "
                            "kept (shots are still segmented: a clip never spans a cut).")
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
    are always segmented: clips never span a cut; ``shots`` says with which detector and its
    settings). The report records :meth:`settings`."""

    limits: LimitsConfig
    clips: ClipConfig
    output: OutputConfig
    dedup: DedupConfig | None
    shots: ShotDetectorConfig
    persons: PersonConfig | None
    detector: DetectorConfig | None

    @classmethod
    def from_options(cls, opts: BuildDatasetOptions) -> JobConfig:
        """Raises UsageError naming the option for a value that cannot work."""
        try:
            filtered = not opts.skip_person_filter
            return cls(limits=limits_config_from_options(opts),
                       clips=clip_config_from_options(opts),
                       output=output_config_from_options(opts),
                       dedup=None if opts.skip_dedup else dedup_config_from_options(opts),
                       shots=shot_detector_config_from_options(opts),
                       persons=person_config_from_options(
                           opts, OPERATING_THRESHOLD[opts.detector]) if filtered else None,
                       detector=detector_config_from_options(opts) if filtered else None)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc

    def settings(self) -> dict:
        """``asdict()`` of every stage's config (None for a stage turned off)."""
        return {f.name: (asdict(getattr(self, f.name)) if getattr(self, f.name) is not None
                         else None) for f in fields(self)}


def analysis_parts(cfg: JobConfig) -> list[AnalysisPart]:
    """The parts that ride the one decode pass, in order: fingerprints (unless
    ``--skip_dedup``), shots, the frames to score for people (unless
    ``--skip_person_filter``), candidate clips and the report's thumbnails (at the
    fingerprint rate, so a duplicate's matched frame times have a picture)."""
    parts: list[AnalysisPart] = []
    if cfg.dedup is not None:
        parts.append(FingerprintPart(cfg.dedup.fingerprint))
    parts.append(ShotsPart(cfg.shots))
    if cfg.persons is not None:
        parts.append(ShotFramesPart(cfg.persons.frames))
    parts.append(CandidateClipsPart(cfg.clips))
    thumbnails = ThumbnailConfig(cfg.dedup.fingerprint.fps) if cfg.dedup else ThumbnailConfig()
    parts.append(ThumbnailPart(thumbnails))
    return parts


def job_work_folder(output: str, cfg: JobConfig) -> str:
    """Where the per-video results of the job's analysis pass go (see
    ``results.work_folder``)."""
    return work_folder(layout.work_root(output), analysis_parts(cfg))


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
    parts = analysis_parts(cfg)
    work = work_folder(layout.work_root(opts.output), parts)
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
    analysis = videos | "AnalyzeVideos" >> AnalyzeVideos(parts, work, cfg.limits,
                                                         total=len(refs))
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
        dropped = ((deduped.dropped, deduped.failed)
                   | "DedupOutcomes" >> beam.Flatten())
        outcomes.append(StatsInputs(dropped, analyses) | "DedupVideoStats" >> FillVideoStats())
        survivors = by_id("KeySurvivors", deduped.survivors)
    if cfg.persons is None:
        jobs = AllShotInputs(analyses, survivors) | "MakeAllShotJobs" >> MakeAllShotJobs()
        row_inputs = ShotRowInputs(analyses, survivors)
    else:
        routed = RouteInputs(analyses, survivors) | "RouteSurvivors" >> RouteSurvivors()
        scored = routed.shot_frames | "ScorePersons" >> ScorePersons(detector)
        selected = (PersonInputs(routed.shots, scored.scores, scored.failed)
                    | "SelectPersonShots" >> SelectPersonShots(cfg.persons.threshold))
        made = (JobInputs(routed.analyses, selected.kept_shots, selected.no_person,
                          selected.failed)
                | "MakeClipJobs" >> MakeClipJobs())
        jobs = made.jobs
        outcomes.append(made.outcomes)
        row_inputs = ScoredShotRowInputs(analyses, survivors, scored.scores,
                                         selected.kept_shots, scored.frames)
    shot_rows = row_inputs | "ShotRows" >> ShotRows()
    _ = shot_rows.rows | "WriteShotsJsonl" >> WriteSortedLines(
        FileSystems.join(run_dir, layout.SHOTS),
        parts=FileSystems.join(work, "shots-" + run_dir.rstrip("/").split("/")[-1]),
        buckets=sorted_line_buckets(len(refs)))
    if cfg.persons is not None:
        extras.append(shot_rows.totals
                      | "AddShotCounts" >> beam.CombineGlobally(add_shot_counts)
                      | "ShotTotals" >> beam.Map(shot_totals))
    sampled = jobs | "KeepClips" >> KeepClips(cfg.clips, label_ids, total=len(refs))
    outcomes.append(sampled[Tag.OUTCOMES])
    index = None
    if cfg.dedup is not None:  # the kept videos' index: what a later run's --previous reads
        folder = FileSystems.join(run_dir, "fingerprints")
        _ = (KeptInputs(survivors, sampled[Tag.OUTCOMES])
             | "KeptFingerprints" >> KeptFingerprints()
             | "WriteFingerprints" >> WriteFingerprintIndex(folder))
        index = index_pattern(folder)
    shards = sampled[Tag.RECORDS] | "WriteClipShards" >> WriteClipShards(
        run_dir, cfg.output.num_shards, cfg.output.shard_format)
    report_inputs = ReportInputs(tuple(outcomes) | "AllOutcomes" >> beam.Flatten(), shards,
                                 tuple(extras) | "AllExtras" >> beam.Flatten(pipeline=p))
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
    made_by = (doc.get("clip_settings") or {}).get("dedup") or {}
    # runs before FingerprintConfig recorded the hash as dedup.kind
    made = (made_by.get("fingerprint") or made_by).get("kind", kind)
    if made != kind:
        raise UsageError(f"--previous {output}: its fingerprints are {made} hashes, this run "
                         f"makes {kind} (they are never compared): give --dedup_hash {made}")
    return PreviousRun(output=output, run=doc["run"], fingerprints=index)


def _check(opts: BuildDatasetOptions) -> tuple[JobConfig, list]:
    """The job's config and its validated input videos (UsageError / ManifestError)."""
    if not opts.input or not opts.output:
        raise UsageError("both --input and --output are required")
    if "://" not in opts.output:
        # dataset.json names the run's files by their paths: a relative one would only
        # resolve from the folder the job ran in
        opts.output = os.path.abspath(opts.output)
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
    options, opts = cli.job_options(argv, BuildDatasetOptions, save_main_session, UsageError)
    cfg, refs = _check(opts)
    detector = load_configured_detector(cfg.detector) if cfg.detector else None
    before, run_id = _start_run(opts)
    run_dir = layout.run_folder(opts.output, run_id)
    sys.stderr.write(f"[hacs-pipeline] {len(refs)} input videos -> {run_dir}\n")
    p = test_pipeline or beam.Pipeline(options=options)
    build(p, opts, cfg, refs, start, detector, run_dir)
    result = _run_or_clean_up(p, run_dir, before)
    return _publish(opts, cfg, run_id, result)


def _start_run(opts: BuildDatasetOptions) -> tuple[dict | None, str]:
    """The run published in ``--output`` before this one (None: none) and a new run id.
    Folders of runs that never published (interrupted, failed) go; the published one stays
    readable until this run replaces it; ``--overwrite`` also drops the per-video results."""
    before = layout.published(opts.output)
    layout.remove_other_runs(opts.output,
                             keep=before["run"].split("/")[-1] if before else None)
    if opts.overwrite:
        layout.remove_tree(layout.work_root(opts.output))
    return before, layout.new_run_id()


def _interrupted(exc: BaseException) -> bool:
    """Whether the job ended because of Ctrl-C: a KeyboardInterrupt, in the exception's
    chain, or (from a runner that re-raises a worker's error as text) named in its message."""
    seen = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return "KeyboardInterrupt" in str(exc)


def _run_or_clean_up(p: beam.Pipeline, run_dir: str, before: dict | None):
    """Run the pipeline to the end and return its result. On any failure or interruption
    nothing of this run is published: its folder (Beam's temporary files too) goes, the
    per-video results stay for --resume, and the exception goes on (a KeyboardInterrupt for
    Ctrl-C)."""
    try:
        result = p.run()
        result.wait_until_finish()
        return result
    except BaseException as exc:
        layout.remove_tree(run_dir)
        interrupted = _interrupted(exc)
        sys.stderr.write(f"[hacs-pipeline] {'interrupted' if interrupted else 'failed'}: "
                         "nothing was published ("
                         f"{'the earlier run stays published' if before else 'no run yet'}); "
                         "the videos analysed so far are kept: run again with --resume to "
                         "go on\n")
        if interrupted:
            raise KeyboardInterrupt from None
        raise


def _publish(opts: BuildDatasetOptions, cfg: JobConfig, run_id: str, result) -> dict | None:
    """Complete the report, write report.html and publish the run; the report, or None when
    the runner did not finish the job here (no report.json)."""
    run_dir = layout.run_folder(opts.output, run_id)
    report_path = FileSystems.join(run_dir, "report.json")
    if not FileSystems.exists(report_path):
        return None
    report = complete_report(report_path, _counters(result), run_id)
    page = write_report_page(run_dir, report, job_work_folder(opts.output, cfg),
                             distance=(cfg.dedup or DedupConfig()).match.distance)
    videos = FileSystems.join(run_dir, "videos.jsonl")
    published = layout.publish_run(opts.output, run_id, {
        "report": report_path, "report_html": page, "videos": videos},
        keep_work=opts.keep_work)
    sys.stderr.write(summary_text(report) + "\n")
    sys.stderr.write(f"published: {published}\nreport: {page or report_path}\n"
                     f"per video: {videos}\n")
    return report


def _counters(result) -> dict[str, int]:
    """The job's Beam Metrics counters by name (the job's namespace and the person
    stage's)."""
    from apache_beam.metrics.metric import MetricsFilter

    totals: dict[str, int] = {}
    for namespace in (NAMESPACE, PERSONS_NAMESPACE):
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
