"""The HACS Clips CSV: the one reader and writer of the format, for every tool in the project.

Plain Python (no Beam, no numpy), so the annotation tool, the evaluation toolkit and the
pipelines that apply labels share it without pulling in their dependencies on one another.

Clips CSV (HACS Clips v1.1): header ``classname,youtube_id,subset,start,end,label``; one row
per 2-second clip; ``start``/``end`` in seconds; ``label`` 1 (positive) or -1 (negative).
Columns are found by name in the header; the writer emits them in this order.

:func:`iter_clips_csv` is the row parser. File structure (header, field counts, empty names)
raises :class:`FormatError`; a row whose values break the format (times not numbers, not
finite or not ``0 <= start < end``, a label other than 1 / -1) comes out as a
:class:`ClipRowProblem`, so a caller decides whether it is fatal (:func:`parse_clips_csv`, the
annotation tool) or counted and skipped (the evaluation toolkit).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

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
    """Raise FormatError unless ``0 <= start < end`` (seconds)."""
    if start < 0 or end <= start:
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
    for r in rows:
        writer.writerow([r.classname, r.video_id, r.subset, repr(float(r.start)),
                         repr(float(r.end)), r.label])
    return out.getvalue()
