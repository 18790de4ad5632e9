"""A pipeline manifest from a HACS labels file and a folder of downloaded videos.

The labels are a HACS Clips CSV (``classname,youtube_id,subset,start,end,label``) or a
Segments / ActivityNet JSON (``{"database": {id: {"subset", "annotations": [{"label",
"segment"}], ...}}}``); the file's first non-blank character (``{`` or not) says which. The
videos are found as the HACS / ActivityNet download scripts save them,
``ROOT/<classname>/v_<youtube_id>.mp4``, or flat in ``ROOT`` (``v_<id>.mp4`` or ``<id>.mp4``),
any extension of :data:`transforms.inputs.manifest.VIDEO_EXTENSIONS`; local or a bucket.

File ids follow the glob input's rule (``transforms.inputs.manifest.glob_videos``: the file
name without extension and without a leading ``v_``; one video saved under two class
folders, same size, is one file). A labels id and a file id name the same video when they
are equal after :func:`transforms.inputs.manifest.normalise_video_id` (a leading ``v_``
dropped from each), so ``v_<id>`` and bare ids match either way; ``--keep_v_prefix``
compares ids as written and keeps the ``v_`` of file names.

The manifest (CSV, the columns :func:`transforms.inputs.manifest.parse_manifest` reads) has
one row per labelled video with a file: ``video_id`` (the file's id, as a glob ``--input``
would give it), ``uri`` (absolute path or bucket URI), ``label`` (its class; empty when the
labels give the video several classes, so its clips take any class's rows in
``apply_labels``), ``subset``, and ``classes`` (every class the labels give it,
``|``-separated; the pipeline ignores the column). A video's classes are the ``classname``
of all its CSV rows (positive and negative clips alike: HACS samples both from the videos
of a class) or the labels of its JSON annotations.

Labels videos without a file and files no labels row names are counted and listed on
stderr (the first 20) and in full in ``--report``. Bad input (an unreadable or malformed
labels file, no video file under ROOT, two different files for one id, one video in two
subsets) and a run that matches no video end with status 2 and one line.

    python -m pipelines.make_manifest --labels HACS_clips_v1.1.csv --videos ROOT \\
        --output manifest.csv [--subset training] [--keep_v_prefix] [--report report.json]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from apache_beam.io.filesystems import FileSystems

from transforms.hacs_files import ClipLabel, FormatError, parse_clips_csv, parse_segments_json
from transforms.inputs.manifest import ManifestError, glob_videos, normalise_video_id
from transforms.text import decode_utf8
from transforms.types import VideoRef

COLUMNS = ("video_id", "uri", "label", "subset", "classes")
CLASS_SEPARATOR = "|"
SHOWN = 20  # ids / files listed on stderr


class MakeManifestError(ValueError):
    """The inputs cannot make a manifest; the message names the file (and row or video)."""


@dataclass(frozen=True)
class LabelledVideo:
    """A video the labels file names: its id as written there, its subset and its classes
    (sorted)."""

    video_id: str
    subset: str
    classes: tuple[str, ...]


@dataclass(frozen=True)
class ManifestRow:
    """One manifest row: ``video_id`` is the file's id, ``label`` is empty unless the video
    has exactly one class."""

    video_id: str
    uri: str
    label: str
    subset: str
    classes: tuple[str, ...]


@dataclass(frozen=True)
class ManifestSummary:
    """What a run found: the labels' videos (of the subset), the manifest rows, the labels
    ids without a file, the files (uri) no labels id names, and the video ids given several
    classes."""

    labelled_videos: int
    rows: tuple[ManifestRow, ...]
    ids_without_file: tuple[str, ...]
    files_without_id: tuple[str, ...]
    multi_class_videos: tuple[str, ...]


def videos_from_clips(rows: Iterable[ClipLabel], subset: str | None = None,
                      name: str = "labels") -> list[LabelledVideo]:
    """The videos of Clips CSV rows (of ``subset``; None: all), in order of first row; a
    video whose rows give two subsets raises :class:`MakeManifestError`."""
    subsets: dict[str, str] = {}
    classes: dict[str, set[str]] = {}
    for row in rows:
        if subset is not None and row.subset != subset:
            continue
        first = subsets.setdefault(row.video_id, row.subset)
        if first != row.subset:
            raise MakeManifestError(f"{name}: video {row.video_id!r} is in subsets "
                                    f"{first!r} and {row.subset!r}")
        classes.setdefault(row.video_id, set()).add(row.classname)
    return [LabelledVideo(v, subsets[v], tuple(sorted(c))) for v, c in classes.items()]


def videos_from_segments(text: str, subset: str | None = None,
                         name: str = "labels") -> list[LabelledVideo]:
    """The videos of a Segments JSON (of ``subset``; None: all), in file order, read by the
    project's Segments reader (``transforms.hacs_files.parse_segments_json``); a video without
    annotations has no class."""
    return [LabelledVideo(v.video_id, v.subset, tuple(sorted({s.label for s in v.segments})))
            for v in parse_segments_json(text, name).videos
            if subset is None or v.subset == subset]


def read_labelled_videos(path: str, subset: str | None = None) -> list[LabelledVideo]:
    """The videos a labels file (local or any FileSystems URI) names: a Segments JSON when its
    first non-blank character is ``{``, else a Clips CSV."""
    try:
        with FileSystems.open(path, compression_type="uncompressed") as f:
            data = f.read()
    except Exception as exc:  # a missing file, a denied bucket: the same user error
        raise MakeManifestError(f"cannot read labels file {path}: {exc}") from exc
    text = decode_utf8(data, path, MakeManifestError, "labels file")
    if text.lstrip()[:1] == "{":
        return videos_from_segments(text, subset, path)
    return videos_from_clips(parse_clips_csv(text, path), subset, path)


def _local_uri(uri: str) -> str:
    return uri if "://" in uri else os.path.abspath(uri)


def match_videos(videos: Sequence[LabelledVideo], files: Sequence[VideoRef],
                 strip_v_prefix: bool = True) -> ManifestSummary:
    """Pair labelled videos with video files by id (see the module docstring); ``files`` are
    :func:`transforms.inputs.manifest.glob_videos` refs. Two labels ids or two file ids that
    name the same video raise :class:`MakeManifestError`."""
    def key(video_id: str) -> str:
        return normalise_video_id(video_id, strip_v_prefix)

    by_key: dict[str, VideoRef] = {}
    for ref in files:
        other = by_key.setdefault(key(ref.video_id), ref)
        if other is not ref:
            raise MakeManifestError(f"files {other.uri} and {ref.uri} give the same video id "
                                    f"{key(ref.video_id)!r}")
    seen: dict[str, str] = {}
    rows, missing = [], []
    for video in videos:
        k = key(video.video_id)
        if seen.setdefault(k, video.video_id) != video.video_id:
            raise MakeManifestError(f"labels ids {seen[k]!r} and {video.video_id!r} name the "
                                    f"same video {k!r}")
        ref = by_key.get(k)
        if ref is None:
            missing.append(video.video_id)
            continue
        label = video.classes[0] if len(video.classes) == 1 else ""
        rows.append(ManifestRow(ref.video_id, _local_uri(ref.uri), label, video.subset,
                                video.classes))
    return ManifestSummary(
        labelled_videos=len(videos), rows=tuple(rows), ids_without_file=tuple(missing),
        files_without_id=tuple(_local_uri(r.uri) for k, r in by_key.items() if k not in seen),
        multi_class_videos=tuple(r.video_id for r in rows if len(r.classes) > 1))


def format_manifest(rows: Iterable[ManifestRow]) -> str:
    """Manifest CSV text (header :data:`COLUMNS`, ``\\n`` line ends)."""
    for row in rows:
        if any(CLASS_SEPARATOR in c for c in row.classes):
            raise MakeManifestError(f"video {row.video_id!r}: a class name holds "
                                    f"{CLASS_SEPARATOR!r}, the separator of 'classes'")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([row.video_id, row.uri, row.label, row.subset,
                         CLASS_SEPARATOR.join(row.classes)])
    return out.getvalue()


def _write(path: str, text: str) -> None:
    with FileSystems.create(path) as f:
        f.write(text.encode("utf-8"))


def _listing(what: str, items: Sequence[str]) -> str:
    more = f" ... and {len(items) - SHOWN} more (--report lists all)" if len(items) > SHOWN else ""
    return f"{len(items)} {what}: {', '.join(items[:SHOWN])}{more}"


def summary_line(summary: ManifestSummary, labels: str, output: str) -> str:
    """One line of a run's counts."""
    return (f"make_manifest: {len(summary.rows)} of {summary.labelled_videos} videos of "
            f"{labels} have a file, {len(summary.ids_without_file)} without; "
            f"{len(summary.files_without_id)} files not in the labels; "
            f"{len(summary.multi_class_videos)} videos with several classes; wrote {output}")


def build_parser(parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser
                 ) -> argparse.ArgumentParser:
    """The command line's parser, of class ``parser_class`` (docs/options.md is made with
    one that lists what is added to it)."""
    parser = parser_class(prog="python -m pipelines.make_manifest",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", required=True,
                        help="HACS Clips CSV or Segments / ActivityNet JSON (local or gs://)")
    parser.add_argument("--videos", required=True,
                        help="download folder: ROOT/<classname>/v_<id>.mp4 or ROOT/<id>.mp4")
    parser.add_argument("--output", required=True, help="manifest CSV to write")
    parser.add_argument("--subset", default=None,
                        help="only videos of this subset (training, validation, testing); "
                             "default: all")
    parser.add_argument("--keep_v_prefix", action="store_true",
                        help="compare ids as written and keep the leading v_ of file names "
                             "(default: drop it, as a glob --input does)")
    parser.add_argument("--report", default=None,
                        help="also write the counts and full lists (ids without a file, "
                             "files without an id, videos with several classes) as JSON here")
    return parser


def run(argv: Sequence[str] | None = None) -> ManifestSummary:
    """Write the manifest (and the report); print the unmatched lists to stderr and the
    summary line to stdout. Raises :class:`MakeManifestError`, ``FormatError`` or
    ``ManifestError`` for inputs it cannot use, and ``MakeManifestError`` when no labelled
    video has a file (nothing is written then)."""
    args = build_parser().parse_args(argv)
    strip = not args.keep_v_prefix
    videos = read_labelled_videos(args.labels, args.subset)
    if not videos:
        raise MakeManifestError(f"{args.labels}: no video"
                                + (f" in subset {args.subset!r}" if args.subset else ""))
    root = args.videos.rstrip("/")
    files = glob_videos([f"{root}/*", f"{root}/*/*"], strip)
    summary = match_videos(videos, files, strip)
    if not summary.rows:
        raise MakeManifestError(
            f"none of the {len(videos)} videos of {args.labels} has a file under {root} "
            f"({len(files)} video files; ids compared "
            + ("as written" if args.keep_v_prefix else "without a leading v_") + ")")
    _write(args.output, format_manifest(summary.rows))
    if summary.ids_without_file:
        print(_listing("labelled videos without a file", summary.ids_without_file),
              file=sys.stderr)
    if summary.files_without_id:
        print(_listing("video files not in the labels", summary.files_without_id),
              file=sys.stderr)
    if args.report:
        _write(args.report, json.dumps({
            "labels": args.labels, "videos": args.videos, "output": args.output,
            "subset": args.subset, "keep_v_prefix": args.keep_v_prefix,
            "labelled_videos": summary.labelled_videos, "rows": len(summary.rows),
            "ids_without_file": list(summary.ids_without_file),
            "files_without_id": list(summary.files_without_id),
            "multi_class_videos": list(summary.multi_class_videos)}, indent=1))
    print(summary_line(summary, args.labels, args.output))
    return summary


def main() -> None:
    try:
        run()
    except (MakeManifestError, FormatError, ManifestError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
