"""The HACS label files: the one reader and writer of each format, for every part of the project.

Plain Python (no Beam, no numpy), so the dataset job's pipelines, the annotation tool and the
evaluation toolkit share it without pulling in their dependencies on one another.

**Clips CSV** (HACS Clips v1.1): header ``classname,youtube_id,subset,start,end,label``; one
row per 2-second clip; ``start``/``end`` in seconds; ``label`` 1 (positive) or -1 (negative).
Columns are found by name in the header; the writer emits them in this order.

:func:`iter_clips_csv` is the row parser. File structure (header, field counts, empty names)
raises :class:`FormatError`; a row whose values break the format (times not numbers, not
finite or not ``0 <= start < end``, a label other than 1 / -1) comes out as a
:class:`ClipRowProblem`, so a caller decides whether it is fatal (:func:`parse_clips_csv`, the
annotation tool) or counted and skipped (the evaluation toolkit).

**Segments JSON** (HACS Segments v1.1, same layout as ActivityNet 1.3)::

    {"version": "...", "taxonomy": [...],
     "database": {"<video id>": {"subset": "training", "duration": 123.4, "url": "...",
                                 "annotations": [{"label": "Archery", "segment": [s, e]}]}}}

Times are seconds. :func:`read_segments` reads a parsed document, by one set of rules for
every reader of the format (the annotation tool, ``make_manifest``, ``person_recall`` and the
evaluation toolkit's ground truth): ``database`` an object of objects; ``version`` a string
and ``taxonomy`` a list when present; ``annotations`` a list (absent: none); each annotation
an object with a string ``label`` and a ``segment`` that is a list of two JSON numbers (not
strings, not booleans); ``duration``, when present, a finite number of seconds >= 0 or a
string holding one (the published HACS file writes ``"92.166667"``). A file that breaks one of
these raises :class:`FormatError` naming the entry. A segment's span must also be finite and
``0 <= start < end`` (the rule of the Clips CSV, :func:`span_problem`); a span that breaks it
is kept and its :attr:`Segment.problem` says why, so a caller decides whether it is fatal
(:func:`parse_segments_json`: the annotation tool and the pipelines) or counted and skipped
(the evaluation toolkit). Where the annotation tool and the evaluation toolkit used to differ,
the stricter rule was kept: a segment of strings or booleans, a missing ``segment``, a bad
``duration``, ``version`` or ``taxonomy`` are errors, and a negative or non-finite span is a
problem.

The writer gives back what the reader parsed: the same keys in the same order (per file, per
video and per annotation), the same types (a string duration stays a string) and, for every
number not changed since, the text the file wrote (``15`` stays ``15``, ``1e1`` stays
``1e1``: :class:`SourceNumber`); values set since are written fresh (Python's shortest
round-trip form). Keys the source lacked are only added where there is something new to say
(annotations of a video that had none) or when asked (``add_duration``). Unknown keys are
carried through (``extra``).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

CLIPS_HEADER = ("classname", "youtube_id", "subset", "start", "end", "label")
POSITIVE_LABEL = 1
NEGATIVE_LABEL = -1


class FormatError(ValueError):
    """A file that does not follow its format, or cannot be used; the message says where."""


@dataclass(frozen=True)
class ClipLabel:
    """One Clips CSV row: ``start``/``end`` in seconds, ``label`` 1 or -1."""

    classname: str
    video_id: str
    subset: str
    start: float
    end: float
    label: int


@dataclass(frozen=True)
class ClipRowProblem:
    """A Clips CSV row whose values break the format.

    ``kind`` is one of ``not_a_number``, ``non_finite_segment``, ``reversed_segment``,
    ``zero_length_segment``, ``negative_start``, ``bad_label``; ``message`` names the file
    and line (``where``) and says what is wrong. ``video_id`` and ``subset`` are the row's, so
    a caller can ignore problems of rows it would skip anyway.
    """

    kind: str
    message: str
    where: str
    line: int
    video_id: str
    subset: str


def span_problem(start: float, end: float) -> str | None:
    """What is wrong with a span in seconds, or None when ``0 <= start < end``, both finite."""
    if not (math.isfinite(start) and math.isfinite(end)):
        return "non_finite_segment"
    if end < start:
        return "reversed_segment"
    if end == start:
        return "zero_length_segment"
    if start < 0:
        return "negative_start"
    return None


def check_span(start: float, end: float, where: str) -> None:
    """Raise FormatError unless ``0 <= start < end`` (seconds), both finite."""
    if span_problem(start, end):
        raise FormatError(f"{where}: need 0 <= start < end, got start={start} end={end}")


def _row(fields: dict[str, str], where: str, line: int) -> ClipLabel | ClipRowProblem:
    video_id, subset = fields["youtube_id"], fields["subset"]

    def problem(kind: str, what: str) -> ClipRowProblem:
        return ClipRowProblem(kind, f"{where}: {what}", where, line, video_id, subset)

    times = []
    for name in ("start", "end"):
        text = fields[name]
        try:
            value = float(text)
        except ValueError:
            return problem("not_a_number", f"{name} {text!r} is not a number")
        if not math.isfinite(value):
            return problem("non_finite_segment", f"{name} {text!r} is not a finite number")
        times.append(value)
    start, end = times
    kind = span_problem(start, end)
    if kind:
        return problem(kind, f"need 0 <= start < end, got start={start} end={end}")
    label = fields["label"].strip()
    if label not in (str(POSITIVE_LABEL), str(NEGATIVE_LABEL)):
        return problem("bad_label", f"label must be 1 or -1, got {fields['label']!r}")
    return ClipLabel(fields["classname"], video_id, subset, start, end, int(label))


def _csv_rows(reader, name: str) -> Iterator[list[str]]:
    """``reader``'s rows; a row the csv module cannot read (a NUL byte, an unclosed quote
    at the end of the file) is a FormatError naming its line."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FormatError(f"{name} line {reader.line_num}: not CSV ({exc})") from None
        yield row


def iter_clips_csv(text: str, name: str = "clips.csv") -> Iterator[ClipLabel | ClipRowProblem]:
    """The rows of a Clips CSV, in file order: a :class:`ClipLabel` per valid row, a
    :class:`ClipRowProblem` per row with bad values. Blank lines are skipped.

    Raises :class:`FormatError` (naming the file, and the line for a row) when the header lacks
    a column, a row has the wrong number of fields, or ``classname`` / ``youtube_id`` is empty.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = _csv_rows(reader, name)
    header = next(rows, None)
    columns = [h.strip() for h in header or ()]
    missing = [c for c in CLIPS_HEADER if c not in columns]
    if missing:
        raise FormatError(f"{name}: header must be {','.join(CLIPS_HEADER)}, got {header} "
                          f"(missing CSV columns {missing})")
    for row in rows:
        where = f"{name} line {reader.line_num}"
        if not row:
            continue
        if len(row) != len(columns):
            raise FormatError(f"{where}: expected {len(columns)} fields, got {len(row)}")
        fields = dict(zip(columns, row, strict=True))
        if not fields["classname"] or not fields["youtube_id"]:
            raise FormatError(f"{where}: classname and youtube_id must not be empty")
        yield _row(fields, where, reader.line_num)


def parse_clips_csv(text: str, name: str = "clips.csv") -> list[ClipLabel]:
    """All rows of a Clips CSV; FormatError names the file and line of the first bad row."""
    rows = []
    for row in iter_clips_csv(text, name):
        if isinstance(row, ClipRowProblem):
            raise FormatError(row.message)
        rows.append(row)
    return rows


def format_clips_csv(rows: Iterable[ClipLabel]) -> str:
    """Clips CSV text for ``rows`` (in order), with header, ``\\n`` line ends; numbers in
    Python's shortest round-trip form, so :func:`parse_clips_csv` gives the rows back."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CLIPS_HEADER)
    writer.writerows(clips_csv_fields(r) for r in rows)
    return out.getvalue()


def clips_csv_fields(row: ClipLabel) -> list[str | int]:
    """The fields of ``row`` in :data:`CLIPS_HEADER` order, as :func:`format_clips_csv`
    writes them (for files that extend the Clips CSV with columns of their own)."""
    return [row.classname, row.video_id, row.subset, repr(float(row.start)),
            repr(float(row.end)), row.label]


# --- Segments JSON ---------------------------------------------------------------------


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
    """A number of seconds read from a file as a float that writes back the file's text: an
    int ``15`` becomes a :class:`SourceNumber`; a float is one already (:func:`load_json`)
    or a plain float from ``json.loads``, whose shortest form is the text it was read from."""
    return value if isinstance(value, float) else SourceNumber(str(value))


@dataclass(frozen=True)
class Segment:
    """One labelled segment of a video, ``start``/``end`` in seconds.

    ``source``: the annotation object as the file wrote it (all its keys, in order), written
    back as it was while label and span are unchanged."""

    label: str
    start: float
    end: float
    source: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def problem(self) -> str | None:
        """What is wrong with the span (see :func:`span_problem`), or None."""
        return span_problem(self.start, self.end)


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


def _is_number(value: Any) -> bool:
    """A JSON number (``bool`` is an ``int`` to Python, not to JSON)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _entry(name: str, video_id: str) -> str:
    """How error messages name a video's entry of a Segments file."""
    return f"{name} database[{video_id!r}]"


def _segment(entry: Any, where: str) -> Segment:
    if not isinstance(entry, dict) or not isinstance(entry.get("label"), str):
        raise FormatError(f"{where}: an annotation needs a string 'label'")
    span = entry.get("segment")
    if not (isinstance(span, list) and len(span) == 2 and _is_number(span[0])
            and _is_number(span[1])):
        raise FormatError(f"{where}: 'segment' must be [start, end], two numbers of seconds, "
                          f"got {span!r}")
    return Segment(entry["label"], _seconds(span[0]), _seconds(span[1]), entry)


def read_segments(doc: Any, name: str = "segments.json") -> SegmentsFile:
    """A parsed Segments / ActivityNet JSON document (``json.loads`` or :func:`load_json`),
    checked by the rules of the module docstring; FormatError names the bad entry. Segments
    whose span breaks ``0 <= start < end`` are kept: see :attr:`Segment.problem`."""
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
        where = _entry(name, video_id)
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


def parse_segments_json(text: str, name: str = "segments.json") -> SegmentsFile:
    """Parse a Segments / ActivityNet JSON file (:func:`read_segments`); a segment whose span
    breaks ``0 <= start < end`` is an error too. FormatError says which entry is bad."""
    try:
        doc = load_json(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{name}: not JSON: {exc}") from None
    data = read_segments(doc, name)
    for video in data.videos:
        for i, segment in enumerate(video.segments):
            check_span(segment.start, segment.end,
                       f"{_entry(name, video.video_id)} annotation {i}")
    return data


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
