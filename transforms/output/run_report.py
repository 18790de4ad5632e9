"""Beam stage: account for every input video (videos.jsonl, report.json, dataset.json)."""

from __future__ import annotations

import json
import time

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from transforms.output.report import Tally, build_report
from transforms.output.write_shards import dataset_manifest, write_json


class _TallyFn(beam.CombineFn):
    def create_accumulator(self):
        return Tally()

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
        Metrics.counter("hacs", f"videos_{outcome.status}").inc()
        if outcome.reason:
            Metrics.counter("hacs", f"{outcome.status}_{outcome.reason}").inc()
        yield outcome


class WriteRunReport(beam.PTransform):
    """{"outcomes": PCollection[Outcome], "shards": PCollection[ShardInfo]} -> files.

    Writes ``videos.jsonl`` (one line per input video), ``report.json`` (funnel per stage,
    reasons, bytes, shards, elapsed) and ``dataset.json`` (shards, record counts, labels,
    schema version) into ``output_dir``.
    """

    def __init__(self, output_dir: str, stages: tuple[str, ...], labels: list[str],
                 settings: dict, start_time: float):
        super().__init__()
        self._output = output_dir
        self._stages = stages
        self._labels = labels
        self._settings = settings
        self._start = start_time

    def expand(self, inputs):
        """``inputs`` may also hold ``extras``: a PCollection of dicts (e.g. shot counts)
        merged into report.json."""
        outcomes = inputs["outcomes"] | "CountOutcomes" >> beam.ParDo(_CountFn())
        extras = inputs.get("extras")
        if extras is None:
            extras = outcomes.pipeline | "NoExtras" >> beam.Create([])
        (outcomes
         | "OutcomeToJson" >> beam.Map(lambda o: json.dumps(o.to_json_dict(), sort_keys=True))
         | "WriteVideosJsonl" >> beam.io.WriteToText(
             FileSystems.join(self._output, "videos"), file_name_suffix=".jsonl",
             num_shards=1, shard_name_template=""))
        return (outcomes
                | "Tally" >> beam.CombineGlobally(_TallyFn())
                | "WriteReport" >> beam.Map(self._write,
                                            shards=beam.pvalue.AsList(inputs["shards"]),
                                            extras=beam.pvalue.AsList(extras)))

    def _write(self, tally: Tally, shards, extras) -> str:
        report = build_report(tally, self._stages, shards, time.time() - self._start,
                              self._settings)
        for extra in extras:
            report.update(extra)
        write_json(FileSystems.join(self._output, "dataset.json"),
                   dataset_manifest(list(shards), self._labels, self._settings))
        path = FileSystems.join(self._output, "report.json")
        write_json(path, report)
        return path
