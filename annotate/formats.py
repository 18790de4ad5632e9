"""Files of the annotation tool beside the HACS label files: the agreement sidecar of a Clips
CSV and the labelling guidelines.

Plain functions and frozen dataclasses, no web or database code, so they are reusable from a
notebook. The HACS Clips CSV and Segments JSON readers and writers are shared with the
evaluation toolkit and the pipelines: :mod:`transforms.hacs_files`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass

from transforms.hacs_files import CLIPS_HEADER, ClipLabel, FormatError, clips_csv_fields

AGREEMENT_HEADER = (*CLIPS_HEADER, "labels", "positive", "negative", "agreement", "annotators")


@dataclass(frozen=True)
class ClipVotes:
    """A Clips CSV row (``row.label``: the majority of the votes, a tie negative) and the
    labels annotators gave the clip: ``(annotator, 1 or -1)`` in the order given."""

    row: ClipLabel
    votes: tuple[tuple[str, int], ...]

    @property
    def positive(self) -> int:
        return sum(1 for _, label in self.votes if label == 1)

    @property
    def negative(self) -> int:
        return len(self.votes) - self.positive

    @property
    def agreement(self) -> float | None:
        """The share of the votes that agree with the majority, 0.5..1 (None: no votes)."""
        if not self.votes:
            return None
        return max(self.positive, self.negative) / len(self.votes)


def format_agreement_csv(rows: Iterable[ClipVotes]) -> str:
    """The agreement sidecar of a Clips CSV: the CSV's columns, then ``labels`` (votes),
    ``positive``, ``negative``, ``agreement`` (majority share, 3 decimals; empty without
    votes) and ``annotators`` (``name:label`` joined by ``;``), one line per CSV row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(AGREEMENT_HEADER)
    for v in rows:
        share = "" if v.agreement is None else f"{v.agreement:.3f}"
        writer.writerow([*clips_csv_fields(v.row), len(v.votes), v.positive, v.negative,
                         share, ";".join(f"{name}:{label}" for name, label in v.votes)])
    return out.getvalue()


@dataclass(frozen=True)
class Guideline:
    """How to label one class: a text ``definition``, positive example clip ids and
    optional hard-negative clip ids (clips that look similar but are not the action)."""

    classname: str
    definition: str
    positives: tuple[str, ...]
    hard_negatives: tuple[str, ...] = ()


def parse_guidelines_json(text: str, name: str = "guidelines.json") -> list[Guideline]:
    """Parse ``{"<class>": {"definition": str, "positives": [clip ids],
    "hard_negatives": [clip ids]}}``."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{name}: not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise FormatError(f"{name}: must map class names to guidelines")
    result = []
    for classname, entry in doc.items():
        where = f"{name} [{classname!r}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("definition"), str):
            raise FormatError(f"{where}: needs a string 'definition'")
        lists = {}
        for key in ("positives", "hard_negatives"):
            value = entry.get(key, [])
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise FormatError(f"{where}: {key!r} must be a list of clip ids")
            lists[key] = tuple(value)
        result.append(Guideline(classname, entry["definition"], lists["positives"],
                                lists["hard_negatives"]))
    return result
