"""The ``shots.jsonl`` row: one JSON object per shot of every analysed video (docs/shots.md).

Written by the job (``transforms.routing.ShotRows``), read by ``pipelines/person_recall.py``
and the report's gallery. Plain Python; no Beam here.
"""

from __future__ import annotations

from collections.abc import Iterable

from transforms.types import FramePerson, Shot


def shot_row(video_id: str, shot: Shot, score: float | None, kept: bool,
             frames: Iterable[FramePerson] | None = None) -> dict:
    """One line of ``shots.jsonl`` (see docs/shots.md): a shot of an analysed video, its
    frames ``[start_frame, end_frame)`` and seconds ``[start, end)`` on the decoded timeline,
    how it began (``transition``), its person score (0..1; None when none of its frames was
    scored) and whether it was kept for clips; with the person filter, ``persons``: each
    scored frame's time (seconds), best person score and box (fractions of the frame: x0,
    y0, x1, y1; None when the detector found no person), in time order."""
    row = {"video_id": video_id, "shot_index": shot.index, "start_frame": shot.start_frame,
           "end_frame": shot.end_frame, "start": round(shot.start, 3),
           "end": round(shot.end, 3), "transition": str(shot.transition),
           "person_score": None if score is None else round(score, 4), "kept": kept}
    if frames is not None:
        row["persons"] = [{"time": round(f.time, 3), "score": round(f.score, 4),
                           "box": None if f.box is None else [round(v, 4) for v in f.box]}
                          for f in sorted(frames, key=lambda f: f.time)]
    return row
