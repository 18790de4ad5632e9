"""Labels back into the data: a Beam job that sets each clip record's ``annotation`` from a
HACS Clips CSV and writes new shards, so training sees positives and negatives (HACS trained
with both).

A CSV row matches a record when the video ids name the same video and both ends of the clip
agree within ``--tolerance_ms`` (default 1 ms; records store times as float32), or when the
row's clip id (``make_clip_id(record's video, start, end)``) equals the record's. Ids name
the same video when they are equal after the project's id rule
(``transforms.inputs.manifest.normalise_video_id``: a leading ``v_`` dropped from each, so a
row's bare YouTube id matches records made from ``v_<id>.mp4`` files and the other way
round); ``--keep_v_prefix`` compares them as written. A record with a
``label_name`` only takes rows of that class; if several rows match, the last in the file
wins. Records without a matching row pass through unchanged. A JSON report
``<output_prefix>-report.json`` counts matched / unmatched rows and labelled / unchanged
records and lists the first unmatched rows; the run prints the same counts in one line.

On the command line a labels file that cannot be read, is not UTF-8 or has a malformed row,
shards that are missing, and a run in which no row matched any record end the process with
status 2 and one line naming the file (and row), not a traceback. ``--shards`` may also be
a job's output folder: the shards its ``dataset.json`` publishes.

    python -m pipelines.apply_labels --shards 'out/clips/*.tfrecord' \\
        --labels_csv labels.csv --output_prefix out/labelled/clips
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, SetupOptions

from pipelines import cli
from transforms.hacs_files import ClipLabel, FormatError, parse_clips_csv
from transforms.inputs.manifest import normalise_video_id
from transforms.output.records import ClipRecord, from_example, make_clip_id, with_annotation
from transforms.output.shards import (
    TFRECORD_SUFFIX,
    ShardError,
    is_tar,
    iter_record_spans,
    iter_records,
    match_shards,
    write_index,
)
from transforms.text import decode_utf8

MATCHED = "matched"
OUTCOMES = "outcomes"
REPORT_EXAMPLES = 20  # unmatched rows listed in the report


class ApplyLabelsError(ValueError):
    """The job cannot run on these inputs, or ran and matched no row; the message names the
    file (and row)."""


class ApplyLabelsOptions(PipelineOptions):
    """Options of the label-application job."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--shards", default=None,
                            help="input TFRecord clip shards: a glob, a directory (its *.tfrecord) "
                                 "or a job's output folder (the shards its dataset.json "
                                 "publishes); local or gs://")
        parser.add_argument("--labels_csv", default=None,
                            help="HACS Clips CSV (classname,youtube_id,subset,start,end,label)")
        parser.add_argument("--output_prefix", default=None,
                            help="output prefix: writes <output_prefix>-SSSSS-of-NNNNN.tfrecord, "
                                 "an .index beside each shard, and <output_prefix>-report.json")
        parser.add_argument("--output_shards", type=int, default=0,
                            help="output shard count (0: let the runner choose)")
        parser.add_argument("--tolerance_ms", type=float, default=1.0,
                            help="how far (milliseconds) a row's start/end may be from a "
                                 "record's and still match; records keep times as float32")
        cli.add_shared_flag(parser, "--keep_v_prefix",
                            help="compare video ids as written (default: a leading v_ is "
                                 "dropped from the row's and the record's id, the project's "
                                 "id rule, so v_<id> and <id> match)")


def row_matches(record: ClipRecord, row: ClipLabel, tolerance_s: float,
                strip_v_prefix: bool = True) -> bool:
    """Whether a CSV row labels ``record``: the same video (ids compared after
    :func:`transforms.inputs.manifest.normalise_video_id` with ``strip_v_prefix``), the
    record's class (if it has one), and the same span within ``tolerance_s`` seconds or the
    same clip id."""
    if (normalise_video_id(row.video_id, strip_v_prefix)
            != normalise_video_id(record.video_id, strip_v_prefix)):
        return False
    if record.label_name and row.classname != record.label_name:
        return False
    if abs(row.start - record.start) <= tolerance_s and abs(row.end - record.end) <= tolerance_s:
        return True
    return make_clip_id(record.video_id, row.start, row.end) == record.clip_id


def matching_rows(record: ClipRecord, candidates: Iterable[tuple[int, ClipLabel]],
                  tolerance_s: float, strip_v_prefix: bool = True
                  ) -> list[tuple[int, ClipLabel]]:
    """The ``(index, row)`` candidates that label ``record``, in file order; the last one's
    label applies."""
    return sorted((c for c in candidates
                   if row_matches(record, c[1], tolerance_s, strip_v_prefix)),
                  key=lambda c: c[0])


class _AnnotateFn(beam.DoFn):
    """Serialized record in, the record with its annotation set out; tagged outputs: the
    indices of the rows it matched, and ``labelled`` / ``unchanged``."""

    def __init__(self, tolerance_s: float, strip_v_prefix: bool = True):
        self._tolerance_s = tolerance_s
        self._strip_v_prefix = strip_v_prefix
        self._labelled = beam.metrics.Metrics.counter("apply_labels", "records_labelled")
        self._unchanged = beam.metrics.Metrics.counter("apply_labels", "records_unchanged")

    def process(self, data: bytes, rows_by_video: Mapping[str, list[tuple[int, ClipLabel]]]
                ) -> Iterator[Any]:
        record = from_example(data)
        key = normalise_video_id(record.video_id, self._strip_v_prefix)
        matched = matching_rows(record, rows_by_video[key], self._tolerance_s,
                                self._strip_v_prefix)
        if not matched:
            self._unchanged.inc()
            yield beam.pvalue.TaggedOutput(OUTCOMES, "unchanged")
            yield data
            return
        for index, _ in matched:
            yield beam.pvalue.TaggedOutput(MATCHED, index)
        self._labelled.inc()
        yield beam.pvalue.TaggedOutput(OUTCOMES, "labelled")
        yield with_annotation(data, matched[-1][1].label)


class _SummaryFn(beam.CombineFn):
    """Adds up ``(kind, row or None)`` events into the run report."""

    def create_accumulator(self) -> dict[str, Any]:
        return {"rows_matched": 0, "rows_unmatched": 0, "records_labelled": 0,
                "records_unchanged": 0, "unmatched_rows": []}

    def add_input(self, acc: dict[str, Any], event: tuple[str, Any]) -> dict[str, Any]:
        kind, row = event
        acc[kind] += 1
        if kind == "rows_unmatched":
            acc["unmatched_rows"] = sorted(acc["unmatched_rows"] + [row])[:REPORT_EXAMPLES]
        return acc

    def merge_accumulators(self, accs: Iterable[dict[str, Any]]) -> dict[str, Any]:
        merged = self.create_accumulator()
        for acc in accs:
            for key in ("rows_matched", "rows_unmatched", "records_labelled",
                        "records_unchanged"):
                merged[key] += acc[key]
            merged["unmatched_rows"] = sorted(merged["unmatched_rows"]
                                              + acc["unmatched_rows"])[:REPORT_EXAMPLES]
        return merged

    def extract_output(self, acc: dict[str, Any]) -> dict[str, Any]:
        return {**acc, "rows": acc["rows_matched"] + acc["rows_unmatched"],
                "records": acc["records_labelled"] + acc["records_unchanged"]}


def _row_event(item: tuple[int, dict[str, list]]) -> tuple[str, Any]:
    index, joined = item
    [row] = joined["row"]
    if joined["hit"]:
        return "rows_matched", None
    return "rows_unmatched", [index + 2, *asdict(row).values()]  # CSV line number first


class ApplyLabels(beam.PTransform):
    """Serialized clip records -> ``{"records": labelled records, "report": one dict}``.

    ``rows`` are the Clips CSV rows (small enough for a side input: HACS Clips has 1.55 M
    rows, about 200 MB in memory); ``strip_v_prefix``: the id rule (see :func:`row_matches`).
    """

    def __init__(self, rows: Sequence[ClipLabel], tolerance_s: float = 0.001,
                 strip_v_prefix: bool = True):
        super().__init__()
        self._rows = list(rows)
        self._tolerance_s = tolerance_s
        self._strip_v_prefix = strip_v_prefix

    def expand(self, records: beam.PCollection[bytes]) -> dict[str, beam.PCollection]:
        rows = records.pipeline | "Rows" >> beam.Create(list(enumerate(self._rows)))
        strip = self._strip_v_prefix
        by_video = rows | "KeyRowsByVideo" >> beam.Map(
            lambda ir: (normalise_video_id(ir[1].video_id, strip), ir))
        out = records | "Annotate" >> beam.ParDo(
            _AnnotateFn(self._tolerance_s, strip), beam.pvalue.AsMultiMap(by_video)
        ).with_outputs(MATCHED, OUTCOMES, main="records")
        row_events = (
            {"row": rows, "hit": out[MATCHED] | "HitKeys" >> beam.Map(lambda i: (i, True))}
            | "JoinRowsWithHits" >> beam.CoGroupByKey()
            | "RowEvents" >> beam.Map(_row_event))
        record_events = out[OUTCOMES] | "RecordEvents" >> beam.Map(lambda k: (f"records_{k}",
                                                                               None))
        report = ((row_events, record_events) | "AllEvents" >> beam.Flatten()
                  | "Summarize" >> beam.CombineGlobally(_SummaryFn()))
        return {"records": out["records"], "report": report}


def read_labels(path: str) -> list[ClipLabel]:
    """The rows of the Clips CSV at ``path`` (local or any FileSystems URI); FormatError
    names the file, and the line of a row that is malformed or not UTF-8."""
    try:
        with FileSystems.open(path, compression_type="uncompressed") as f:
            data = f.read()
    except Exception as exc:  # a missing file, a denied bucket: the same user error
        raise FormatError(f"cannot read labels file {path}: {exc}") from exc
    return parse_clips_csv(decode_utf8(data, path, FormatError), path)


def list_shards(spec: str) -> list[str]:
    """The shard paths ``--shards`` names, each checked to exist (a published run's
    ``dataset.json`` may list shards since deleted) and to start with a TFRecord record."""
    try:
        shards = match_shards(spec)
    except Exception as exc:  # an unreadable bucket or dataset.json
        raise ApplyLabelsError(f"cannot list shards {spec}: {exc}") from exc
    if not shards:
        raise ApplyLabelsError(f"no shards match {spec}")
    tars = [s for s in shards if is_tar(s)]
    if tars:
        raise ApplyLabelsError(
            f"{tars[0]} is a WebDataset shard (a job run with --shard_format webdataset): "
            "apply_labels reads and writes TFRecord shards; run the job with --shard_format "
            "tfrecord (the default) to label its clips")
    absent = [s for s in shards if not FileSystems.exists(s)]
    if absent:
        raise ApplyLabelsError(f"{len(absent)} of {len(shards)} shards of {spec} are "
                               f"missing, first {absent[0]}")
    for shard in shards:  # the first record's header: a wrong file, before the job starts
        try:
            next(iter_record_spans(shard), None)
        except ShardError as exc:
            raise ApplyLabelsError(str(exc)) from None
    return shards


def _read_report(path: str) -> dict[str, Any]:
    with FileSystems.open(path, compression_type="uncompressed") as f:
        return json.loads(f.read().decode("utf-8"))


def summary_line(report: Mapping[str, Any], labels_csv: str, report_path: str) -> str:
    """One line of a run's counts: rows matched / unmatched, records labelled / unchanged."""
    first = (f" (first at line {report['unmatched_rows'][0][0]})"
             if report["unmatched_rows"] else "")
    return (f"apply_labels: {report['rows_matched']} of {report['rows']} rows of "
            f"{labels_csv} matched a record, {report['rows_unmatched']} unmatched{first}; "
            f"{report['records_labelled']} of {report['records']} records labelled; "
            f"report {report_path}")


def run(argv: list[str] | None = None, save_main_session: bool = True,
        test_pipeline: beam.Pipeline | None = None) -> dict[str, Any]:
    """Run the job and print its summary line; returns the report. Flags the options do not
    know pass through to the runner. Raises ApplyLabelsError or FormatError for inputs it
    cannot use (before the pipeline starts) and ApplyLabelsError when no row matched a
    record (the shards and report are written all the same)."""
    options = PipelineOptions(argv)
    opts = options.view_as(ApplyLabelsOptions)
    options.view_as(SetupOptions).save_main_session = save_main_session
    missing = [f"--{n}" for n in ("shards", "labels_csv", "output_prefix") if not getattr(opts, n)]
    if missing:
        raise ApplyLabelsError(f"missing {', '.join(missing)}")
    shards = list_shards(opts.shards)
    rows = read_labels(opts.labels_csv)
    p = test_pipeline or beam.Pipeline(options=options)
    result = (p | "ShardPaths" >> beam.Create(shards)
              | "ReadRecords" >> beam.FlatMap(iter_records)
              | "ApplyLabels" >> ApplyLabels(rows, opts.tolerance_ms / 1000.0,
                                            not opts.keep_v_prefix))
    (result["records"]
     | "WriteShards" >> beam.io.WriteToTFRecord(opts.output_prefix,
                                                file_name_suffix=TFRECORD_SUFFIX,
                                                num_shards=opts.output_shards)
     | "WriteIndex" >> beam.Map(write_index))
    (result["report"]
     | "ReportJson" >> beam.Map(lambda r: json.dumps(r, indent=1))
     | "WriteReport" >> beam.io.WriteToText(opts.output_prefix + "-report",
                                            file_name_suffix=".json", shard_name_template=""))
    p.run().wait_until_finish()
    report_path = opts.output_prefix + "-report.json"
    report = _read_report(report_path)
    print(summary_line(report, opts.labels_csv, report_path))
    if not report["rows_matched"]:
        raise ApplyLabelsError(f"no row of {opts.labels_csv} matched a record of "
                               f"{opts.shards} (video id, class and span); the shards were "
                               f"written unchanged")
    return report


def main() -> None:
    cli.main(run, "python -m pipelines.apply_labels", __doc__, ApplyLabelsOptions,
             errors=(ApplyLabelsError, FormatError), status=2)


if __name__ == "__main__":
    main()
