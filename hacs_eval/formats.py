"""Reading and validating evaluation inputs.

* Ground truth: ActivityNet / HACS Segments JSON
  (``{"database": {video_id: {"subset", "annotations": [{"label", "segment"}]}}}``;
  ``taxonomy`` and ``version`` are optional), read by the project's one Segments reader
  (:func:`transforms.hacs_files.read_segments`, whose docstring has the rules); with a subset
  to evaluate, every video must also name its ``subset``.
* Localization results: ActivityNet results JSON
  (``{"results": {video_id: [{"label", "score", "segment"}]}}``; ``label`` is optional for
  proposals).
* Clip labels: HACS Clips CSV (``classname,youtube_id,subset,start,end,label``, read by
  :mod:`transforms.hacs_files`) or our TFRecord clip shards.
* Clip predictions: CSV or JSON (see :func:`load_clip_predictions`).
* An optional local list of blocked video ids (one per line, or a JSON list) replaces the
  reference's network look-up.

Structural problems (missing fields, wrong types) raise :class:`FormatError`. Problems with
single entries (reversed segments, NaN scores, unknown videos or labels) are dropped and counted
in an :class:`Issues` tally, so they are reported instead of silently changing a number; with
``strict=True`` the first one raises instead. A ground-truth segment must be finite and
``0 <= start < end`` (``gt_<problem>`` otherwise); a predicted one may start before 0, as
ActivityNet's evaluation allows.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from transforms.hacs_files import (
    POSITIVE_LABEL,
    ClipRowProblem,
    FormatError,
    Segment,
    SegmentVideo,
    iter_clips_csv,
    read_segments,
    span_problem,
)

# Clips CSV rows with these problems are counted (as clip_<kind>) and skipped; any other bad
# value in a row makes the file unusable.
_COUNTED_CLIP_PROBLEMS = frozenset({"non_finite_segment", "reversed_segment",
                                    "zero_length_segment", "negative_start"})

@dataclass
class Issues:
    """Counted input problems (warnings: kind -> count, with up to three examples of each)
    and counted expected skips (``notes``, e.g. negative clips, blocked videos)."""

    strict: bool = False
    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    notes: Counter = field(default_factory=Counter)

    def add(self, kind: str, example: str) -> None:
        """Record one problem of ``kind``; raise :class:`FormatError` in strict mode."""
        if self.strict:
            raise FormatError(f"{kind}: {example}")
        self.counts[kind] += 1
        shown = self.examples.setdefault(kind, [])
        if len(shown) < 3:
            shown.append(example)

    def note(self, kind: str) -> None:
        """Count one expected skip (never an error)."""
        self.notes[kind] += 1

    def as_dict(self) -> dict[str, dict]:
        return {"warnings": {kind: {"count": n, "examples": self.examples[kind]}
                             for kind, n in sorted(self.counts.items())},
                "notes": dict(sorted(self.notes.items()))}

    def lines(self) -> list[str]:
        """Human-readable summary, one line per kind."""
        return [f"warning: {n} x {kind} (e.g. {'; '.join(self.examples[kind])})"
                for kind, n in sorted(self.counts.items())]


@dataclass(frozen=True)
class Segments:
    """Temporal segments over videos as flat arrays, one row per segment.

    ``video`` indexes ``videos``; ``segments`` is ``(n, 2)`` start/end in seconds; ``label``
    indexes ``label_names`` (-1: none); ``score`` is the confidence (1.0 for ground truth).
    Rows keep the order of the input file, on which the tie-breaks for equal scores act.
    """

    videos: tuple[str, ...]
    video: np.ndarray
    segments: np.ndarray
    label: np.ndarray
    score: np.ndarray
    label_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.video)


# How equal scores are ordered. "reference": as ActivityNet's ``scores.argsort()[::-1]`` over
# the rows in file order (a stable ascending sort, reversed: of two equal scores the row LATER
# in the file ranks first). "file-order": the row earlier in the file ranks first.
TIE_BREAKS = ("reference", "file-order")


def group_score_order(groups: np.ndarray, scores: np.ndarray,
                      tie_break: str = "reference") -> np.ndarray:
    """Row order by group (ascending), then score (descending), then by ``tie_break``
    (see :data:`TIE_BREAKS`): input row descending (``"reference"``) or ascending
    (``"file-order"``)."""
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"tie_break must be one of {TIE_BREAKS}, got {tie_break!r}")
    rows = np.arange(len(scores))
    return np.lexsort((-rows if tie_break == "reference" else rows, -scores, groups))


@dataclass(frozen=True)
class GroundTruth:
    """Ground-truth segments of one subset.

    ``subset_videos`` are all videos of the subset (blocked ones removed), including those
    without annotations; ``segments.videos`` equals it.
    """

    segments: Segments
    subset: str | None

    @property
    def subset_videos(self) -> tuple[str, ...]:
        return self.segments.videos

    @property
    def label_names(self) -> tuple[str, ...]:
        return self.segments.label_names


def _load_json(path: str) -> object:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise FormatError(f"{path}: cannot read JSON ({e})") from e


def load_blocked(path: str | None) -> frozenset[str]:
    """Video ids to leave out of ground truth and results: a JSON list, or one id per line
    (blank lines and ``#`` comments ignored). ``None`` means no list."""
    if path is None:
        return frozenset()
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise FormatError(f"{path}: cannot read blocked list ({e})") from e
    if text.lstrip().startswith("["):
        data = json.loads(text)
        if not all(isinstance(v, str) for v in data):
            raise FormatError(f"{path}: blocked list must be a list of strings")
        return frozenset(data)
    return frozenset(line.strip() for line in text.splitlines()
                     if line.strip() and not line.lstrip().startswith("#"))


def _segment(value: object, where: str) -> tuple[float, float]:
    if not (isinstance(value, list | tuple) and len(value) == 2):
        raise FormatError(f"{where}: 'segment' must be [start, end], got {value!r}")
    try:
        return float(value[0]), float(value[1])
    except (TypeError, ValueError) as e:
        raise FormatError(f"{where}: segment times must be numbers, got {value!r}") from e


def _segment_problem(start: float, end: float) -> str | None:
    """What is wrong with a predicted segment: the span rules of the HACS files, except that
    a prediction may start before 0 (ActivityNet's evaluation does not refuse one)."""
    problem = span_problem(start, end)
    return None if problem == "negative_start" else problem


def _subset_videos(data: object, subset: str | None, blocked: Iterable[str], issues: Issues,
                   source: str) -> list[SegmentVideo]:
    """The videos of ``subset`` (``None``: all) of a parsed ActivityNet/HACS ground-truth JSON,
    read by :func:`transforms.hacs_files.read_segments`, in file order, blocked videos left
    out (counted as ``blocked_video_skipped``). With a subset every video must name its own."""
    blocked = frozenset(blocked)
    videos = []
    for video in read_segments(data, source).videos:
        if subset is not None:
            if "subset" not in (video.keys or ()):
                raise FormatError(f"{source} database[{video.video_id!r}]: missing 'subset'")
            if video.subset != subset:
                continue
        if video.video_id in blocked:
            issues.note("blocked_video_skipped")
            continue
        videos.append(video)
    if not videos:
        raise FormatError(f"{source}: no video in subset {subset!r}")
    return videos


def _count_bad_span(video_id: str, segment: Segment, issues: Issues) -> bool:
    """Whether the span of a ground-truth segment breaks the format's rule (finite,
    ``0 <= start < end``); such a span is counted as ``gt_<problem>``."""
    problem = segment.problem
    if problem:
        issues.add(f"gt_{problem}", f"{video_id} [{float(segment.start)}, {float(segment.end)}]")
    return problem is not None


def parse_ground_truth(data: object, subset: str | None = "validation",
                       blocked: Iterable[str] = (), issues: Issues | None = None,
                       source: str = "ground truth") -> GroundTruth:
    """Ground truth of ``subset`` (``None``: all subsets) from a parsed ActivityNet/HACS JSON.

    Videos in ``blocked`` are left out. Segments that are reversed, zero-length, not finite or
    start before 0 are dropped and counted as ``gt_<problem>`` in ``issues``. Labels are
    indexed in sorted name order.
    """
    issues = issues if issues is not None else Issues()
    videos: list[str] = []
    rows: list[tuple[int, float, float, str]] = []
    for video in _subset_videos(data, subset, blocked, issues, source):
        vidx = len(videos)
        videos.append(video.video_id)
        rows += [(vidx, float(s.start), float(s.end), s.label) for s in video.segments
                 if not _count_bad_span(video.video_id, s, issues)]
    names = tuple(sorted({r[3] for r in rows}))
    index = {name: i for i, name in enumerate(names)}
    segments = Segments(
        videos=tuple(videos),
        video=np.array([r[0] for r in rows], dtype=np.int64),
        segments=np.array([(r[1], r[2]) for r in rows], dtype=np.float64).reshape(-1, 2),
        label=np.array([index[r[3]] for r in rows], dtype=np.int64),
        score=np.ones(len(rows)),
        label_names=names)
    return GroundTruth(segments=segments, subset=subset)


def load_ground_truth(path: str, subset: str | None = "validation",
                      blocked: Iterable[str] = (), issues: Issues | None = None) -> GroundTruth:
    """:func:`parse_ground_truth` of the JSON file at ``path``."""
    return parse_ground_truth(_load_json(path), subset, blocked, issues, source=path)


class _ResultVideos:
    """The video index of each results entry, by the reference's rules: subset videos first
    (in the ground truth's order), blocked videos skipped (``blocked_video_skipped``), videos
    outside the subset counted (``video_outside_subset``) and appended, as the reference keeps
    them, or skipped with ``drop_outside``. ``videos`` lists the ids by index."""

    def __init__(self, subset_videos: Iterable[str], blocked: Iterable[str],
                 drop_outside: bool, issues: Issues):
        self.videos = list(subset_videos)
        self._index = {v: i for i, v in enumerate(self.videos)}
        self._blocked = frozenset(blocked)
        self._drop_outside = drop_outside
        self._issues = issues

    def index(self, video_id: str, what: str) -> int | None:
        """The index of ``video_id``, or None when its entries are left out; ``what`` (e.g.
        ``"3 segments"``) goes into the outside-subset note."""
        if video_id in self._blocked:
            self._issues.note("blocked_video_skipped")
            return None
        vidx = self._index.get(video_id)
        if vidx is None:
            self._issues.add("video_outside_subset", f"{video_id} ({what})")
            if self._drop_outside:
                return None
            vidx = self._index[video_id] = len(self.videos)
            self.videos.append(video_id)
        return vidx


def parse_results(data: object, gt: GroundTruth, *, with_labels: bool,
                  drop_outside: bool = False, blocked: Iterable[str] = (),
                  issues: Issues | None = None, source: str = "results") -> Segments:
    """Localization results (ActivityNet results JSON, parsed) aligned with ``gt``.

    The returned :class:`Segments` use ``gt.subset_videos`` as the first video ids, so video
    indexes agree with the ground truth; labels index ``gt.label_names``. Rows are dropped and
    counted in ``issues`` when the segment is reversed / zero-length / not finite, the score is
    NaN or infinite, or the label is not in the ground truth subset (``with_labels``). Rows of
    videos outside the subset are counted (``video_outside_subset``) and kept, with appended
    video ids, as the reference does: they count in the proposal total / as false positives.
    With ``drop_outside`` they are dropped instead.
    """
    issues = issues if issues is not None else Issues()
    if not isinstance(data, Mapping) or not isinstance(data.get("results"), Mapping):
        raise FormatError(f"{source}: expected an object with a 'results' object")
    videos = _ResultVideos(gt.subset_videos, blocked, drop_outside, issues)
    label_index = {name: i for i, name in enumerate(gt.label_names)}
    vid_col, seg_col, label_col, score_col = [], [], [], []
    for video_id, entries in data["results"].items():
        where = f"{source}: results[{video_id!r}]"
        if not isinstance(entries, list):
            raise FormatError(f"{where}: expected a list of segments")
        vidx = videos.index(video_id, f"{len(entries)} segments")
        if vidx is None:
            continue
        for k, entry in enumerate(entries):
            if not isinstance(entry, Mapping) or "segment" not in entry or "score" not in entry:
                raise FormatError(f"{where}[{k}]: needs 'segment' and 'score'")
            start, end = _segment(entry["segment"], f"{where}[{k}]")
            try:
                score = float(entry["score"])
            except (TypeError, ValueError) as e:
                raise FormatError(f"{where}[{k}]: 'score' must be a number") from e
            problem = _segment_problem(start, end)
            if problem:
                issues.add(problem, f"{video_id} [{start}, {end}]")
                continue
            if not math.isfinite(score):
                issues.add("non_finite_score", f"{video_id} score={score}")
                continue
            label = -1
            if with_labels:
                if "label" not in entry:
                    raise FormatError(f"{where}[{k}]: needs 'label'")
                label = label_index.get(entry["label"], -1)
                if label < 0:
                    issues.add("unknown_label", f"{video_id} label={entry['label']!r}")
                    continue
            vid_col.append(vidx)
            seg_col.append((start, end))
            label_col.append(label)
            score_col.append(score)
    return Segments(
        videos=tuple(videos.videos),
        video=np.array(vid_col, dtype=np.int64),
        segments=np.array(seg_col, dtype=np.float64).reshape(-1, 2),
        label=np.array(label_col, dtype=np.int64),
        score=np.array(score_col, dtype=np.float64),
        label_names=gt.label_names)


def load_results(path: str, gt: GroundTruth, *, with_labels: bool, drop_outside: bool = False,
                 blocked: Iterable[str] = (), issues: Issues | None = None) -> Segments:
    """:func:`parse_results` of the JSON file at ``path``."""
    return parse_results(_load_json(path), gt, with_labels=with_labels,
                         drop_outside=drop_outside, blocked=blocked, issues=issues, source=path)


# --- video classification (ActivityNet's untrimmed video classification task) ----------


def _label_scores(value: object, where: str) -> list[tuple[str, float]]:
    """``[(label, score)]`` of a classification results entry, a list of
    ``{"label": name, "score": s}`` (the ActivityNet classification results format), in list
    order; anything else raises :class:`FormatError`."""
    if not isinstance(value, list) or not all(
            isinstance(e, Mapping) and isinstance(e.get("label"), str) for e in value):
        raise FormatError(f"{where}: expected a list of {{label, score}}")
    try:
        return [(e["label"], float(e["score"])) for e in value]
    except (KeyError, TypeError, ValueError) as e:
        raise FormatError(f"{where}: every entry needs a numeric 'score'") from e


@dataclass(frozen=True)
class VideoLabels:
    """Video-level ground truth of one subset: its distinct (video, class) pairs.

    ``videos`` are all videos of the subset in file order (blocked ones removed), those
    without annotations included; ``video`` / ``label`` hold one row per distinct pair, in
    order of first appearance, indexing ``videos`` / ``label_names`` (sorted names of the
    classes annotated in the subset).
    """

    videos: tuple[str, ...]
    video: np.ndarray
    label: np.ndarray
    label_names: tuple[str, ...]
    subset: str | None


def parse_video_labels(data: object, subset: str | None = "validation",
                       blocked: Iterable[str] = (), issues: Issues | None = None,
                       source: str = "ground truth") -> VideoLabels:
    """Class labels per video of ``subset`` (``None``: all) from a parsed ActivityNet / HACS
    JSON, as ActivityNet's ``eval_classification.py`` reads them (lines 73-86): every
    annotation's ``label`` counts, whatever its span, and a label given twice in one video is
    one pair (its ``drop_duplicates``). The file is read by the same rules as for
    localization, so every annotation needs a ``segment``; a span that breaks them is counted
    (``gt_<problem>``) and its label still counts, as the span has no part in the score.
    """
    issues = issues if issues is not None else Issues()
    videos: list[str] = []
    pairs: dict[tuple[int, str], None] = {}
    for video in _subset_videos(data, subset, blocked, issues, source):
        vidx = len(videos)
        videos.append(video.video_id)
        for segment in video.segments:
            _count_bad_span(video.video_id, segment, issues)
            pairs.setdefault((vidx, segment.label), None)
    names = tuple(sorted({label for _, label in pairs}))
    index = {name: i for i, name in enumerate(names)}
    return VideoLabels(videos=tuple(videos),
                       video=np.array([v for v, _ in pairs], dtype=np.int64),
                       label=np.array([index[lab] for _, lab in pairs], dtype=np.int64),
                       label_names=names, subset=subset)


def load_video_labels(path: str, subset: str | None = "validation", blocked: Iterable[str] = (),
                      issues: Issues | None = None) -> VideoLabels:
    """:func:`parse_video_labels` of the JSON file at ``path``."""
    return parse_video_labels(_load_json(path), subset, blocked, issues, source=path)


@dataclass(frozen=True)
class VideoScores:
    """Scored class guesses for videos, one row per results entry, in file order (videos in
    file order, then list order), on which the tie-breaks act.

    ``videos`` starts with the ground truth's ``videos`` (so indexes agree), then the videos
    outside the subset that were kept; ``label`` indexes ``label_names`` (the ground truth's),
    -1 for a label that is not a class of the subset: such a guess still takes a place in its
    video's top k, and it can never be right.
    """

    videos: tuple[str, ...]
    video: np.ndarray
    label: np.ndarray
    score: np.ndarray
    label_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.video)


def parse_video_predictions(data: object, gt: VideoLabels, *, drop_outside: bool = False,
                            blocked: Iterable[str] = (), issues: Issues | None = None,
                            source: str = "predictions") -> VideoScores:
    """Video classification results (``{"results": {video_id: [{"label", "score"}]}}``,
    parsed) aligned with ``gt``.

    As ``eval_classification.py`` (lines 110-118) every video's results are kept, also those
    of videos outside the subset (counted as ``video_outside_subset``; dropped with
    ``drop_outside``); blocked videos are left out. An entry with a non-finite score is
    dropped (``non_finite_score``); one whose label is not a class of the subset is counted
    (``unknown_label``; the reference stops with a ``KeyError``) and kept with label -1.
    """
    issues = issues if issues is not None else Issues()
    if not isinstance(data, Mapping) or not isinstance(data.get("results"), Mapping):
        raise FormatError(f"{source}: expected an object with a 'results' object")
    videos = _ResultVideos(gt.videos, blocked, drop_outside, issues)
    label_index = {name: i for i, name in enumerate(gt.label_names)}
    vid_col: list[int] = []
    label_col: list[int] = []
    score_col: list[float] = []
    for video_id, value in data["results"].items():
        pairs = _label_scores(value, f"{source}: results[{video_id!r}]")
        vidx = videos.index(video_id, f"{len(pairs)} labels")
        if vidx is None:
            continue
        for name, score in pairs:
            if not math.isfinite(score):
                issues.add("non_finite_score", f"{video_id} {name}={score}")
                continue
            label = label_index.get(name, -1)
            if label < 0:
                issues.add("unknown_label", f"{video_id} label={name!r}")
            vid_col.append(vidx)
            label_col.append(label)
            score_col.append(score)
    return VideoScores(videos=tuple(videos.videos), video=np.array(vid_col, dtype=np.int64),
                       label=np.array(label_col, dtype=np.int64),
                       score=np.array(score_col, dtype=np.float64), label_names=gt.label_names)


def load_video_predictions(path: str, gt: VideoLabels, *, drop_outside: bool = False,
                           blocked: Iterable[str] = (),
                           issues: Issues | None = None) -> VideoScores:
    """:func:`parse_video_predictions` of the JSON file at ``path``."""
    return parse_video_predictions(_load_json(path), gt, drop_outside=drop_outside,
                                   blocked=blocked, issues=issues, source=path)


# --- clip classification -------------------------------------------------------------------


@dataclass(frozen=True)
class ClipTarget:
    """The true class of one clip (a classification target): ``label`` is the class name."""

    clip_id: str
    label: str
    subset: str


def load_clips_csv(path: str, subset: str | None = None, issues: Issues | None = None,
                   blocked: Iterable[str] = ()) -> list[ClipTarget]:
    """Positive clips of a HACS Clips CSV (``classname,youtube_id,subset,start,end,label``,
    header row required; ``label`` 1 = positive, -1 = negative).

    Clip ids are :func:`transforms.output.records.make_clip_id` of (youtube_id, start, end),
    the ids our shards carry. Negative clips are not classification targets and are skipped
    (counted as ``negative_clip_skipped``); rows with reversed, empty, negative or non-finite
    times are counted (``clip_<problem>``) and skipped. Rows outside ``subset`` or of blocked
    videos are skipped before their values are looked at.
    """
    # imported here: the record module pulls in torch (via tfrecord), seconds to import
    from transforms.output.records import make_clip_id

    issues = issues if issues is not None else Issues()
    blocked = frozenset(blocked)
    try:
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
    except OSError as e:
        raise FormatError(f"{path}: cannot read CSV ({e})") from e
    clips = []
    for row in iter_clips_csv(text, path):
        if subset is not None and row.subset != subset:
            continue
        if row.video_id in blocked:
            issues.note("blocked_video_skipped")
            continue
        if isinstance(row, ClipRowProblem):
            if row.kind not in _COUNTED_CLIP_PROBLEMS:
                raise FormatError(row.message)
            issues.add(f"clip_{row.kind}", f"{path}:{row.line}")
            continue
        if row.label != POSITIVE_LABEL:
            issues.note("negative_clip_skipped")
            continue
        clips.append(ClipTarget(make_clip_id(row.video_id, row.start, row.end), row.classname,
                                row.subset))
    return clips


def load_clips_shards(pattern: str, subset: str | None = None, include_unannotated: bool = False,
                      issues: Issues | None = None,
                      blocked: Iterable[str] = ()) -> list[ClipTarget]:
    """Labelled clips of our clip shards, TFRecord or WebDataset ``.tar`` (glob or directory,
    local or ``gs://``).

    A record is a classification target when its ``label_name`` is set and its annotation is
    positive (or not yet annotated, with ``include_unannotated``); negatives are skipped and
    counted.
    """
    # imported here: they pull in Apache Beam and torch (seconds), which only shards need
    from transforms.output.records import POSITIVE, UNANNOTATED, from_example
    from transforms.output.shards import iter_records, match_shards

    issues = issues if issues is not None else Issues()
    blocked = frozenset(blocked)
    paths = match_shards(pattern)
    if not paths:
        raise FormatError(f"{pattern}: no TFRecord shards found")
    clips = []
    for path in paths:
        for data in iter_records(path):
            rec = from_example(data)
            if subset is not None and rec.subset != subset:
                continue
            if rec.video_id in blocked:
                issues.note("blocked_video_skipped")
                continue
            accepted = (POSITIVE, UNANNOTATED) if include_unannotated else (POSITIVE,)
            if not rec.label_name:
                issues.note("unlabelled_clip_skipped")
            elif rec.annotation not in accepted:
                issues.note("negative_clip_skipped" if rec.annotation < 0
                            else "unannotated_clip_skipped")
            else:
                clips.append(ClipTarget(rec.clip_id, rec.label_name, rec.subset))
    return clips


def load_clip_labels(source: str, subset: str | None = None, include_unannotated: bool = False,
                     issues: Issues | None = None, blocked: Iterable[str] = ()) -> list[ClipTarget]:
    """Clip labels from a HACS Clips CSV (``*.csv``) or from TFRecord shards (anything else).

    Duplicate clip ids raise :class:`FormatError` when their labels disagree and are counted
    (``duplicate_clip``) and kept once otherwise.
    """
    issues = issues if issues is not None else Issues()
    if source.endswith(".csv"):
        clips = load_clips_csv(source, subset, issues, blocked)
    else:
        clips = load_clips_shards(source, subset, include_unannotated, issues, blocked)
    seen: dict[str, ClipTarget] = {}
    for clip in clips:
        prior = seen.get(clip.clip_id)
        if prior is None:
            seen[clip.clip_id] = clip
        elif prior.label != clip.label:
            raise FormatError(f"{source}: clip {clip.clip_id} labelled both "
                              f"{prior.label!r} and {clip.label!r}")
        else:
            issues.add("duplicate_clip", clip.clip_id)
    return list(seen.values())


@dataclass(frozen=True)
class ClipPrediction:
    """Ranked class guesses for one clip, best first (ties keep file order).

    ``scored`` is False when only a top label was given (top-5 is then undefined).
    """

    clip_id: str
    ranked: tuple[str, ...]
    scored: bool


def _rank(pairs: list[tuple[str, float]]) -> tuple[str, ...]:
    order = sorted(range(len(pairs)), key=lambda i: (-pairs[i][1], i))
    return tuple(pairs[i][0] for i in order)


def _finite_pairs(clip_id: str, pairs: list[tuple[str, float]],
                  issues: Issues) -> list[tuple[str, float]]:
    kept = []
    for name, score in pairs:
        if math.isfinite(score):
            kept.append((name, score))
        else:
            issues.add("non_finite_score", f"{clip_id} {name}={score}")
    return kept


def load_clip_predictions(path: str, issues: Issues | None = None) -> list[ClipPrediction]:
    """Per-clip predictions from CSV or JSON (by extension).

    * CSV with header ``clip_id,label``: the top label of each clip.
    * CSV with header ``clip_id,<class 1>,<class 2>,...``: one score per class (any scale,
      higher = more likely).
    * JSON ``{"results": {clip_id: [{"label": name, "score": s}, ...]}}`` (the ActivityNet
      classification results format; a list with one entry and no score is a top label), or
      ``{"results": {clip_id: name}}``.

    Classes are ranked by score, ties kept in file order. Non-finite scores are dropped and
    counted.
    """
    issues = issues if issues is not None else Issues()
    preds: list[ClipPrediction] = []
    if path.endswith(".json"):
        data = _load_json(path)
        if not isinstance(data, Mapping) or not isinstance(data.get("results"), Mapping):
            raise FormatError(f"{path}: expected an object with a 'results' object")
        for clip_id, value in data["results"].items():
            where = f"{path}: results[{clip_id!r}]"
            if isinstance(value, str):
                preds.append(ClipPrediction(clip_id, (value,), False))
                continue
            if (isinstance(value, list) and len(value) == 1 and isinstance(value[0], Mapping)
                    and "score" not in value[0] and isinstance(value[0].get("label"), str)):
                preds.append(ClipPrediction(clip_id, (value[0]["label"],), False))
                continue
            pairs = _label_scores(value, where)
            preds.append(ClipPrediction(clip_id, _rank(_finite_pairs(clip_id, pairs, issues)),
                                        True))
        return preds
    try:
        f = open(path, encoding="utf-8", newline="")
    except OSError as e:
        raise FormatError(f"{path}: cannot read CSV ({e})") from e
    with f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header or header[0] != "clip_id" or len(header) < 2:
            raise FormatError(f"{path}: header must start with 'clip_id' and have a label "
                              "column or one column per class")
        top_label_only = header == ["clip_id", "label"]
        classes = header[1:]
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise FormatError(f"{path}:{line}: {len(row)} fields, header has {len(header)}")
            if top_label_only:
                preds.append(ClipPrediction(row[0], (row[1],), False))
                continue
            try:
                pairs = [(c, float(v)) for c, v in zip(classes, row[1:], strict=True)]
            except ValueError as e:
                raise FormatError(f"{path}:{line}: scores must be numbers ({e})") from e
            preds.append(ClipPrediction(row[0], _rank(_finite_pairs(row[0], pairs, issues)),
                                        True))
    return preds
