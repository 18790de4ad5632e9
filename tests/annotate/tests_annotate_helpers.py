"""Constants and small helpers shared by the annotation tests."""

from __future__ import annotations

import struct
from pathlib import Path

from tfrecord.writer import TFRecordWriter

CHROMIUM = "/usr/bin/chromium"
WEBM_FPS = 10.0  # frame rate of the test WebM videos
FRAME_SECONDS = 1.0 / WEBM_FPS


def write_shard(path: Path, payloads: list[bytes]) -> None:
    """Write serialized records as one TFRecord file (length, crc, data, crc)."""
    with open(path, "wb") as f:
        for data in payloads:
            length = struct.pack("<Q", len(data))
            f.write(length + TFRecordWriter.masked_crc(length) + data
                    + TFRecordWriter.masked_crc(data))
