"""Constants and small helpers shared by the annotation tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transforms.output.shards import write_records

CHROMIUM = "/usr/bin/chromium"
WEBM_FPS = 10.0  # frame rate of the test WebM videos
FRAME_SECONDS = 1.0 / WEBM_FPS


def write_shard(path: Path, payloads: list[bytes]) -> None:
    """Write serialized records as one TFRecord file."""
    write_records(str(path), payloads)


def as_written(text: str) -> Any:
    """A JSON text's content with every object's keys in order and every number as its
    text: equal for two texts that say the same thing the same way."""
    return json.loads(text, object_pairs_hook=list, parse_float=lambda t: ("number", t),
                      parse_int=lambda t: ("number", t))
