"""Kept clips travel to the shard writer as references (ClipRef), never as bytes: the writer
makes each record again from its candidate and writes the shards the bytes themselves would
give (same shard, same order, same files)."""

from __future__ import annotations

import os
import random
import zlib
from dataclasses import replace

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.test_pipeline import TestPipeline

from transforms.analyze.results import ResultWriter, iter_candidates
from transforms.clips.kept import HEAD_BYTES, RecordChanged, clip_record, clip_ref, kept_record
from transforms.jpeg import encode_jpeg
from transforms.output.records import ClipRecord, make_clip_id, to_example
from transforms.output.shards import RecordReader, in_byte_order, iter_records, write_records
from transforms.output.stage import WriteClipShards, shard_path
from transforms.types import VideoAnalysis, VideoRef


def _candidate(video_id: str, start: float, shade: int) -> bytes:
    image = np.full((8, 12, 3), shade, np.uint8)
    return to_example(ClipRecord(
        video_id=video_id, clip_id=make_clip_id(video_id, start, start + 2),
        source_uri=f"/videos/{video_id}.mp4", start=start, end=start + 2, fps=8.0, height=8,
        width=12, frames=(encode_jpeg(image),) * 3, timestamps=(start, start + 1, start + 2),
        shot_index=int(start) // 4))


def _committed(folder, video_id: str, count: int, shade: int = 0) -> str:
    """The candidate clips file of a video with ``count`` candidates, two per shot."""
    writer = ResultWriter(str(folder), video_id)
    for i in range(count):
        writer.add_clip(i // 2, _candidate(video_id, 2.0 * i, shade + 10 * i))
    writer.commit(VideoAnalysis(VideoRef(video_id, f"/videos/{video_id}.mp4"), 2.0 * count,
                                0, 12, 8, 0, fingerprint=None, shots=None))
    return writer.clips_path


def _refs(clips_path: str, label: str = "walking") -> tuple[list, list[bytes]]:
    refs, records = [], []
    for offset, shot, candidate in iter_candidates(clips_path):
        record = kept_record(candidate, 3, label, "training", 0.25 * shot)
        refs.append(clip_ref(clips_path, offset, record, 3, label, "training", 0.25 * shot))
        records.append(record)
    return refs, records


@pytest.mark.parametrize("seed", range(5), ids=lambda s: f"seed{s}")
def test_in_byte_order_is_the_order_of_the_bytes(seed):
    rng = random.Random(seed)
    head = 4
    # short records, records sharing their head, exact duplicates
    records = [bytes(rng.choice(b"ab") for _ in range(rng.randint(0, 7))) for _ in range(60)]
    records += records[:5]
    refs = list(range(len(records)))
    rng.shuffle(refs)
    read = []
    out = list(in_byte_order(refs, head=lambda i: records[i][:head],
                             read=lambda i: read.append(i) or records[i]))
    assert out == sorted(records)
    assert sorted(read) == sorted(refs)  # each record made once


def test_a_record_is_made_again_from_its_reference(tmp_path):
    clips_path = _committed(tmp_path, "v1", 5)
    refs, records = _refs(clips_path)
    assert all(len(ref.head) == HEAD_BYTES and ref.crc == zlib.crc32(r)
               for ref, r in zip(refs, records, strict=True))
    with RecordReader(keep=2) as reader:
        # out of order, more files than the reader keeps open
        assert [clip_record(reader, ref) for ref in refs[::-1]] == records[::-1]


def test_a_changed_candidate_is_refused(tmp_path):
    clips_path = _committed(tmp_path, "v1", 3)
    refs, _ = _refs(clips_path)
    with RecordReader() as reader, pytest.raises(RecordChanged):
        clip_record(reader, replace(refs[1], label_name="running"))
    (tmp_path / "again").mkdir()
    os.replace(_committed(tmp_path / "again", "v1", 3, shade=5), clips_path)
    with RecordReader() as reader, pytest.raises(RecordChanged):
        clip_record(reader, refs[1])


@pytest.mark.parametrize("num_shards", [1, 3])
def test_write_clip_shards_writes_what_the_bytes_would(tmp_path, num_shards):
    refs, records = [], []
    for video in ("a", "b", "c"):
        (tmp_path / video).mkdir()
        more = _refs(_committed(tmp_path / video, video, 6))
        refs += more[0]
        records += more[1]
    out = tmp_path / "out"
    out.mkdir()
    with TestPipeline() as p:
        _ = p | beam.Create(refs) | WriteClipShards(str(out), num_shards)
    expected_dir = tmp_path / "expected"
    expected_dir.mkdir()
    for shard in range(num_shards):
        path = shard_path(str(out), shard, num_shards)
        want = sorted(r for r in records if zlib.crc32(r) % num_shards == shard)
        assert list(iter_records(path)) == want
        expected = shard_path(str(expected_dir), shard, num_shards)
        write_records(expected, want)
        with open(path, "rb") as a, open(expected, "rb") as b:
            assert a.read() == b.read()
