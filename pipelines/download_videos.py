"""Download the videos a HACS Clips CSV, a Segments / ActivityNet JSON or a ``video_id,url``
manifest names into a folder the dataset job reads; every video ends downloaded or failed
with a reason.

    python -m pipelines.download_videos --sources HACS_clips_v1.1.csv --videos data/videos
    python -m pipelines.build_dataset --input data/videos --output out/run1

Each distinct video is fetched once (yt-dlp for YouTube ids and URLs, plain HTTP(S) or Beam
FileSystems for other URLs) into ``<videos>/<class>/v_<id>.<ext>``, checked with the
project's decoder before it appears under that name; the run's ``downloads.jsonl``,
``manifest.csv`` (what ``build_dataset --input <videos>`` reads) and ``report.json`` are
published by ``<videos>/downloads.json``, written last (transforms/download/layout.py). Every
Beam option passes through to the runner. See docs/download.md.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines import cli
from pipelines.make_manifest import (
    MakeManifestError,
    videos_from_clips,
    videos_from_segments,
)
from pipelines.provenance import provenance
from transforms.analyze.results import settings_digest
from transforms.download import layout
from transforms.download.config import (
    REDACTED,
    DownloadConfig,
    add_download_arguments,
    download_config_from_options,
)
from transforms.download.report import download_summary
from transforms.download.sources import parse_url_manifest, target_of_labelled
from transforms.download.stage import DownloadVideos, WriteDownloadResults
from transforms.hacs_files import FormatError, parse_clips_csv
from transforms.inputs.manifest import ManifestError
from transforms.output.layout import OutputError, new_run_id, remove_tree
from transforms.text import decode_utf8
from transforms.types import DownloadTarget


class DownloadVideosOptions(PipelineOptions):
    """Options of the download job. ``--sources`` / ``--videos`` rather than ``--input`` /
    ``--output``: Beam parses the options of every job imported into a process with one
    parser, where the dataset job's would conflict."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--sources", help="What to download, local or gs://: a HACS Clips "
                            "CSV or a Segments / ActivityNet JSON (YouTube ids), or a manifest "
                            "(CSV, JSON Lines or JSON array) with video_id, url (http(s), "
                            "YouTube id or URL, gs://) and optional label, classes, subset. "
                            "Required.")
        parser.add_argument("--videos", help="Download folder, local or gs://: "
                            "<class>/v_<id>.<ext>, then downloads.json naming the run's "
                            "manifest.csv, downloads.jsonl and report.json. Required.")
        parser.add_argument("--subset", default=None,
                            help="Only videos of this subset (training, validation, testing); "
                            "default: all.")
        cli.add_shared_flag(parser, "--overwrite",
                            help="Fetch every video of --videos again (each file is replaced "
                            "when its new copy is checked; the old run stays published until "
                            "the new one is); videos the new run does not list are removed.")
        cli.add_shared_flag(parser, "--resume",
                            help="Go on with an interrupted or finished run in --videos: "
                            "videos it downloaded (same source, same format settings, file "
                            "still there) are not fetched again; failed ones are tried again.")
        add_download_arguments(parser)


class UsageError(ValueError):
    """Options that cannot work; reported before the job starts."""


def _read_text(path: str) -> str:
    try:
        with FileSystems.open(path, compression_type="uncompressed") as f:
            data = f.read()
    except Exception as exc:  # a missing file, a denied bucket: the same user error
        raise ManifestError(f"cannot read --sources {path}: {exc}") from exc
    return decode_utf8(data, path, ManifestError, "sources file")


def _is_segments(text: str) -> bool:
    if text.lstrip()[:1] != "{":
        return False
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return False  # JSON Lines: a manifest
    return isinstance(doc, dict) and "database" in doc


def _is_clips_csv(text: str) -> bool:
    header = text.lstrip().split("\n", 1)[0]
    columns = {c.strip() for c in header.split(",")}
    return {"classname", "youtube_id"} <= columns


def read_targets(path: str, subset: str | None = None) -> list[DownloadTarget]:
    """The videos ``path`` names, each once (of ``subset``; None: all): a Segments /
    ActivityNet JSON (a ``database`` object), a Clips CSV (a ``classname``, ``youtube_id``
    header), else a URL manifest (``transforms.download.sources``). Raises ManifestError,
    FormatError or MakeManifestError naming the file."""
    text = _read_text(path).removeprefix("\ufeff")
    if _is_segments(text):
        videos = videos_from_segments(text, subset, path)
    elif _is_clips_csv(text):
        videos = videos_from_clips(parse_clips_csv(text, path), subset, path)
    else:
        targets = parse_url_manifest(text, path, subset)
        if not targets:
            raise ManifestError(f"{path}: no videos listed"
                                + (f" in subset {subset!r}" if subset else ""))
        return targets
    if not videos:
        raise ManifestError(f"{path}: no videos" + (f" in subset {subset!r}" if subset else ""))
    return [target_of_labelled(v.video_id, v.subset, v.classes) for v in videos]


def work_folder(output: str, cfg: DownloadConfig) -> str:
    """Where the records of downloaded videos go: named by the settings that change which
    file a video gives, so a resumed run with other ones fetches every video again."""
    return layout.work_folder(output, settings_digest(cfg.resume_key()))


def _settings(options, cfg: DownloadConfig) -> dict:
    """The report's settings: the config and every option, the cookies file and proxy only
    said to be given."""
    done = provenance(options, DownloadVideosOptions)
    for key in ("cookies", "proxy"):
        if done["options"].get(key):
            done["options"][key] = REDACTED
    return {"download": cfg.settings(), **done}


def _write_inputs(path: str, targets: list[DownloadTarget]) -> None:
    with FileSystems.create(path, mime_type="application/json") as f:
        for t in targets:
            f.write((json.dumps({"video_id": t.video_id, "source": t.source,
                                 "classes": list(t.classes), "subset": t.subset},
                                sort_keys=True) + "\n").encode("utf-8"))


def _target_from_json(line: str) -> DownloadTarget:
    row = json.loads(line)
    return DownloadTarget(row["video_id"], row["source"], tuple(row["classes"]), row["subset"])


def build(p: beam.Pipeline, cfg: DownloadConfig, output: str, run_dir: str,
          targets: list[DownloadTarget], settings: dict, start_time: float) -> None:
    """Wire the download job onto ``p``: the validated targets are written to the run's
    ``inputs.jsonl`` and read back (a graph that embeds millions of inputs is too large for
    Dataflow), downloaded, and accounted for in ``run_dir``."""
    inputs = FileSystems.join(run_dir, layout.INPUTS)
    _write_inputs(inputs, targets)
    outcomes = (p
                | "ReadTargets" >> beam.io.ReadFromText(inputs)
                | "ParseTargets" >> beam.Map(_target_from_json)
                | "DownloadVideos" >> DownloadVideos(cfg, output, work_folder(output, cfg),
                                                     total=len(targets)))
    _ = outcomes | "WriteDownloadResults" >> WriteDownloadResults(run_dir, settings,
                                                                  start_time)


def _check(opts: DownloadVideosOptions) -> tuple[DownloadConfig, list[DownloadTarget]]:
    if not opts.sources or not opts.videos:
        raise UsageError("both --sources and --videos are required")
    if opts.overwrite and opts.resume:
        raise UsageError("--overwrite and --resume exclude each other")
    try:
        layout.check_download_output(opts.videos, opts.overwrite, opts.resume)
    except OutputError as exc:
        raise UsageError(str(exc)) from exc
    try:
        cfg = download_config_from_options(opts)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if cfg.cookies and not FileSystems.exists(cfg.cookies):
        raise UsageError(f"--cookies {cfg.cookies}: no such file")
    return cfg, read_targets(opts.sources, opts.subset)


def _manifest_uris(path: str) -> set[str]:
    with FileSystems.open(path) as f:
        lines = f.read().decode("utf-8").splitlines()[1:]
    return {row[1] for row in csv.reader(lines) if len(row) > 1}


def run(argv=None, save_main_session=True, test_pipeline=None) -> dict | None:
    """Run the job and publish it (transforms/download/layout.py); return the report, or
    None when the runner did not finish the job here."""
    start = time.time()
    options, opts = cli.job_options(argv, DownloadVideosOptions, save_main_session, UsageError)
    cfg, targets = _check(opts)
    # a local folder made absolute: the manifest's uris must not depend on where it is read
    output = opts.videos if "://" in opts.videos else os.path.abspath(opts.videos)
    before = layout.published(output)
    layout.remove_other_runs(output, keep=before["run"].split("/")[-1] if before else None)
    layout.remove_staging_leftovers(output)
    if opts.overwrite:
        remove_tree(FileSystems.join(output, layout.WORK))
    run_id = new_run_id()
    run_dir = layout.run_folder(output, run_id)
    sys.stderr.write(f"[hacs-pipeline] {len(targets)} videos to download -> {output} "
                     f"(run {run_dir})\n")
    p = test_pipeline or beam.Pipeline(options=options)
    build(p, cfg, output, run_dir, targets, _settings(options, cfg), start)
    try:
        result = p.run()
        result.wait_until_finish()
    except BaseException as exc:
        remove_tree(run_dir)
        interrupted = isinstance(exc, KeyboardInterrupt) or "KeyboardInterrupt" in str(exc)
        sys.stderr.write(f"[hacs-pipeline] {'interrupted' if interrupted else 'failed'}: "
                         "nothing was published; the videos downloaded so far are kept: run "
                         "again with --resume to go on\n")
        if interrupted:
            raise KeyboardInterrupt from None
        raise
    report_path = FileSystems.join(run_dir, layout.REPORT)
    if not FileSystems.exists(report_path):
        return None
    with FileSystems.open(report_path) as f:
        report = json.loads(f.read().decode("utf-8"))
    report["run"] = run_id
    published = layout.publish(output, run_id)
    layout.remove_other_runs(output, keep=run_id)
    if opts.overwrite:
        stale = layout.stale_videos(output, _manifest_uris(
            FileSystems.join(run_dir, layout.MANIFEST)))
        if stale:
            FileSystems.delete(stale)
    sys.stderr.write(download_summary(report) + "\n")
    sys.stderr.write(f"published: {published}\nmanifest: "
                     f"{FileSystems.join(run_dir, layout.MANIFEST)}\nper video: "
                     f"{FileSystems.join(run_dir, layout.DOWNLOADS)}\n")
    return report


def main() -> None:
    cli.main(run, "python -m pipelines.download_videos", __doc__, DownloadVideosOptions,
             errors=(ManifestError, FormatError, MakeManifestError, UsageError))


if __name__ == "__main__":
    main()
