"""``report.html``: the run's report as a page people look at (no server, no network).

Two steps, so that a finished run's page can be rebuilt without the video:

1. ``collect_gallery`` (right after the job, while the per-video results are still in the
   work folder) reads ``videos.jsonl`` once, picks the videos to show (for each reason, the
   first ``per_reason`` by a hash of ``video_id``: deterministic, and the page's size does
   not grow with the number of inputs), copies their pictures into ``report_files/`` (JPEG
   files) and writes ``report_files/gallery.json``;
2. ``render`` turns ``report.json`` and ``gallery.json`` into one HTML file with inline SVG
   charts and ``<img>`` tags pointing into ``report_files/``; no script.

Duplicates show the dropped video's and the kept video's thumbnails at matched frame times
(the frame pairs of their fingerprints within the match distance, the closest first); videos
without people show the frames the detector scored, shot by shot, with the shot's score and
the threshold; there and in the kept videos' strips each scored frame carries the detector's
best person box and its score (``persons`` of ``shots.jsonl``), drawn over the picture. Plain
Python and Beam's FileSystems (local or gs://).
"""

from __future__ import annotations

import hashlib
import heapq
import html
import json
import logging
from collections.abc import Iterable, Iterator

import numpy as np

from transforms.analyze.results import read_result, result_name, result_paths, source_identity
from transforms.clips.codec import JPEG, clip_frames
from transforms.dedup.fingerprint import MIN_QUALITY
from transforms.dedup.similarity import MATCH_DISTANCE, frame_distances
from transforms.files import filesystems
from transforms.jpeg import encode_jpeg
from transforms.output import layout
from transforms.output.records import from_example
from transforms.output.shards import iter_records
from transforms.types import ShotFrame, VideoAnalysis, VideoRef

PER_REASON = 24
FILES = "report_files"
PAIRS = 4            # matched frame pairs shown per duplicate
SHOTS_SHOWN = 6      # shots shown per video without people
CLIPS_PER_CLASS = 3


def sample_key(video_id: str) -> bytes:
    """The order videos are picked in for the galleries (a hash: spread over the inputs)."""
    return hashlib.sha256(video_id.encode("utf-8")).digest()[:8]


def pick(rows: Iterable[dict], per_reason: int) -> dict[str, list[dict]]:
    """Per ``status/reason`` (``kept/`` for kept videos): the ``per_reason`` rows with the
    smallest sample keys, in that order (bounded memory: one heap per reason)."""
    heaps: dict[str, list] = {}
    for row in rows:
        key = f"{row['status']}/{row['reason']}"
        heap = heaps.setdefault(key, [])
        item = (tuple(-b for b in sample_key(row["video_id"])), row["video_id"], row)
        if len(heap) < per_reason:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)
    return {key: [r for _, _, r in sorted(heap, reverse=True)] for key, heap in heaps.items()}


def _read_jsonl(path: str) -> Iterator[dict]:
    with filesystems().open(path) as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _result(work_folder: str, video_id: str, uri: str):
    """``(analysis, shot frames, thumbnails)`` of a video from its committed results."""
    meta, _ = result_paths(work_folder, result_name(VideoRef(video_id, uri),
                                                    source_identity(uri)))
    if not filesystems().exists(meta):
        return None, [], []
    analysis, frames, thumbs = None, [], []
    for item in read_result(meta, thumbnails=True):
        if isinstance(item, VideoAnalysis):
            analysis = item
        elif isinstance(item, ShotFrame):
            frames.append(item)
        else:
            thumbs.append(item)
    return analysis, frames, thumbs


def _nearest(thumbs: list[tuple[float, bytes]], time: float) -> bytes | None:
    return min(thumbs, key=lambda t: abs(t[0] - time))[1] if thumbs else None


class _Files:
    """Pictures written into ``report_files/`` under short sequential names."""

    def __init__(self, run_dir: str):
        self.folder = filesystems().join(run_dir, FILES)
        self.count = 0
        self.bytes = 0

    def add(self, data: bytes | None) -> str | None:
        if data is None:
            return None
        self.count += 1
        name = f"{self.count:05d}.jpg"
        fs = filesystems()
        with fs.create(fs.join(self.folder, name), mime_type="image/jpeg") as f:
            f.write(data)
        self.bytes += len(data)
        return f"{FILES}/{name}"


def _duplicate_entry(row: dict, uris: dict[str, str], work: str, files: _Files,
                     distance: int) -> dict:
    ev = row.get("evidence") or {}
    kept_id = ev.get("kept_video_id") or ev.get("reference_id") or ""
    entry = {"video_id": row["video_id"], "kept_video_id": kept_id, "reason": row["reason"],
             "score": ev.get("score"), "set": ev.get("set"), "distance": distance,
             "pairs": []}
    dropped, _, thumbs_a = _result(work, row["video_id"], row["uri"])
    kept_uri = uris.get(kept_id)
    kept, _, thumbs_b = _result(work, kept_id, kept_uri) if kept_uri else (None, [], [])
    if dropped is None or dropped.fingerprint is None:
        return entry
    if kept is None or kept.fingerprint is None:
        entry["pairs"] = [{"a": files.add(t[1]), "ta": round(t[0], 2)} for t in thumbs_a[:PAIRS]]
        return entry
    a, b = dropped.fingerprint, kept.fingerprint
    dist = frame_distances(a, b)
    ua, ub = np.flatnonzero(a.usable(MIN_QUALITY)), np.flatnonzero(b.usable(MIN_QUALITY))
    order = np.argsort(dist, axis=None, kind="stable")
    used_a: set[int] = set()
    for flat in order:
        i, j = divmod(int(flat), dist.shape[1])
        if dist[i, j] > distance or len(entry["pairs"]) >= PAIRS:
            break
        if i in used_a:
            continue
        used_a.add(i)
        ta, tb = a.times[ua[i]], b.times[ub[j]]
        entry["pairs"].append({"a": files.add(_nearest(thumbs_a, ta)), "ta": round(ta, 2),
                               "b": files.add(_nearest(thumbs_b, tb)), "tb": round(tb, 2),
                               "bits": int(dist[i, j])})
    entry["pairs"].sort(key=lambda p: p["ta"])
    return entry


def _frame_person(record: dict | None, time: float) -> dict | None:
    """The detector's best person (``score``, ``box``) on the scored frame at ``time`` of a
    ``shots.jsonl`` row, or None when the row does not have it."""
    for person in (record or {}).get("persons") or []:
        if abs(person["time"] - time) < 2e-3:
            return {"score": person["score"], "box": person["box"]}
    return None


def _no_person_entry(row: dict, work: str, files: _Files,
                     records: dict[int, dict] | None = None) -> dict:
    ev = row.get("evidence") or {}
    scores = ev.get("shot_scores") or []
    _, frames, _ = _result(work, row["video_id"], row["uri"])
    shots: dict[int, list[str]] = {}
    persons: dict[int, list[dict | None]] = {}
    for frame in frames:
        if frame.shot_index < SHOTS_SHOWN:
            shots.setdefault(frame.shot_index, []).append(files.add(frame.jpeg))
            persons.setdefault(frame.shot_index, []).append(
                _frame_person((records or {}).get(frame.shot_index), frame.time))
    return {"video_id": row["video_id"], "threshold": ev.get("threshold"),
            "best_score": ev.get("best_score"), "shots": ev.get("shots"),
            "shown": [{"shot": s, "score": scores[s] if s < len(scores) else None,
                       "frames": shots[s], "persons": persons[s]} for s in sorted(shots)]}


def _clip_entries(shards: list[str], files: _Files, limit: int = 400) -> dict[str, list]:
    """A few clips per class from the first records of the shards: first, middle and last
    frame of each."""
    out: dict[str, list] = {}
    read = 0
    for shard in shards:
        for data in iter_records(shard):
            read += 1
            clip = from_example(data)
            label = clip.label_name or "(no label)"
            if len(out.setdefault(label, [])) < CLIPS_PER_CLASS:
                out[label].append({"clip_id": clip.clip_id,
                                   "frames": [files.add(f) for f in _first_middle_last(clip)]})
            if read >= limit:
                return out
    return out


def _first_middle_last(clip) -> list[bytes]:
    """JPEG images of a clip record's first, middle and last frames (as stored, or encoded
    from its video)."""
    n = clip.num_frames
    picks = [0, n // 2, n - 1]
    if clip.codec == JPEG:
        return [clip.frames[i] for i in picks]
    return [encode_jpeg(image) for image in clip_frames(clip, picks)]


class _Tallies:
    """Hours of video removed at each stage, and clips per class and per subset, added up
    over the rows of videos.jsonl (``labels``: video id -> (label, subset) from
    inputs.jsonl)."""

    def __init__(self, labels: dict[str, tuple[str, str]]):
        self._labels = labels
        self.total = 0.0
        self.removed: dict[str, float] = {}
        self.per_class: dict[str, int] = {}
        self.per_subset: dict[str, int] = {}

    def add(self, row: dict) -> dict:
        self.total += row.get("duration", 0.0)
        if row["status"] != "kept":
            stage = row.get("stage", "")
            self.removed[stage] = self.removed.get(stage, 0.0) + row.get("duration", 0.0)
        if row.get("clips"):
            label, subset = self._labels.get(row["video_id"], ("(no label)", "(none)"))
            self.per_class[label] = self.per_class.get(label, 0) + row["clips"]
            self.per_subset[subset] = self.per_subset.get(subset, 0) + row["clips"]
        return row

    def doc(self) -> dict:
        return {"input_hours": self.total / 3600,
                "removed_hours": {k: v / 3600 for k, v in self.removed.items()},
                "clips_per_class": dict(sorted(self.per_class.items())),
                "clips_per_subset": dict(sorted(self.per_subset.items()))}


def _labels(inputs: str) -> dict[str, tuple[str, str]]:
    if not filesystems().exists(inputs):
        return {}
    return {r["video_id"]: (r.get("label") or "(no label)", r.get("subset") or "(none)")
            for r in _read_jsonl(inputs)}


def _shot_records(run_dir: str, wanted: set[str]) -> dict[str, dict[int, dict]]:
    """The ``shots.jsonl`` rows of the ``wanted`` videos, by video and shot index."""
    fs = filesystems()
    path = fs.join(run_dir, layout.SHOTS)
    shots: dict[str, dict[int, dict]] = {}
    if fs.exists(path):
        for r in _read_jsonl(path):
            if r["video_id"] in wanted:
                shots.setdefault(r["video_id"], {})[r["shot_index"]] = r
    return shots


def _kept_entries(rows: list[dict], run_dir: str, work: str, files: _Files) -> list[dict]:
    """A contact strip per kept video: the first scored frame of each shot, with the shot's
    person score, whether it was kept and the frame's best person (from ``shots.jsonl``)."""
    shots = _shot_records(run_dir, {r["video_id"] for r in rows})
    out = []
    for row in rows:
        record = shots.get(row["video_id"])
        if record is None:
            continue
        _, frames, _ = _result(work, row["video_id"], row["uri"])
        first: dict[int, tuple[str | None, dict | None]] = {}
        for frame in frames:
            if frame.shot_index not in first and len(first) < 2 * SHOTS_SHOWN:
                first[frame.shot_index] = (files.add(frame.jpeg), _frame_person(
                    record.get(frame.shot_index), frame.time))
        out.append({"video_id": row["video_id"], "shots": len(record),
                    "strip": [{"shot": k, "frame": v, "person": person,
                               "score": record.get(k, {}).get("person_score"),
                               "kept": bool(record.get(k, {}).get("kept"))}
                              for k, (v, person) in sorted(first.items())]})
    return out


def collect_gallery(run_dir: str, work_folder: str, shards: list[str],
                    per_reason: int = PER_REASON, distance: int = MATCH_DISTANCE) -> dict:
    """Pick the gallery videos of a finished run, copy their pictures into
    ``report_files/`` and write ``report_files/gallery.json``; returns it."""
    fs = filesystems()
    videos = fs.join(run_dir, "videos.jsonl")
    tallies = _Tallies(_labels(fs.join(run_dir, "inputs.jsonl")))
    # One pass picks the gallery videos and adds up the tallies; a second finds the URIs of
    # the videos the duplicates were matched with.
    picked = pick((tallies.add(row) for row in _read_jsonl(videos)), per_reason)
    kept_rows = picked.pop("kept/", [])
    wanted = {(r.get("evidence") or {}).get("kept_video_id") for rows in picked.values()
              for r in rows}
    uris = {row["video_id"]: row["uri"] for row in _read_jsonl(videos)
            if row["video_id"] in wanted}
    files = _Files(run_dir)
    doc: dict = {"per_reason": per_reason, "duplicates": [], "no_person": [], "failures": {},
                 "clips": {}}
    for key, rows in sorted(picked.items()):
        status, reason = key.split("/", 1)
        if reason in ("duplicate", "reference"):
            doc["duplicates"] += [_duplicate_entry(r, uris, work_folder, files, distance)
                                  for r in rows]
        elif reason == "no_person":
            records = _shot_records(run_dir, {r["video_id"] for r in rows})
            doc["no_person"] += [_no_person_entry(r, work_folder, files,
                                                  records.get(r["video_id"]))
                                 for r in rows]
        if status == "failed" or reason not in ("duplicate", "reference", "no_person"):
            doc["failures"][key] = [{"video_id": r["video_id"], "message": r["message"]}
                                    for r in rows[:5]]
    doc["kept"] = _kept_entries(kept_rows, run_dir, work_folder, files)
    doc["clips"] = _clip_entries(shards, files)
    doc.update(tallies.doc())
    doc["files"] = {"count": files.count, "bytes": files.bytes}
    with fs.create(fs.join(run_dir, FILES, "gallery.json"), mime_type="application/json") as f:
        f.write(json.dumps(doc, indent=1).encode("utf-8"))
    return doc


def _e(value) -> str:
    return html.escape(str(value))


def _bar_chart(rows: list[tuple[str, float]], unit: str = "") -> str:
    """A horizontal bar chart as inline SVG."""
    top = max((v for _, v in rows), default=0) or 1
    height = 22 * len(rows) + 4
    parts = [f'<svg class="bars" width="720" height="{height}" role="img">']
    for n, (label, value) in enumerate(rows):
        y = 4 + 22 * n
        width = 380 * value / top
        parts.append(f'<text x="0" y="{y + 14}">{_e(label)}</text>'
                     f'<rect x="160" y="{y}" width="{width:.1f}" height="16"></rect>'
                     f'<text x="{166 + width:.1f}" y="{y + 14}">{_e(value)}{unit}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _img(src: str | None, title: str) -> str:
    if not src:
        return '<span class="missing">no picture</span>'
    return f'<img src="{_e(src)}" alt="{_e(title)}" title="{_e(title)}">'


def _scored_img(src: str | None, title: str, person: dict | None) -> str:
    """A scored frame with the detector's best person box drawn over it (positioned in
    percent of the picture, so it scales with it) and its score; the plain picture when the
    detector found no box."""
    if not src or not person or not person.get("box"):
        return _img(src, title)
    x0, y0, x1, y1 = (100 * v for v in person["box"])
    return (f"<span class='scored'>{_img(src, title)}<span class='box' style='left:{x0:.1f}%;"
            f"top:{y0:.1f}%;width:{x1 - x0:.1f}%;height:{y1 - y0:.1f}%' "
            f"title='best person {_e(person['score'])}'><span class='box-score'>"
            f"{person['score']:.2f}</span></span></span>")


_STYLE = """body{font:14px/1.4 sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse}td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #eee}
svg.bars rect{fill:#4a7fb5}svg.bars text{font-size:12px}
.pair{display:inline-block;margin:2px 8px 2px 0;text-align:center;font-size:11px}
.row{margin:6px 0 14px}.row img{height:54px;margin-right:2px}.shot{display:inline-block;
margin-right:12px;font-size:11px}.low{color:#b33}.ok{color:#373}.missing{color:#999}
.scored{position:relative;display:inline-block;line-height:0;margin-right:2px}
.scored img{margin-right:0}.box{position:absolute;box-sizing:border-box;
border:2px solid #f0f;pointer-events:none}.box-score{position:absolute;left:0;top:0;
background:#f0f;color:#fff;font-size:9px;line-height:11px;padding:0 2px}"""


def render(report: dict, gallery: dict) -> str:
    """The page (a string of HTML) of a report and its gallery."""
    v = report["videos"]
    out = ["<!doctype html><html><head><meta charset='utf-8'>",
           f"<title>hacs-pipeline run {_e(report.get('run', ''))}</title>",
           f"<style>{_STYLE}</style></head><body>",
           f"<h1>Run {_e(report.get('run', ''))}: {v['input']} videos in, {v['kept']} kept, "
           f"{v['dropped']} dropped, {v['failed']} failed, {report['clips']} clips</h1>"]
    out.append("<h2 id='funnel'>Funnel</h2>")
    out.append(_bar_chart([(r["stage"], r["remaining"]) for r in report["funnel"]],
                          " videos"))
    if "input_hours" in gallery:
        hours, rows = gallery["input_hours"], []
        for r in report["funnel"]:
            hours -= gallery["removed_hours"].get(r["stage"], 0.0) if r["stage"] != "input" else 0
            rows.append((r["stage"], round(hours, 3)))
        out.append(_bar_chart(rows, " h of video"))
    out.append("<table><tr><th>status</th><th>reason</th><th>videos</th></tr>")
    for status, reasons in report["reasons"].items():
        for reason, n in reasons.items():
            out.append(f"<tr><td>{_e(status)}</td><td>{_e(reason)}</td><td>{n}</td></tr>")
    out.append("</table>")
    if report.get("reference_removals"):
        out.append("<h2>Reference sets</h2>" + _bar_chart(
            list(report["reference_removals"].items()), " removed"))
    shots = report.get("shots")
    if shots:
        out.append(f"<p>Shots kept: {shots['kept']} of {shots['total']} "
                   f"({100 * shots['share_kept']:.1f}%; HACS kept "
                   f"{100 * shots['hacs_share_kept']:.1f}%).</p>")
    hours = report.get("input_video_seconds", 0) / 3600
    out.append(f"<p>Input: {hours:.2f} hours, {report['bytes']['input'] / 1e6:.1f} MB; "
               f"output {report['bytes']['output'] / 1e6:.1f} MB in "
               f"{len(report['shards'])} shards; elapsed {report['elapsed_seconds']:.1f} s; "
               f"frames decoded {report.get('frames_decoded', 0)} of "
               f"{report.get('input_frames', 0)}.</p>")
    stages = report.get("stages") or {}
    cpu = [(name, s.get("cpu_seconds", 0)) for name, s in stages.items()
           if "cpu_seconds" in s]
    if cpu:
        out.append("<h3>CPU seconds per stage</h3>" + _bar_chart(cpu, " s"))
    out.append(f"<h2 id='duplicates'>Duplicates ({len(gallery['duplicates'])} shown)</h2>")
    for d in gallery["duplicates"]:
        what = (f"reference set {_e(d['set'])}: {_e(d['kept_video_id'])}" if d.get("set")
                else f"kept video {_e(d['kept_video_id'])}")
        out.append(f"<div class='row dup' data-video='{_e(d['video_id'])}'><b>"
                   f"{_e(d['video_id'])}</b> dropped, duplicate of {what}; share of frames "
                   f"matched {_e(d['score'])}, match distance {d['distance']} bits<br>")
        for p in d["pairs"]:
            out.append("<span class='pair'>" + _img(p.get("a"), f"{d['video_id']} {p['ta']} s")
                       + _img(p.get("b"), f"{d['kept_video_id']} {p.get('tb')} s")
                       + f"<br>{p['ta']} s / {p.get('tb', '-')} s"
                       + (f", {p['bits']} bits" if "bits" in p else "") + "</span>")
        out.append("</div>")
    out.append(f"<h2 id='no_person'>No person ({len(gallery['no_person'])} shown)</h2>")
    for n in gallery["no_person"]:
        out.append(f"<div class='row np' data-video='{_e(n['video_id'])}'><b>"
                   f"{_e(n['video_id'])}</b>: best person score {_e(n['best_score'])} over "
                   f"{_e(n['shots'])} shots, threshold {_e(n['threshold'])}<br>")
        for s in n["shown"]:
            score = s["score"]
            css = "ok" if score is not None and score >= (n["threshold"] or 0) else "low"
            persons = s.get("persons") or [None] * len(s["frames"])
            out.append("<span class='shot'>" + "".join(
                _scored_img(f, f"shot {s['shot']}", person)
                for f, person in zip(s["frames"], persons, strict=False))
                       + f"<br>shot {s['shot']}: <span class='score {css}'>{_e(score)}"
                       f"</span></span>")
        out.append("</div>")
    out.append("<h2 id='failures'>Failures</h2>")
    if not gallery["failures"]:
        out.append("<p>None.</p>")
    out.append("<table>")
    for key, rows in gallery["failures"].items():
        status, reason = key.split("/", 1)
        count = report["reasons"].get(status, {}).get(reason, 0)
        first = "<br>".join(f"{_e(r['video_id'])}: {_e(r['message'])}" for r in rows)
        out.append(f"<tr><td>{_e(key)}</td><td>{count}</td><td>{first}</td></tr>")
    out.append("</table>")
    out.append(f"<h2 id='kept'>Kept videos ({len(gallery.get('kept', []))} shown)</h2>")
    for k in gallery.get("kept", []):
        out.append(f"<div class='row kept' data-video='{_e(k['video_id'])}'><b>"
                   f"{_e(k['video_id'])}</b>: {k['shots']} shots<br>")
        for s_ in k["strip"]:
            label = (f"<span class='score ok'>{_e(s_['score'])}</span>" if s_["kept"]
                     else "<span class='low'>not kept</span>")
            title = f"shot {s_['shot']}"
            out.append(f"<span class='shot'>{_scored_img(s_['frame'], title, s_.get('person'))}"
                       f"<br>{title}: {label}</span>")
        out.append("</div>")
    out.append("<h2 id='clips'>Clips</h2>")
    if gallery.get("clips_per_class"):
        out.append("<h3>Clips per class</h3>" + _bar_chart(
            list(gallery["clips_per_class"].items()), " clips"))
        out.append("<h3>Clips per subset</h3>" + _bar_chart(
            list(gallery["clips_per_subset"].items()), " clips"))
    for label, clips in gallery["clips"].items():
        out.append(f"<div class='row'><b>{_e(label)}</b><br>")
        for c in clips:
            out.append("<span class='pair'>" + "".join(_img(f, c["clip_id"])
                                                        for f in c["frames"])
                       + f"<br>{_e(c['clip_id'])}</span>")
        out.append("</div>")
    out.append("</body></html>")
    return "\n".join(out)


def write_report_html(run_dir: str, report: dict, gallery: dict) -> str:
    """Write ``report.html`` into the run folder; returns its path."""
    fs = filesystems()
    path = fs.join(run_dir, "report.html")
    with fs.create(path, mime_type="text/html") as f:
        f.write(render(report, gallery).encode("utf-8"))
    return path


def write_report_page(run_dir: str, report: dict, work_folder: str, distance: int) -> str | None:
    """Build the gallery of a finished run and write its ``report.html``; returns the page's
    path, or None when it could not be built (logged: the page is a view of the run and
    never costs the run itself). ``distance``: the run's frame-match distance."""
    try:
        gallery = collect_gallery(run_dir, work_folder,
                                  [row["path"] for row in report["shards"]], distance=distance)
        return write_report_html(run_dir, report, gallery)
    except Exception:
        logging.exception("report.html could not be built; the run is published without it")
        return None
