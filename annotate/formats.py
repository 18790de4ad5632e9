"""HACS annotation file formats: Segments (ActivityNet-style) JSON and labelling guidelines.

Plain functions and frozen dataclasses, no web or database code, so they are reusable from a
notebook. The Clips CSV reader and writer are shared with the evaluation toolkit and the
pipelines: :mod:`transforms.hacs_files`.

Segments JSON (HACS Segments v1.1, same layout as ActivityNet 1.3)::

    {"version": "...", "taxonomy": [...],
     "database": {"<video id>": {"subset": "training", "duration": 123.4, "url": "...",
                                 "annotations": [{"label": "Archery", "segment": [s, e]}]}}}

Times are seconds. The writer gives back what the reader parsed: the same keys in the same
order (per file, per video and per annotation), the same types (a string duration stays a
string) and, for every number not changed since, the text the file wrote (``15`` stays
``15``, ``1e1`` stays ``1e1``: :class:`SourceNumber`); values set since are written fresh
(Python's shortest round-trip form). Keys the source lacked are only added where there is
something new to say (annotations of a video that had none) or when asked
(``add_duration``). Unknown keys are carried through (``extra``).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from transforms.hacs_files import CLIPS_HEADER, ClipLabel, FormatError, check_span


class SourceNumber(float):
    """A number read from a JSON file that remembers how the file wrote it (``text``:
    ``15``, ``1e1``, ``92.166667``), so that writing it back gives the same text. It is a
    float in every other way; arithmetic on it gives plain floats."""

    text: str

    def __new__(cls, text: str) -> SourceNumber:
        number = super().__new__(cls, text)
        number.text = str(text)
        return number


def load_json(text: str) -> Any:
    """Parse JSON keeping the text of every number with a fraction or exponent
    (:class:`SourceNumber`); integers are ints (their text is their value)."""
    return json.loads(text, parse_float=SourceNumber)


def dump_json(value: Any, indent: int | None = None) -> str:
    """JSON text of ``value`` as ``json.dumps(value, indent=indent, ensure_ascii=False)``
    writes it, except that a :class:`SourceNumber` is written as its source text."""
    item_sep = "," if indent is not None else ", "

    def encode(v: Any, level: int) -> str:
        if isinstance(v, SourceNumber):
            return v.text
        if isinstance(v, dict):
            items = [json.dumps(k if isinstance(k, str) else str(k), ensure_ascii=False) + ": "
                     + encode(x, level + 1) for k, x in v.items()]
            return wrap("{", items, "}", level)
        if isinstance(v, list | tuple):
            return wrap("[", [encode(x, level + 1) for x in v], "]", level)
        return json.dumps(v, ensure_ascii=False)

    def wrap(opening: str, items: list[str], closing: str, level: int) -> str:
        if not items:
            return opening + closing
        if indent is None:
            return opening + item_sep.join(items) + closing
        inner, outer = "\n" + " " * (indent * (level + 1)), "\n" + " " * (indent * level)
        return opening + inner + (item_sep + inner).join(items) + outer + closing

    return encode(value, 0)


def _seconds(value: int | float) -> float:
    """A number of seconds read from a file, keeping its text (an int ``15`` too)."""
    return value if isinstance(value, SourceNumber) else SourceNumber(str(value))


@dataclass(frozen=True)
class Segment:
    """One labelled segment of a video, ``start``/``end`` in seconds.

    ``source``: the annotation object as the file wrote it (all its keys, in order), written
    back as it was while label and span are unchanged."""

    label: str
    start: float
    end: float
    source: dict[str, Any] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class SegmentVideo:
    """One ``database`` entry of a Segments file; ``duration`` in seconds (None: unknown).

    ``extra`` holds any other keys of the entry (e.g. ``resolution``), kept for round trips,
    and the standard ones whose value is not a string where one is expected; ``keys`` the
    entry's keys in the file's order (None: not from a file, the writer uses HACS's
    ``subset, duration, url, annotations``).
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
    keys: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SegmentsFile:
    """A whole Segments file: ``version``, ``taxonomy`` (kept as parsed; None: the file had
    no such key, and the writer adds none) and the videos; ``keys``: the file's top-level
    keys in order (None: ``version, taxonomy, database``), ``extra``: its other top-level
    keys."""

    version: str | None
    taxonomy: list[Any] | None
    videos: tuple[SegmentVideo, ...]
    keys: tuple[str, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _segment(entry: Any, where: str) -> Segment:
    if not isinstance(entry, dict) or not isinstance(entry.get("label"), str):
        raise FormatError(f"{where}: an annotation needs a string 'label'")
    span = entry.get("segment")
    if (not isinstance(span, list) or len(span) != 2
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in span)):
        raise FormatError(f"{where}: 'segment' must be [start, end] in seconds")
    start, end = _seconds(span[0]), _seconds(span[1])
    check_span(start, end, where)
    return Segment(entry["label"], start, end, entry)


def parse_segments_json(text: str, name: str = "segments.json") -> SegmentsFile:
    """Parse a Segments / ActivityNet JSON file; FormatError says which entry is bad."""
    try:
        doc = load_json(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{name}: not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("database"), dict):
        raise FormatError(f"{name}: needs a 'database' object")
    taxonomy = doc.get("taxonomy")
    if taxonomy is not None and not isinstance(taxonomy, list):
        raise FormatError(f"{name}: 'taxonomy' must be a list")
    version = doc.get("version")
    if version is not None and not isinstance(version, str):
        raise FormatError(f"{name}: 'version' must be a string")
    videos = []
    for video_id, entry in doc["database"].items():
        where = f"{name} database[{video_id!r}]"
        if not isinstance(entry, dict):
            raise FormatError(f"{where}: must be an object")
        annotations = entry.get("annotations", [])
        if not isinstance(annotations, list):
            raise FormatError(f"{where}: 'annotations' must be a list")
        duration, duration_text = _duration(entry.get("duration"), where)
        strings = {k: entry[k] for k in ("subset", "url") if isinstance(entry.get(k), str)}
        extra = {k: v for k, v in entry.items()
                 if k not in ("duration", "annotations") and k not in strings}
        videos.append(SegmentVideo(
            video_id=video_id, subset=strings.get("subset", ""), duration=duration,
            url=strings.get("url", ""),
            segments=tuple(_segment(a, f"{where} annotation {i}")
                           for i, a in enumerate(annotations)),
            extra=extra, duration_text=duration_text, keys=tuple(entry)))
    return SegmentsFile(version, taxonomy, tuple(videos), tuple(doc),
                        {k: v for k, v in doc.items()
                         if k not in ("version", "taxonomy", "database")})


def _duration(value: Any, where: str) -> tuple[float | None, str | None]:
    """``(seconds, source text)`` of a ``duration``: a number, or a string holding one, as
    the published HACS Segments file writes it (``"92.166667"``); None when absent."""
    if value is None:
        return None, None
    text = value if isinstance(value, str) else None
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError
        seconds = float(value) if text is not None else _seconds(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise FormatError(f"{where}: 'duration' must be a number of seconds (or a string "
                          f"holding one), got {value!r}")
    return seconds, text


def _annotation(s: Segment) -> dict[str, Any]:
    """The annotation object of a segment: as the file wrote it while unchanged."""
    src = s.source
    if src is not None and src.get("label") == s.label:
        span = src.get("segment")
        if (isinstance(span, list) and len(span) == 2
                and float(span[0]) == s.start and float(span[1]) == s.end):
            return src
    return {"label": s.label, "segment": [s.start, s.end]}


def _video_entry(v: SegmentVideo, add_duration: bool) -> dict[str, Any]:
    duration: Any = v.duration
    if v.duration_text is not None and float(v.duration_text) == v.duration:
        duration = v.duration_text
    fields = {"subset": v.subset, "duration": duration, "url": v.url,
              "annotations": [_annotation(s) for s in v.segments]}
    if v.keys is None:
        order = ["subset", "duration", "url", "annotations", *v.extra]
    else:
        order = list(v.keys)
        if "annotations" not in order and v.segments:
            order.append("annotations")
        if add_duration and "duration" not in order and v.duration is not None:
            order.append("duration")
    return {k: v.extra[k] if k in v.extra else fields[k] for k in order
            if k in v.extra or k in fields}


def missing_durations(data: SegmentsFile) -> list[str]:
    """Ids of the videos read from a file without a ``duration`` whose duration is known
    now: what ``add_duration`` would add."""
    return [v.video_id for v in data.videos
            if v.keys is not None and "duration" not in v.keys and v.duration is not None]


def segments_document(data: SegmentsFile, add_duration: bool = False) -> dict[str, Any]:
    """The JSON object of a Segments file: the source's keys in the source's order (HACS's
    order for what no file gave); ``add_duration``: also write a known duration where the
    video's entry had none."""
    database = {v.video_id: _video_entry(v, add_duration) for v in data.videos}
    values = {"version": data.version, "taxonomy": data.taxonomy, "database": database}
    if data.keys is None:
        order = [k for k in ("version", "taxonomy") if values[k] is not None]
        order += ["database", *data.extra]
    else:
        order = list(data.keys)
    return {k: data.extra[k] if k in data.extra else values[k] for k in order}


def format_segments_json(data: SegmentsFile, add_duration: bool = False) -> str:
    """Segments JSON text for ``data`` (see :func:`segments_document`), numbers not changed
    since they were read written as the source wrote them."""
    return dump_json(segments_document(data, add_duration), indent=1) + "\n"


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
