"""What the person stage scores frames with: a ready detector, made by
``models.detectors.load_person_detector`` before the job is built and handed to
``ScorePersons``. Plain Python, no Beam."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PersonDetector:
    """A ready detector: its ``name``, its RunInference model ``handler`` and ``prepare``,
    which turns a shot frame's JPEG bytes into the handler's input."""

    name: str
    handler: Any
    prepare: Callable[[bytes], Any]
