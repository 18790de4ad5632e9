"""Elements passed between pipeline stages: small frozen dataclasses, never decoded video."""

from __future__ import annotations

from dataclasses import dataclass, field

# Where a video ends. Every input video ends in exactly one of these.
KEPT, DROPPED, FAILED = "kept", "dropped", "failed"


@dataclass(frozen=True)
class VideoRef:
    """An input video: its id, where it is (local path or any Beam FileSystems URI), and the
    optional action class name and subset from the manifest."""

    video_id: str
    uri: str
    label: str = ""
    subset: str = ""


@dataclass(frozen=True)
class TimeRange:
    """A span of a video in seconds (decoded timeline), e.g. a shot with people in it.
    ``shot_index`` and ``person_score`` are -1 when no shot/person stage produced it."""

    start: float
    end: float
    shot_index: int = -1
    person_score: float = -1.0


@dataclass(frozen=True)
class Outcome:
    """Where one input video ended.

    ``status`` is kept / dropped / failed; ``stage`` names the stage that decided;
    ``reason`` is a short code (``duplicate``, ``no_person``, ``too_short``, ``missing``...)
    and ``message`` a sentence for people. ``evidence`` holds small facts that justify a
    drop (matched video id, score, reference set). ``clips`` counts clips written.
    """

    video_id: str
    uri: str
    status: str
    stage: str
    reason: str = ""
    message: str = ""
    clips: int = 0
    duration: float = 0.0
    frames: int = 0
    size_bytes: int = 0
    evidence: dict = field(default_factory=dict, compare=False)

    def to_json_dict(self) -> dict:
        out = {"video_id": self.video_id, "uri": self.uri, "status": self.status,
               "stage": self.stage, "reason": self.reason, "message": self.message,
               "clips": self.clips, "duration": round(self.duration, 3), "frames": self.frames,
               "size_bytes": self.size_bytes}
        if self.evidence:
            out["evidence"] = self.evidence
        return out
