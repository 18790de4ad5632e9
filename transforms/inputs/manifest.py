"""Reading the list of input videos: a manifest (CSV, JSON Lines or a JSON array) or a glob.

Manifest problems are found before a job starts, with a message that names the row. A
manifest is UTF-8 (a byte-order mark and CRLF line endings, as spreadsheet exports write
them, are accepted); its format is told by its content, not its name.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Sequence

from transforms.text import decode_utf8
from transforms.types import VideoRef

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".flv", ".mpg", ".mpeg",
                    ".wmv", ".3gp")
REQUIRED = ("video_id", "uri")
V_PREFIX = "v_"  # the HACS and ActivityNet download tools save <classname>/v_<youtube_id>.mp4

_LOG = logging.getLogger(__name__)

# The annotation tool serves a video at /media/videos/<video_id>: a '/' (even as %2F, which
# the server decodes before routing) splits the path and '.' / '..' are folded away by
# browsers, so such ids are refused rather than half-served; control characters too, as
# they have no place in a URL, a CSV cell or a log line.


def video_id_problem(video_id: str) -> str | None:
    """Why ``video_id`` cannot be served in one URL path segment by the annotation tool, or
    None when it can."""
    if video_id in (".", ".."):
        return f"video_id {video_id!r} is a path step, not a name"
    for char in video_id:
        if char == "/":
            return f"video_id {video_id!r} contains {char!r}"
        if not char.isprintable():
            return f"video_id {video_id!r} contains the control character {char!r}"
    return None


class ManifestError(ValueError):
    """The manifest cannot be used; the message names the file and row."""


def _read_text(path: str) -> str:
    from apache_beam.io.filesystems import FileSystems

    try:
        with FileSystems.open(path, compression_type="uncompressed") as f:
            data = f.read()
    except Exception as exc:  # any failure to read is the same user error
        raise ManifestError(f"cannot read manifest {path}: {exc}") from exc
    return decode_utf8(data, path, ManifestError, "manifest")


def _json_lines(text: str, name: str) -> list[tuple[str, dict]]:
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{name} line {lineno}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise ManifestError(f"{name} line {lineno}: expected a JSON object")
        rows.append((f"line {lineno}", row))
    return rows


def _json_array(text: str, name: str) -> list[tuple[str, dict]]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{name} line {exc.lineno}: not valid JSON ({exc.msg})") from exc
    if not isinstance(items, list):
        raise ManifestError(f"{name}: expected a JSON array of objects")
    rows = []
    for i, row in enumerate(items, 1):
        if not isinstance(row, dict):
            raise ManifestError(f"{name} item {i}: expected a JSON object")
        rows.append((f"item {i}", row))
    return rows


def _csv(text: str, name: str) -> list[tuple[str, dict]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ManifestError(f"{name}: missing column(s) {', '.join(missing)} "
                            f"(header is {', '.join(header) or 'empty'})")
    return [(f"line {reader.line_num}", row) for row in reader]


def parse_manifest(text: str, name: str = "manifest") -> list[VideoRef]:
    """Parse manifest text, by its first non-blank character: ``[`` a JSON array of
    objects, ``{`` JSON Lines (one object per line), anything else CSV with a header row.
    Each object or row has ``video_id``, ``uri`` and optional ``label``, ``subset``;
    relative ``uri`` values stay as written."""
    text = text.removeprefix("\ufeff")
    first = text.lstrip()[:1]
    rows = (_json_array if first == "[" else _json_lines if first == "{" else _csv)(text, name)
    refs: list[VideoRef] = []
    seen: dict[str, str] = {}
    for where, row in rows:
        for col in REQUIRED:
            if col not in row:
                raise ManifestError(f"{name} {where}: missing field '{col}'")
        video_id = str(row["video_id"] or "").strip()
        uri = str(row["uri"] or "").strip()
        if not video_id:
            raise ManifestError(f"{name} {where}: empty video_id")
        problem = video_id_problem(video_id)
        if problem:
            raise ManifestError(f"{name} {where}: {problem}; the annotation tool serves "
                                "videos by id in a URL path")
        if not uri:
            raise ManifestError(f"{name} {where}: empty uri for video_id '{video_id}'")
        if video_id in seen:
            raise ManifestError(f"{name} {where}: duplicate video_id '{video_id}' "
                                f"(first on {seen[video_id]})")
        seen[video_id] = where
        refs.append(VideoRef(video_id=video_id, uri=uri,
                             label=str(row.get("label") or "").strip(),
                             subset=str(row.get("subset") or "").strip()))
    if not refs:
        raise ManifestError(f"{name}: no videos listed")
    return refs


def read_manifest(path: str) -> list[VideoRef]:
    """Read a manifest (see :func:`parse_manifest`) from a local path or a Beam FileSystems
    URI.
    Relative local ``uri`` values are taken relative to the manifest's folder."""
    refs = parse_manifest(_read_text(path), name=path)
    if "://" in path:
        return refs
    base = os.path.dirname(os.path.abspath(path))
    return [VideoRef(r.video_id, r.uri if "://" in r.uri or os.path.isabs(r.uri)
                     else os.path.join(base, r.uri), r.label, r.subset) for r in refs]


def ref_to_json(ref: VideoRef) -> str:
    """One line of ``inputs.jsonl``: the validated input list a job reads its videos from."""
    return json.dumps({"video_id": ref.video_id, "uri": ref.uri, "label": ref.label,
                       "subset": ref.subset}, sort_keys=True)


def ref_from_json(line: str) -> VideoRef:
    """Inverse of :func:`ref_to_json`."""
    row = json.loads(line)
    return VideoRef(row["video_id"], row["uri"], row.get("label", ""), row.get("subset", ""))


def write_inputs(path: str, refs: list[VideoRef]) -> None:
    """Write the validated inputs as JSON Lines (local or any FileSystems URI)."""
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.create(path, mime_type="application/json") as f:
        for ref in refs:
            f.write((ref_to_json(ref) + "\n").encode("utf-8"))


def normalise_video_id(video_id: str, strip_v_prefix: bool = True) -> str:
    """The project's one id rule: ``video_id`` with a leading ``v_`` dropped (as the HACS and
    ActivityNet tools name files, ``v_<youtube_id>``), or unchanged if ``strip_v_prefix`` is
    False."""
    if strip_v_prefix and video_id.startswith(V_PREFIX) and len(video_id) > len(V_PREFIX):
        return video_id[len(V_PREFIX):]
    return video_id


def video_id_from_path(path: str, strip_v_prefix: bool = True) -> str:
    """The video id a file gives (local path or URI): its name without folder and extension,
    then :func:`normalise_video_id`."""
    stem = os.path.splitext(path.rstrip("/").rsplit("/", 1)[-1])[0]
    return normalise_video_id(stem, strip_v_prefix)


def glob_videos(pattern: str | Sequence[str], strip_v_prefix: bool = True) -> list[VideoRef]:
    """Videos matching a glob (local or bucket), or any of several; a directory means every
    video file in it.
    ``video_id`` comes from the file name (:func:`video_id_from_path`). Two files with the
    same id and the same size (bytes) are one video, e.g. the download layout
    ``ROOT/<classname>/v_<id>.mp4`` with a video listed under two classes: the first path in
    sorted order is its ``uri`` and the others are logged. Two files with the same id and
    different sizes fail like duplicates, naming both."""
    from apache_beam.io.filesystems import FileSystems

    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    patterns = [p if "*" in p or "?" in p else p.rstrip("/") + "/*" for p in patterns]
    matches = [m for result in FileSystems.match(patterns) for m in result.metadata_list]
    files = sorted({(m.path, m.size_in_bytes) for m in matches
                    if m.path.lower().endswith(VIDEO_EXTENSIONS)})
    if not files:
        raise ManifestError(f"no video files match {' or '.join(patterns)} "
                            f"(extensions: {', '.join(VIDEO_EXTENSIONS)})")
    refs, seen = [], {}
    for path, size in files:
        video_id = video_id_from_path(path, strip_v_prefix)
        problem = video_id_problem(video_id)
        if problem:
            raise ManifestError(f"{path}: {problem}; the annotation tool serves videos by "
                                "id in a URL path")
        if video_id in seen:
            first, first_size = seen[video_id]
            if size != first_size:
                raise ManifestError(f"two files give video_id '{video_id}': {first} "
                                    f"({first_size} bytes) and {path} ({size} bytes)")
            _LOG.info("video_id '%s': %s is the same file as %s (same size); using the "
                      "first", video_id, path, first)
            continue
        seen[video_id] = (path, size)
        refs.append(VideoRef(video_id=video_id, uri=path))
    return refs


def load_inputs(spec: str, strip_v_prefix: bool = True) -> list[VideoRef]:
    """A manifest (named ``.csv``, ``.jsonl`` or ``.json``; its content says which format it
    is), the folder of a download run (the manifest it published, see
    ``transforms.download.layout``) or else a glob / directory of videos
    (``strip_v_prefix``: see :func:`glob_videos`; a manifest's ids are taken as written)."""
    if spec.lower().endswith((".csv", ".jsonl", ".json")):
        return read_manifest(spec)
    if "*" not in spec and "?" not in spec:
        from transforms.download.layout import published

        download = published(spec.rstrip("/"))
        if download is not None:
            return read_manifest(download["manifest"])
    return glob_videos(spec, strip_v_prefix)
