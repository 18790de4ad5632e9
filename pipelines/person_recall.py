"""How much of the real action the person filter keeps: recall of ground-truth segments.

Given ActivityNet-style ground truth (``{"database": {id: {"annotations": [{"label": ...,
"segment": [start, end]}]}}}``, seconds) for the input videos and the shots the pipeline
wrote (``shots.jsonl``, one JSON object per shot, see docs/shots.md), report:

* the share of ground-truth segments that fall in kept shots (at least ``--min_overlap`` of
  the segment's duration inside kept shots; HACS measured 96.9% on ActivityNet v1.3 val),
* the share of 2-second clips tiled inside the segments that lie wholly inside one kept shot
  (clips are only sampled inside kept shots, so this is what the dataset can still contain),
* the share of segment time covered, and per-label segment recall.

Only the videos the person filter looked at count (at least one of their shots has a person
score); the others (absent from the file, dropped as duplicates before the filter, or from a
run without it) are counted as missing and left out.
Ids match after the project's id rule (a leading ``v_`` dropped, as ActivityNet files are named
``v_<id>``; ``transforms.inputs.manifest.normalise_video_id``).

    python -m pipelines.person_recall --ground_truth activity_net.v1-3.min.json \\
        --shots out/runs/<run>/shots.jsonl [--subset validation] [--output recall.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from apache_beam.io.filesystems import FileSystems

from transforms.hacs_files import parse_segments_json
from transforms.inputs.manifest import normalise_video_id

Span = tuple[float, float]
CLIP_SECONDS = 2.0
MIN_OVERLAP = 0.5


@dataclass(frozen=True)
class RecallReport:
    """Recall of the person filter; shares are 0..1."""

    videos: int
    videos_missing: int
    videos_dropped: int
    segments: int
    segments_recalled: int
    segment_recall: float
    clips: int
    clips_recalled: int
    clip_recall: float
    time_covered: float
    per_label: dict[str, float]


def read_text(uri: str) -> str:
    with FileSystems.open(uri) as f:
        return f.read().decode("utf-8")


def load_ground_truth(uri: str, subset: str | None = None) -> dict[str, list[tuple[str, Span]]]:
    """Video id -> [(label, (start, end))] from a Segments / ActivityNet JSON (local or
    remote), read by the project's Segments reader (``transforms.hacs_files``)."""
    out: dict[str, list[tuple[str, Span]]] = {}
    for video in parse_segments_json(read_text(uri), uri).videos:
        if subset and video.subset != subset:
            continue
        out[normalise_video_id(video.video_id)] = [(s.label, (float(s.start), float(s.end)))
                                                   for s in video.segments]
    return out


def load_shots(pattern: str) -> dict[str, list[Span]]:
    """Video id -> kept shot spans (seconds), from ``shots.jsonl`` files matching
    ``pattern``, for the videos the person filter scored (a video dropped by it has none)."""
    kept: dict[str, list[Span]] = {}
    matches = FileSystems.match([pattern])[0].metadata_list
    if not matches:
        raise FileNotFoundError(f"no shots file matches {pattern}")
    scored: set[str] = set()
    for match in matches:
        for line in read_text(match.path).splitlines():
            if line.strip():
                row = json.loads(line)
                vid = normalise_video_id(row["video_id"])
                spans = kept.setdefault(vid, [])
                if row.get("person_score") is not None:
                    scored.add(vid)
                if row.get("kept"):
                    spans.append((float(row["start"]), float(row["end"])))
    return {vid: sorted(spans) for vid, spans in kept.items() if vid in scored}


def covered(span: Span, shots: Sequence[Span]) -> float:
    """Seconds of ``span`` inside the union of ``shots`` (shots do not overlap)."""
    return sum(max(0.0, min(span[1], e) - max(span[0], s)) for s, e in shots)


def clips_in(span: Span, clip_seconds: float = CLIP_SECONDS) -> list[Span]:
    """Back-to-back clips of ``clip_seconds`` tiled from the start of ``span``."""
    n = int((span[1] - span[0]) / clip_seconds + 1e-9)
    return [(span[0] + k * clip_seconds, span[0] + (k + 1) * clip_seconds) for k in range(n)]


def person_recall(truth: dict[str, list[tuple[str, Span]]], kept: dict[str, list[Span]],
                  min_overlap: float = MIN_OVERLAP,
                  clip_seconds: float = CLIP_SECONDS) -> RecallReport:
    """Recall of ``truth`` segments by ``kept`` shots (see the module docstring)."""
    segments = recalled = clips = clips_kept = 0
    seconds = seconds_kept = 0.0
    per_label: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    missing = 0
    present = [v for v in truth if v in kept]
    for vid in truth:
        if vid not in kept:
            missing += 1
    for vid in present:
        shots = kept[vid]
        for label, span in truth[vid]:
            length = span[1] - span[0]
            if length <= 0:
                continue
            inside = covered(span, shots)
            hit = inside >= min_overlap * length - 1e-9
            segments += 1
            recalled += hit
            per_label[label][0] += 1
            per_label[label][1] += hit
            seconds += length
            seconds_kept += inside
            for c in clips_in(span, clip_seconds):
                clips += 1
                clips_kept += any(s - 1e-6 <= c[0] and c[1] <= e + 1e-6 for s, e in shots)
    return RecallReport(
        videos=len(present), videos_missing=missing,
        videos_dropped=sum(1 for v in present if not kept[v]),
        segments=segments, segments_recalled=recalled,
        segment_recall=recalled / segments if segments else 0.0,
        clips=clips, clips_recalled=clips_kept,
        clip_recall=clips_kept / clips if clips else 0.0,
        time_covered=seconds_kept / seconds if seconds else 0.0,
        per_label={k: v[1] / v[0] for k, v in sorted(per_label.items())})


def build_parser(parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser
                 ) -> argparse.ArgumentParser:
    """The command line's parser, of class ``parser_class`` (docs/options.md is made with
    one that lists what is added to it)."""
    ap = parser_class(description=__doc__.split("\n")[0])
    ap.add_argument("--ground_truth", required=True,
                    help="ActivityNet-style JSON (local path or gs://...)")
    ap.add_argument("--shots", required=True,
                    help="shots.jsonl written by the pipeline (a file or a glob, local or "
                         "gs://)")
    ap.add_argument("--subset", default=None,
                    help="only ground-truth videos of this subset (e.g. validation)")
    ap.add_argument("--min_overlap", type=float, default=MIN_OVERLAP,
                    help="share of a segment's duration that must lie in kept shots (0..1)")
    ap.add_argument("--clip_seconds", type=float, default=CLIP_SECONDS,
                    help="clip length in seconds (HACS: 2)")
    ap.add_argument("--output", default=None, help="also write the report as JSON here")
    return ap


def run(argv: list[str] | None = None) -> RecallReport:
    args = build_parser().parse_args(argv)
    report = person_recall(load_ground_truth(args.ground_truth, args.subset),
                           load_shots(args.shots), args.min_overlap,
                           args.clip_seconds)
    print(f"videos: {report.videos} scored ({report.videos_dropped} dropped as no_person), "
          f"{report.videos_missing} in the ground truth but not scored in the shots file")
    print(f"segment recall: {report.segment_recall:.1%} ({report.segments_recalled}/"
          f"{report.segments}; HACS: 96.9% on ActivityNet v1.3 val)")
    print(f"{args.clip_seconds:g}-second clip recall: {report.clip_recall:.1%} "
          f"({report.clips_recalled}/{report.clips}); segment time covered: "
          f"{report.time_covered:.1%}")
    if args.output:
        with FileSystems.create(args.output) as f:
            f.write(json.dumps(asdict(report), indent=2).encode("utf-8"))
    return report


if __name__ == "__main__":
    run(sys.argv[1:])
