"""Beam stage: write the clip records into sharded TFRecord files with indexes, and account
for every input video (``videos.jsonl``, ``report.json``, ``dataset.json``).

The formats are plain modules beside this one: ``records`` (the Example codec), ``shards``
(TFRecord reading and indexes) and ``report`` (the sums and documents).
"""

from __future__ import annotations

import heapq
import json
import time
import uuid
import zlib
from typing import NamedTuple

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from transforms.clips.kept import clip_record
from transforms.output.config import TFRECORD, WEBDATASET
from transforms.output.layout import write_json_atomically
from transforms.output.report import Tally, build_report, dataset_manifest
from transforms.output.shards import (
    TFRECORD_SUFFIX,
    RecordReader,
    in_byte_order,
    write_index,
    write_records,
)
from transforms.output.tar_shards import TAR_SUFFIX, write_tar
from transforms.progress import NAMESPACE
from transforms.types import ClipRef, ShardInfo

SHARD_PREFIX = "clips"


def shard_path(output_dir: str, shard: int, num_shards: int,
               shard_format: str = TFRECORD) -> str:
    """``<output_dir>/clips-SSSSS-of-NNNNN.tfrecord`` (``.tar`` for WebDataset shards)."""
    suffix = TAR_SUFFIX if shard_format == WEBDATASET else TFRECORD_SUFFIX
    return FileSystems.join(output_dir,
                            f"{SHARD_PREFIX}-{shard:05d}-of-{num_shards:05d}{suffix}")


def shard_of(ref: ClipRef, num_shards: int) -> int:
    """The shard a record goes to: a stable hash of its bytes (their CRC-32, which its
    reference carries), so the same record lands in the same shard on every run, runner and
    resume."""
    return ref.crc % num_shards


class _WriteShard(beam.DoFn):
    """(shard, ClipRefs) -> ShardInfo: the records sorted by their bytes (a stable order, so a
    shard's file is the same bytes on every run), written under a temporary name and renamed,
    then indexed. Only the references are grouped: each record is made again from its
    candidate in the work folder as it is written (``kept.clip_record``), so a shard writer
    holds its references (a few hundred bytes each) and one record at a time."""

    def __init__(self, output_dir: str, num_shards: int, shard_format: str = TFRECORD):
        self._output = output_dir
        self._num_shards = num_shards
        self._format = shard_format

    def process(self, element):
        shard, grouped = element
        path = shard_path(self._output, shard, self._num_shards, self._format)
        tmp = f"{path}.tmp-{uuid.uuid4().hex[:12]}"
        write = write_tar if self._format == WEBDATASET else write_records
        with RecordReader() as reader:
            write(tmp, in_byte_order(grouped["records"], head=lambda ref: ref.head,
                                     read=lambda ref: clip_record(reader, ref)))
        FileSystems.rename([tmp], [path])
        records, size = write_index(path)
        yield ShardInfo(path=path, records=records, size_bytes=size)


class WriteClipShards(beam.PTransform):
    """PCollection[ClipRef] -> PCollection[ShardInfo].

    Writes ``<output>/clips-00000-of-000NN.tfrecord`` (exactly ``num_shards`` files, empty
    ones too) and a ``tfrecord`` index file per shard. Which shard a record goes to and its
    place in it depend only on the record's bytes, so reruns, resumed runs and other runners
    write byte-identical shards. What is grouped by shard is the records' references; their
    bytes are read from the work folder's candidate clips, which must stay until the job
    ends (the run is published, and the work folder removed, after it). With
    ``shard_format`` "webdataset" the same records, in the same shards and order, are
    written as ``.tar`` files (``tar_shards``).
    """

    def __init__(self, output_dir: str, num_shards: int, shard_format: str = TFRECORD):
        super().__init__()
        if num_shards < 1:
            raise ValueError("num_shards must be at least 1")
        self._output = output_dir
        self._num_shards = num_shards
        self._format = shard_format

    def expand(self, refs):
        n = self._num_shards
        keyed = refs | "KeyByShard" >> beam.Map(lambda ref: (shard_of(ref, n), ref))
        every = (refs.pipeline
                 | "AllShards" >> beam.Create([(i, None) for i in range(n)]))
        return ({"records": keyed, "shard": every}
                | "GroupByShard" >> beam.CoGroupByKey()
                | "WriteShards" >> beam.ParDo(_WriteShard(self._output, n, self._format)))


class TallyFn(beam.CombineFn):
    """Add up outcomes into a tally that ``make()`` starts (a ``Tally`` of the run report, a
    ``DownloadTally``...: anything with ``add(outcome)`` and ``merge(other)``)."""

    def __init__(self, make=Tally):
        self._make = make

    def create_accumulator(self):
        return self._make()

    def add_input(self, acc, outcome):
        return acc.add(outcome)

    def merge_accumulators(self, accs):
        accs = iter(accs)
        first = next(accs)
        for acc in accs:
            first.merge(acc)
        return first

    def extract_output(self, acc):
        return acc


class _CountFn(beam.DoFn):
    """Mirror the report's counts as Beam Metrics counters (namespace ``hacs``)."""

    def process(self, outcome):
        Metrics.counter(NAMESPACE, f"videos_{outcome.status}").inc()
        if outcome.reason:
            Metrics.counter(NAMESPACE, f"{outcome.status}_{outcome.reason}").inc()
        yield outcome


class ReportInputs(NamedTuple):
    """WriteRunReport's inputs: ``outcomes`` (Outcome of every input video), ``shards``
    (ShardInfo) and ``extras`` (dicts merged into report.json, e.g. the shot totals)."""

    outcomes: beam.PCollection
    shards: beam.PCollection
    extras: beam.PCollection


class WriteRunReport(beam.PTransform):
    """ReportInputs -> files.

    Writes ``videos.jsonl`` (one line per input video), ``report.json`` (funnel per stage,
    reasons, bytes, shards, elapsed) and ``dataset.json`` (shards, record counts, labels,
    schema version, the ``fingerprints`` index glob when the run writes one) into
    ``output_dir``.
    """

    def __init__(self, output_dir: str, stages: tuple[str, ...], labels: list[str],
                 settings: dict, start_time: float, fingerprints: str | None = None):
        super().__init__()
        self._fingerprints = fingerprints
        self._output = output_dir
        self._stages = stages
        self._labels = labels
        self._settings = settings
        self._start = start_time

    def expand(self, inputs):
        outcomes = inputs.outcomes | "CountOutcomes" >> beam.ParDo(_CountFn())
        (outcomes
         | "OutcomeToJson" >> beam.Map(lambda o: json.dumps(o.to_json_dict(), sort_keys=True))
         | "WriteVideosJsonl" >> beam.io.WriteToText(
             FileSystems.join(self._output, "videos"), file_name_suffix=".jsonl",
             num_shards=1, shard_name_template=""))
        return (outcomes
                | "Tally" >> beam.CombineGlobally(TallyFn())
                | "WriteReport" >> beam.Map(self._write,
                                            shards=beam.pvalue.AsList(inputs.shards),
                                            extras=beam.pvalue.AsList(inputs.extras)))

    def _write(self, tally: Tally, shards, extras) -> str:
        report = build_report(tally, self._stages, shards, time.time() - self._start,
                              self._settings)
        for extra in extras:
            report.update(extra)
        write_json_atomically(FileSystems.join(self._output, "dataset.json"),
                   dataset_manifest(list(shards), self._labels, self._settings,
                                    self._fingerprints))
        path = FileSystems.join(self._output, "report.json")
        write_json_atomically(path, report)
        return path


def sorted_line_buckets(videos: int) -> int:
    """How many sorted parts a per-video file such as ``shots.jsonl`` is written from (see
    WriteSortedLines): one per 2 000 input videos (about 20 MB of lines each at 50 shots a
    video), at least 1, at most 1 024."""
    return max(1, min(1024, videos // 2000))


class _WriteSortedPart(beam.DoFn):
    """(bucket, rows) -> the bucket's rows sorted by key, one JSON ``[key, line]`` a line, in
    ``parts/part-<bucket>.jsonl``; yields the part's path. A retried bundle rewrites the same
    bytes."""

    def __init__(self, parts: str):
        self._parts = parts

    def process(self, element):
        bucket, rows = element
        path = FileSystems.join(self._parts, f"part-{bucket:05d}.jsonl")
        with FileSystems.create(path, mime_type="text/plain") as f:
            for key, line in sorted(rows):
                f.write(json.dumps([key, line]).encode("utf-8") + b"\n")
        yield path


def _part_rows(path: str):
    with FileSystems.open(path) as f:
        for raw in f:
            key, line = json.loads(raw)
            yield tuple(key), line


class _MergeParts(beam.DoFn):
    """The sorted parts -> one file of their lines in key order (a k-way merge: one line of
    each part in memory at a time)."""

    def __init__(self, path: str):
        self._path = path

    def process(self, parts):
        rows = heapq.merge(*(_part_rows(p) for p in sorted(parts)), key=lambda row: row[0])
        with FileSystems.create(self._path, mime_type="text/plain") as f:
            for _, line in rows:
                f.write(line.encode("utf-8") + b"\n")
        yield self._path


class WriteSortedLines(beam.PTransform):
    """PCollection[(sort key, text line)] -> one text file at ``path``, its lines in key
    order (so a rerun writes the same bytes, whatever order the runner made them in); the
    output is the path. Keys are tuples of strings and numbers (JSON round trip). The lines
    are spread over ``buckets`` groups by a hash of their key's first field, each sorted on
    one worker into a part file under ``parts`` (a scratch folder), and the parts merged into
    ``path`` streaming, so no worker holds more than one bucket (``shots.jsonl``: about 200
    bytes a shot; 1e6 videos of 50 shots in 500 buckets: 20 MB each)."""

    def __init__(self, path: str, parts: str, buckets: int = 1):
        super().__init__()
        if buckets < 1:
            raise ValueError(f"buckets must be at least 1, got {buckets}")
        self._path = path
        self._parts = parts
        self._buckets = buckets

    def expand(self, rows):
        buckets = self._buckets
        return (rows
                | "Bucket" >> beam.Map(
                    lambda row: (zlib.crc32(str(row[0][0]).encode("utf-8")) % buckets, row))
                | "Group" >> beam.GroupByKey()
                | "SortPart" >> beam.ParDo(_WriteSortedPart(self._parts))
                | "CollectParts" >> beam.combiners.ToList()
                | "Merge" >> beam.ParDo(_MergeParts(self._path)))
