"""Beam stage: write serialized clip records into sharded TFRecord files with indexes."""

from __future__ import annotations

import json

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from transforms.output.records import SCHEMA_VERSION
from transforms.output.report import ShardInfo
from transforms.output.shards import index_path, write_index

SHARD_PREFIX = "clips"
SHARD_TEMPLATE = "-SSSSS-of-NNNNN"


def _index_shard(path: str) -> ShardInfo:
    records, size = write_index(path)
    return ShardInfo(path=path, records=records, size_bytes=size)


class WriteClipShards(beam.PTransform):
    """PCollection[bytes] -> PCollection[ShardInfo].

    Writes ``<output>/clips-00000-of-000NN.tfrecord`` with Beam's WriteToTFRecord (a fixed
    shard count, so names are deterministic), then a ``tfrecord`` index file per shard.
    """

    def __init__(self, output_dir: str, num_shards: int):
        super().__init__()
        if num_shards < 1:
            raise ValueError("num_shards must be at least 1")
        self._prefix = FileSystems.join(output_dir, SHARD_PREFIX)
        self._num_shards = num_shards

    def expand(self, records):
        return (records
                | "WriteTFRecord" >> beam.io.WriteToTFRecord(
                    self._prefix, file_name_suffix=".tfrecord", num_shards=self._num_shards,
                    shard_name_template=SHARD_TEMPLATE)
                | "IndexShards" >> beam.Map(_index_shard))


def dataset_manifest(shards: list[ShardInfo], labels: list[str], settings: dict) -> dict:
    """The small ``dataset.json`` that training code and tools read first."""
    rows = sorted(shards, key=lambda s: s.path)
    return {
        "schema_version": SCHEMA_VERSION,
        "record_format": "tf.train.Example (see README: Clip record schema)",
        "labels": labels,
        "num_records": sum(s.records for s in rows),
        "shards": [{"path": s.path, "index": index_path(s.path), "records": s.records,
                    "bytes": s.size_bytes} for s in rows],
        "clip_settings": settings,
    }


def write_json(path: str, doc: dict) -> None:
    """Write a JSON document to a local path or any Beam FileSystems URI."""
    with FileSystems.create(path, mime_type="application/json") as f:
        f.write((json.dumps(doc, indent=2, sort_keys=False) + "\n").encode("utf-8"))
