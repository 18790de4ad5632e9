"""What the person stage scores frames with: a ready detector, made by
``models.detectors.load_person_detector`` before the job is built and handed to
``ScorePersons``, and what it says about one frame. Plain Python, no Beam."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

Box = tuple[float, float, float, float]


class BestPerson(NamedTuple):
    """A detector's best person on one image: ``score`` (0..1; 0 when it found none) and
    ``box`` ``(x0, y0, x1, y1)`` as fractions (0..1) of the image's width and height, None
    when it found none. What a model handler's ``PredictionResult.inference`` holds."""

    score: float
    box: Box | None = None


def best_person(detections: Any, person_class: int) -> BestPerson:
    """The highest-scoring row of ``detections`` (rows ``[class, score, x0, y0, x1, y1]``, box
    in fractions of the image) whose class is ``person_class``."""
    best = BestPerson(0.0)
    for class_id, score, x0, y0, x1, y1 in detections:
        if int(class_id) == person_class and float(score) > best.score:
            clip = [min(1.0, max(0.0, float(v))) for v in (x0, y0, x1, y1)]
            best = BestPerson(float(score), (clip[0], clip[1], clip[2], clip[3]))
    return best


@dataclass(frozen=True)
class PersonDetector:
    """A ready detector: its ``name``, its RunInference model ``handler`` (inference:
    :class:`BestPerson`) and ``prepare``, which turns a shot frame's JPEG bytes into the
    handler's input."""

    name: str
    handler: Any
    prepare: Callable[[bytes], Any]
