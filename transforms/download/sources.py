"""What to download: a manifest of ``video_id,url`` rows, or the videos a labels file names.

A URL manifest is CSV with a header, JSON Lines or a JSON array of objects (the first
non-blank character says which, as for the dataset job's manifest): ``video_id``, ``url``
(``uri`` is taken too: an http(s) URL, a YouTube id or URL, a ``gs://`` URI), optional
``label``, ``classes`` (``|``-separated) and ``subset``. A video listed on several rows with
the same URL (one row per class) is one video with all their classes; the same id with two
URLs, or one URL under two ids, stops the job naming both rows.

The labels files (HACS Clips CSV, Segments / ActivityNet JSON) are read by their one reader
(``pipelines.make_manifest.read_labelled_videos``); their ids are YouTube ids, downloaded as
such (:func:`target_of_labelled`).
"""

from __future__ import annotations

import csv
import io
import json

from transforms.download.layout import CLASS_SEPARATOR
from transforms.inputs.manifest import ManifestError, video_id_problem
from transforms.types import DownloadTarget

URL_COLUMNS = ("url", "uri")


def _rows(text: str, name: str) -> list[tuple[str, dict]]:
    first = text.lstrip()[:1]
    if first == "[":
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{name} line {exc.lineno}: not valid JSON ({exc.msg})") from exc
        rows = [(f"item {i}", row) for i, row in enumerate(items, 1)]
    elif first == "{":
        rows = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append((f"line {lineno}", json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise ManifestError(f"{name} line {lineno}: not valid JSON "
                                        f"({exc.msg})") from exc
    else:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames or []
        if "video_id" not in header or not set(URL_COLUMNS) & set(header):
            raise ManifestError(f"{name}: need columns video_id and url (header is "
                                f"{', '.join(header) or 'empty'})")
        rows = [(f"line {reader.line_num}", row) for row in reader]
    for where, row in rows:
        if not isinstance(row, dict):
            raise ManifestError(f"{name} {where}: expected a JSON object")
    return rows


def _classes(row: dict) -> set[str]:
    found = {str(row.get("label") or "").strip()}
    found |= {c.strip() for c in str(row.get("classes") or "").split(CLASS_SEPARATOR)}
    return {c for c in found if c}


def parse_url_manifest(text: str, name: str = "manifest",
                       subset: str | None = None) -> list[DownloadTarget]:
    """The videos of a URL manifest (see the module docstring), of ``subset`` (None: all),
    in order of first row; ManifestError names the file and row of a problem."""
    text = text.removeprefix("\ufeff")
    order: list[str] = []
    found: dict[str, dict] = {}
    by_url: dict[str, str] = {}
    for where, row in _rows(text, name):
        video_id = str(row.get("video_id") or "").strip()
        url = str(row.get("url") or row.get("uri") or "").strip()
        if not video_id:
            raise ManifestError(f"{name} {where}: empty video_id")
        problem = video_id_problem(video_id)
        if problem:
            raise ManifestError(f"{name} {where}: {problem}")
        if not url:
            raise ManifestError(f"{name} {where}: empty url for video_id '{video_id}'")
        row_subset = str(row.get("subset") or "").strip()
        if subset is not None and row_subset != subset:
            continue
        seen = found.get(video_id)
        if seen is None:
            other = by_url.setdefault(url, video_id)
            if other != video_id:
                raise ManifestError(f"{name} {where}: {url} is listed as '{other}' and as "
                                    f"'{video_id}'")
            found[video_id] = {"url": url, "classes": _classes(row), "subset": row_subset,
                               "where": where}
            order.append(video_id)
            continue
        if seen["url"] != url:
            raise ManifestError(f"{name} {where}: video_id '{video_id}' has url {url}, but "
                                f"{seen['url']} on {seen['where']}")
        seen["classes"] |= _classes(row)
    return [DownloadTarget(video_id=v, source=found[v]["url"],
                           classes=tuple(sorted(found[v]["classes"])),
                           subset=found[v]["subset"]) for v in order]


def target_of_labelled(video_id: str, subset: str, classes: tuple[str, ...]) -> DownloadTarget:
    """The download of a video a labels file names by YouTube id."""
    return DownloadTarget(video_id=video_id, source=video_id, classes=tuple(sorted(classes)),
                          subset=subset)


def manifest_line(outcome_uri: str, video_id: str, classes: tuple[str, ...],
                  subset: str) -> str:
    """One line (no line end) of the published manifest (columns
    ``layout.MANIFEST_COLUMNS``): ``label`` is the class of a video with exactly one."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(
        [video_id, outcome_uri, classes[0] if len(classes) == 1 else "", subset,
         CLASS_SEPARATOR.join(classes)])
    return out.getvalue()
