"""HACS annotation file formats: Segments (ActivityNet-style) JSON and labelling guidelines.

Plain functions and frozen dataclasses, no web or database code, so they are reusable from a
notebook. The Clips CSV reader and writer are shared with the evaluation toolkit and the
pipelines: :mod:`transforms.output.hacs_files`.

Segments JSON (HACS Segments v1.1, same layout as ActivityNet 1.3)::

    {"version": "...", "taxonomy": [...],
     "database": {"<video id>": {"subset": "training", "duration": 123.4, "url": "...",
                                 "annotations": [{"label": "Archery", "segment": [s, e]}]}}}

Times are seconds. The writer reproduces what the reader parsed: numbers are written in
Python's shortest round-trip form, row and key order is kept, and unknown per-video keys of a
Segments file are carried through (``SegmentVideo.extra``).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from transforms.output.hacs_files import CLIPS_HEADER, ClipLabel, FormatError, check_span


@dataclass(frozen=True)
class Segment:
    """One labelled segment of a video, ``start``/``end`` in seconds."""

    label: str
    start: float
    end: float


@dataclass(frozen=True)
class SegmentVideo:
    """One ``database`` entry of a Segments file; ``duration`` in seconds (None: unknown).

    ``extra`` holds any other keys of the entry (e.g. ``resolution``), kept for round trips.
    """

    video_id: str
    subset: str
    duration: float | None
    url: str
    segments: tuple[Segment, ...]
    extra: dict[str, Any] = field(default_factory=dict)
    # the source's text when it wrote the duration as a string (HACS: "92.166667"), so the
    # writer gives the same string back
    duration_text: str | None = None


@dataclass(frozen=True)
class SegmentsFile:
    """A whole Segments file: ``version``, ``taxonomy`` (kept as parsed; None: the file had
    no such key, and the writer adds none) and the videos."""

    version: str | None
    taxonomy: list[Any] | None
    videos: tuple[SegmentVideo, ...]


def _segment(entry: Any, where: str) -> Segment:
    if not isinstance(entry, dict) or not isinstance(entry.get("label"), str):
        raise FormatError(f"{where}: an annotation needs a string 'label'")
    span = entry.get("segment")
    if (not isinstance(span, list) or len(span) != 2
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in span)):
        raise FormatError(f"{where}: 'segment' must be [start, end] in seconds")
    start, end = float(span[0]), float(span[1])
    check_span(start, end, where)
    return Segment(entry["label"], start, end)


def parse_segments_json(text: str, name: str = "segments.json") -> SegmentsFile:
    """Parse a Segments / ActivityNet JSON file; FormatError says which entry is bad."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{name}: not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("database"), dict):
        raise FormatError(f"{name}: needs a 'database' object")
    taxonomy = doc.get("taxonomy")
    if taxonomy is not None and not isinstance(taxonomy, list):
        raise FormatError(f"{name}: 'taxonomy' must be a list")
    videos = []
    for video_id, entry in doc["database"].items():
        where = f"{name} database[{video_id!r}]"
        if not isinstance(entry, dict):
            raise FormatError(f"{where}: must be an object")
        annotations = entry.get("annotations", [])
        if not isinstance(annotations, list):
            raise FormatError(f"{where}: 'annotations' must be a list")
        duration, duration_text = _duration(entry.get("duration"), where)
        extra = {k: v for k, v in entry.items()
                 if k not in ("subset", "duration", "url", "annotations")}
        videos.append(SegmentVideo(
            video_id=video_id, subset=str(entry.get("subset", "")),
            duration=None if duration is None else float(duration),
            url=str(entry.get("url", "")),
            segments=tuple(_segment(a, f"{where} annotation {i}")
                           for i, a in enumerate(annotations)),
            extra=extra, duration_text=duration_text))
    version = doc.get("version")
    return SegmentsFile(None if version is None else str(version), taxonomy, tuple(videos))


def _duration(value: Any, where: str) -> tuple[float | None, str | None]:
    """``(seconds, source text)`` of a ``duration``: a number, or a string holding one, as
    the published HACS Segments file writes it (``"92.166667"``); None when absent."""
    if value is None:
        return None, None
    text = value if isinstance(value, str) else None
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise FormatError(f"{where}: 'duration' must be a number of seconds (or a string "
                          f"holding one), got {value!r}")
    return seconds, text


def segments_document(data: SegmentsFile) -> dict[str, Any]:
    """The JSON object of a Segments file (key order as HACS writes it)."""
    database = {}
    for v in data.videos:
        duration = v.duration
        if v.duration_text is not None and float(v.duration_text) == v.duration:
            duration = v.duration_text
        entry: dict[str, Any] = {"subset": v.subset, "duration": duration, "url": v.url,
                                 "annotations": [{"label": s.label, "segment": [s.start, s.end]}
                                                 for s in v.segments]}
        entry.update(v.extra)
        database[v.video_id] = entry
    document: dict[str, Any] = {}
    if data.version is not None:
        document["version"] = data.version
    if data.taxonomy is not None:
        document["taxonomy"] = data.taxonomy
    document["database"] = database
    return document


def format_segments_json(data: SegmentsFile) -> str:
    """Segments JSON text for ``data``."""
    return json.dumps(segments_document(data), indent=1, ensure_ascii=False) + "\n"


def default_taxonomy(classes: Sequence[str]) -> list[dict[str, Any]]:
    """An ActivityNet-style flat taxonomy: a root node and one child per class."""
    nodes: list[dict[str, Any]] = [{"nodeId": 0, "nodeName": "Root", "parentId": None,
                                    "parentName": None}]
    nodes += [{"nodeId": i, "nodeName": c, "parentId": 0, "parentName": "Root"}
              for i, c in enumerate(sorted(set(classes)), start=1)]
    return nodes


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
        r = v.row
        share = "" if v.agreement is None else f"{v.agreement:.3f}"
        writer.writerow([r.classname, r.video_id, r.subset, repr(float(r.start)),
                         repr(float(r.end)), r.label, len(v.votes), v.positive, v.negative,
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
