"""WriteSortedLines: one file in key order from sorted parts, on a real Beam runner."""

import json
import os
import random

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline

from transforms.output.stage import WriteSortedLines, sorted_line_buckets


def _write(tmp_path, rows, buckets):
    path = str(tmp_path / "shots.jsonl")
    parts = str(tmp_path / "work" / "parts")
    with TestPipeline() as p:
        _ = p | beam.Create(rows) | WriteSortedLines(path, parts=parts, buckets=buckets)
    with open(path) as f:
        return f.read(), sorted(os.listdir(parts)) if os.path.isdir(parts) else []


@pytest.mark.parametrize("buckets", [1, 7])
def test_lines_come_out_in_key_order_whatever_the_buckets(tmp_path, buckets):
    rows = [((f"video{v:03d}", s), json.dumps({"video_id": f"video{v:03d}", "shot": s}))
            for v in range(60) for s in range(12)]
    shuffled = random.Random(buckets).sample(rows, len(rows))
    text, parts = _write(tmp_path, shuffled, buckets)
    assert text == "".join(line + "\n" for _, line in rows)
    # shot 10 sorts after shot 9 (numbers, not text); one part per non-empty bucket
    assert text.index('"shot": 9}') < text.index('"shot": 10}')
    assert 1 <= len(parts) <= buckets


def test_no_rows_give_an_empty_file(tmp_path):
    text, parts = _write(tmp_path, [], 3)
    assert text == "" and parts == []


def test_buckets_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="buckets must be at least 1"):
        WriteSortedLines(str(tmp_path / "x"), parts=str(tmp_path), buckets=0)


def test_one_bucket_per_two_thousand_videos_within_bounds():
    assert [sorted_line_buckets(n) for n in (0, 1999, 2000, 10**6, 10**8)] == [1, 1, 1, 500, 1024]
