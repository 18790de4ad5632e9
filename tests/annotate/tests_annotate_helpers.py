"""Constants and small helpers shared by the annotation tests."""

from __future__ import annotations

from pathlib import Path

from transforms.output.shards import write_records

CHROMIUM = "/usr/bin/chromium"
WEBM_FPS = 10.0  # frame rate of the test WebM videos
FRAME_SECONDS = 1.0 / WEBM_FPS


def write_shard(path: Path, payloads: list[bytes]) -> None:
    """Write serialized records as one TFRecord file."""
    write_records(str(path), payloads)
