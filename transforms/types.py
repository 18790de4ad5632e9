"""The vocabulary of the pipeline: every element that crosses a stage boundary, and every
status, reason, stage name and output tag, in one module.

Elements are small frozen dataclasses with named fields (never decoded video: references and
small results). Plain Python and numpy; no Beam here.

The stages, in order, and what flows between them (see docs/architecture.md):

    VideoRef -> analyze -> VideoAnalysis (+ ShotFrame, failed Outcome)
    VideoAnalysis.fingerprint (VideoFingerprint) -> dedup -> survivors + dropped Outcome
    ShotFrame -> persons -> per-shot scores -> kept_shots (TimeRanges) + no_person Outcome
    ClipJob (kept shots + the analysis pass's candidate clips) -> clips -> ClipRef + Outcome
    ClipRef -> output -> ShardInfo; Outcomes -> videos.jsonl, report.json, dataset.json

Glossary (the words of the joins' named inputs and outputs, ``transforms/routing.py``):

- ``analyses``: ``(video_id, VideoAnalysis)``, one per video the decode pass analysed;
- ``survivors``: ``(video_id, ...)`` of the videos left after de-duplication (all analysed
  videos with ``--skip_dedup``);
- ``shot_frames``: ``ShotFrame``, the frames of each shot to score for people;
- ``shots``: ``(video_id, (uri, [Shot]))``, a survivor's shots, for the person decision;
- ``scores``: ``((video_id, shot_index), score)``, a shot's max person score (0..1);
- ``kept_shots``: ``(video_id, [TimeRange])``, the shots the person filter kept;
- ``no_person`` / ``failed`` / ``outcomes``: ``Outcome``, where a video ended;
- ``jobs``: ``ClipJob``, a video whose clips are written;
- ``records``: ``ClipRef``, a kept clip record by reference (its bytes stay in the video's
  result file until its shard is written);
- ``rows`` / ``totals``: the lines of shots.jsonl and the shot counts per video.

"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


class Status(StrEnum):
    """Where an input video ends: every input video ends in exactly one of these."""

    KEPT = "kept"
    DROPPED = "dropped"
    FAILED = "failed"


class Stage(StrEnum):
    """The stage that decided an Outcome (also the funnel's steps, in order)."""

    ANALYZE = "analyze"
    DEDUP = "dedup"
    PERSONS = "persons"
    CLIPS = "clips"


class Reason(StrEnum):
    """Why a video was dropped or failed (``videos.jsonl``'s ``reason``)."""

    # failed
    MISSING = "missing"          # no such file or object
    EMPTY = "empty"              # zero bytes
    UNREADABLE = "unreadable"    # not a video container, or truncated so it cannot be opened
    NO_FRAMES = "no_frames"      # opens, nothing decodes
    TOO_LONG = "too_long"        # longer than --max_video_seconds (header or decoded times)
    TOO_LARGE = "too_large"      # frames larger than --max_pixels (header)
    TIMEOUT = "timeout"          # the decode pass took longer than --max_decode_seconds
    DETECTOR_ERROR = "detector_error"  # the person detector raised on a batch of its frames
    ID_TAKEN = "id_taken"        # its video_id names another video an earlier run kept
    ERROR = "error"              # anything unexpected, with the exception
    # dropped
    DUPLICATE = "duplicate"      # near-duplicate of a kept video of the collection (this
                                 # run's or an earlier run's, with --previous)
    REFERENCE = "reference"      # matches a reference set (benchmark validation/test video)
    NO_PERSON = "no_person"      # no shot reaches the person threshold
    TOO_SHORT = "too_short"      # no full clip fits in the kept shots


class Tag(StrEnum):
    """Names of the tagged outputs of the stages' DoFns (the composite transforms return
    NamedTuples with the same words)."""

    ANALYSES = "analyses"
    SHOT_FRAMES = "shot_frames"
    FAILED = "failed"
    KEPT = "kept"
    DROPPED = "dropped"
    SHOTS = "shots"
    KEPT_SHOTS = "kept_shots"
    NO_PERSON = "no_person"
    SHOT_ROWS = "shot_rows"
    SHOT_TOTALS = "shot_totals"
    JOBS = "jobs"
    RECORDS = "records"
    OUTCOMES = "outcomes"


# Bytes per frame hash of each hash kind (``transforms.dedup.fingerprint.HASHERS``);
# fingerprints of different kinds are never compared.
HASH_BYTES = {"phash256": 32}
DEFAULT_KIND = "phash256"


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
class DecodedFacts:
    """What decoding found about a video (not what its header claims): ``duration`` in
    seconds, ``frames`` decoded, ``size_bytes`` of the file, ``decode_errors`` (damaged
    packets skipped: their frames are lost, the rest of the video is not)."""

    duration: float
    frames: int
    size_bytes: int
    decode_errors: int = 0


@dataclass(frozen=True)
class Outcome:
    """Where one input video ended.

    ``status`` is kept / dropped / failed; ``stage`` names the stage that decided;
    ``reason`` says why (a :class:`Reason`) and ``message`` a sentence for people.
    ``evidence`` holds small facts that justify a drop (matched video id, score, reference
    set). ``clips`` counts clips written.
    """

    video_id: str
    uri: str
    status: Status
    stage: Stage
    reason: Reason | str = ""
    message: str = ""
    clips: int = 0
    duration: float = 0.0
    frames: int = 0
    size_bytes: int = 0
    evidence: dict = field(default_factory=dict, compare=False)
    decode_errors: int = 0

    def with_facts(self, facts: DecodedFacts) -> Outcome:
        """This outcome with the decoded facts of its video."""
        return Outcome(self.video_id, self.uri, self.status, self.stage, self.reason,
                       self.message, self.clips, facts.duration, facts.frames,
                       facts.size_bytes, self.evidence, facts.decode_errors)

    def to_json_dict(self) -> dict:
        out = {"video_id": self.video_id, "uri": self.uri, "status": str(self.status),
               "stage": str(self.stage), "reason": str(self.reason), "message": self.message,
               "clips": self.clips, "duration": round(self.duration, 3), "frames": self.frames,
               "size_bytes": self.size_bytes, "decode_errors": self.decode_errors}
        if self.evidence:
            out["evidence"] = self.evidence
        return out


@dataclass(frozen=True)
class VideoFingerprint:
    """A video's fingerprint: for each sampled frame its time (seconds, decoded timeline),
    hash and quality (0..100).

    ``hashes`` is the frames' hashes concatenated (``hash_bytes`` each, frame order), so the
    element is a few bytes per frame when pickled between Beam stages. ``duration`` is in
    seconds, ``width``/``height`` in pixels of the decoded frames; ``kind`` names the hash
    (fingerprints of different kinds are never compared). ``variants``: the hashes of each
    frame's crop variants (``phash256_variants``; frame order, ``variants_per_frame`` hashes
    per frame in ``CROP_WINDOWS`` order), empty when the fingerprint has none.
    """

    video_id: str
    duration: float
    width: int
    height: int
    times: tuple[float, ...]
    hashes: bytes
    qualities: tuple[int, ...]
    kind: str = DEFAULT_KIND
    uri: str = ""
    variants: bytes = b""

    def __post_init__(self):
        size = HASH_BYTES.get(self.kind)
        if size is None:
            raise ValueError(f"unknown hash kind {self.kind!r}")
        n = len(self.times)
        if len(self.qualities) != n or len(self.hashes) != n * size:
            raise ValueError(f"{self.video_id}: {n} times, {len(self.qualities)} qualities and "
                             f"{len(self.hashes)} hash bytes do not agree ({size} per hash)")
        if self.variants and (n == 0 or len(self.variants) % (n * size)):
            raise ValueError(f"{self.video_id}: {len(self.variants)} variant hash bytes are "
                             f"not a whole number of {size}-byte hashes per frame ({n} frames)")

    @property
    def hash_bytes(self) -> int:
        """Bytes per frame hash."""
        return HASH_BYTES[self.kind]

    def __len__(self) -> int:
        return len(self.times)

    def hash_array(self) -> np.ndarray:
        """Hashes as a ``(frames, hash_bytes)`` uint8 array."""
        return np.frombuffer(self.hashes, np.uint8).reshape(len(self.times), self.hash_bytes)

    @property
    def variants_per_frame(self) -> int:
        """Crop-variant hashes per frame (0: none)."""
        return len(self.variants) // (len(self.times) * self.hash_bytes) if self.variants else 0

    def variant_array(self) -> np.ndarray:
        """Variant hashes as a ``(frames, variants_per_frame, hash_bytes)`` uint8 array."""
        return np.frombuffer(self.variants, np.uint8).reshape(
            len(self.times), self.variants_per_frame, self.hash_bytes)

    def usable(self, min_quality: int) -> np.ndarray:
        """Boolean mask of frames whose quality (0..100) reaches ``min_quality``."""
        return np.asarray(self.qualities, np.int16).reshape(-1) >= min_quality

    def to_json_dict(self) -> dict:
        """A JSON-ready dict: hashes as one hex string per frame (PDQ's text convention);
        ``variants`` (only when there are some) one hex string per frame, its variant hashes
        concatenated."""
        size = self.hash_bytes
        row = {"video_id": self.video_id, "uri": self.uri, "kind": self.kind,
               "duration": round(self.duration, 3), "width": self.width,
               "height": self.height, "times": [round(t, 3) for t in self.times],
               "hashes": [self.hashes[i * size:(i + 1) * size].hex()
                          for i in range(len(self.times))],
               "qualities": list(self.qualities)}
        if self.variants:
            step = size * self.variants_per_frame
            row["variants"] = [self.variants[i * step:(i + 1) * step].hex()
                               for i in range(len(self.times))]
        return row

    def to_json(self) -> str:
        """One line of a fingerprint index (JSON Lines)."""
        return json.dumps(self.to_json_dict(), separators=(",", ":"))

    @classmethod
    def from_json_dict(cls, row: dict) -> VideoFingerprint:
        """Inverse of :meth:`to_json_dict`; ``uri``, ``kind`` and ``variants`` may be left
        out."""
        return cls(video_id=str(row["video_id"]), duration=float(row["duration"]),
                   width=int(row["width"]), height=int(row["height"]),
                   times=tuple(float(t) for t in row["times"]),
                   hashes=b"".join(bytes.fromhex(h) for h in row["hashes"]),
                   qualities=tuple(int(q) for q in row["qualities"]),
                   kind=str(row.get("kind") or DEFAULT_KIND), uri=str(row.get("uri") or ""),
                   variants=b"".join(bytes.fromhex(h) for h in row.get("variants") or ()))

    @classmethod
    def from_json(cls, line: str) -> VideoFingerprint:
        return cls.from_json_dict(json.loads(line))


class Transition(StrEnum):
    """How a shot began (``shots.jsonl``'s ``transition``)."""

    START = "start"      # the first shot: the video starts with it
    CUT = "cut"          # a hard cut from the shot before
    GRADUAL = "gradual"  # a gradual transition (dissolve, fade, wipe) from the shot before


@dataclass(frozen=True)
class Shot:
    """A shot: decode frame indices ``[start_frame, end_frame)`` and seconds ``[start, end)``
    on the decoded timeline; ``index`` counts shots from 0 in time order; ``transition`` says
    how it began (``start`` for shot 0; a gradual transition is split between the two shots
    near its middle)."""

    index: int
    start_frame: int
    end_frame: int
    start: float
    end: float
    transition: Transition = Transition.CUT

    @property
    def duration(self) -> float:
        """Seconds."""
        return self.end - self.start


@dataclass(frozen=True)
class ShotFrame:
    """One frame of a shot to score: ``time`` in seconds (decoded timeline), ``jpeg`` the
    downscaled frame as JPEG bytes."""

    video_id: str
    shot_index: int
    time: float
    jpeg: bytes


@dataclass(frozen=True)
class FramePerson:
    """What the person detector saw on one scored shot frame: ``time`` (seconds, the
    ShotFrame's), ``score`` (0..1, its best person) and ``box`` ``(x0, y0, x1, y1)`` of that
    person in fractions (0..1) of the frame's width and height, None when it found none."""

    time: float
    score: float
    box: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class VideoAnalysis:
    """What the one decode pass learned about a video (decoded facts, not header claims):
    its fingerprint (None without dedup), its shots, and where its candidate clips are
    (``clips_path``: ``clips`` clips of ``clip_bytes`` bytes, one per 2-second span of every
    shot; see ``transforms.analyze.results``)."""

    ref: VideoRef
    duration: float
    frames: int
    width: int
    height: int
    size_bytes: int
    fingerprint: VideoFingerprint | None
    shots: tuple[Shot, ...] | None
    decode_errors: int = 0
    clips_path: str = ""
    clips: int = 0
    clip_bytes: int = 0

    @property
    def facts(self) -> DecodedFacts:
        return DecodedFacts(self.duration, self.frames, self.size_bytes, self.decode_errors)


@dataclass(frozen=True)
class ClipJob:
    """A video whose clips are written: its candidate clips (``clips_path``, from the
    analysis pass), the kept shots whose clips are kept (``ranges``: shot index and person
    score; -1 scores without the person filter) and its decoded facts."""

    ref: VideoRef
    ranges: tuple[TimeRange, ...]
    facts: DecodedFacts
    clips_path: str


@dataclass(frozen=True)
class ClipRef:
    """A kept clip record by reference: what travels from the clip stage to the shard writer
    instead of its bytes. The candidate it is made from (``offset`` of its record in the
    video's ``clips_path``), what keeping it sets on it (``label_id``, ``label_name``,
    ``subset``, ``person_score``: -1 without the person filter) and facts of the kept
    record's bytes: ``crc`` (their zlib CRC-32: the shard it goes to), ``head`` (their first
    bytes: its place in the shard) and ``size`` (bytes)."""

    clips_path: str
    offset: int
    label_id: int
    label_name: str
    subset: str
    person_score: float
    crc: int
    head: bytes
    size: int


@dataclass(frozen=True)
class ShardInfo:
    """One written shard: its path, record count and size in bytes."""

    path: str
    records: int
    size_bytes: int


# The download job (pipelines.download_videos): videos fetched into a folder, before the
# dataset job. Every input video ends in ``downloads.jsonl`` as downloaded or failed.


class DownloadStatus(StrEnum):
    """Where a video of the download job ends (``downloads.jsonl``'s ``status``)."""

    DOWNLOADED = "downloaded"
    FAILED = "failed"


class DownloadReason(StrEnum):
    """Why a download failed (``downloads.jsonl``'s ``reason``), besides ``http_<code>`` for
    an HTTP status the server answered with (:func:`http_reason`)."""

    UNAVAILABLE = "unavailable"        # the site says it is not available, and not why
    PRIVATE = "private"                # the uploader made it private
    REMOVED = "removed"                # taken down: uploader, policy, copyright, closed account
    AGE_RESTRICTED = "age_restricted"  # needs a signed-in, age-verified account (--cookies)
    GEO_BLOCKED = "geo_blocked"        # not available from where the worker is (--proxy)
    BOT_CHECK = "bot_check"            # "sign in to confirm you're not a bot": slow down, cookies
    TIMEOUT = "timeout"                # the socket stalled, or the video took over its time limit
    TOO_LARGE = "too_large"            # over --max_file_mb (stopped early, never downloaded whole)
    TOO_LONG = "too_long"              # over --max_duration seconds
    NOT_VIDEO = "not_video"            # the bytes do not decode as video (an HTML page, ...)
    ERROR = "error"                    # anything else, with the message


def http_reason(code: int) -> str:
    """The reason of a download the server answered with HTTP status ``code``: ``http_404``."""
    return f"http_{code}"


@dataclass(frozen=True)
class DownloadTarget:
    """A video to download: its id, ``source`` (a YouTube id or URL, an http(s) URL, or a Beam
    FileSystems URI such as ``gs://b/v.mp4``), the classes the labels give it (sorted; the
    file goes under the first) and its subset."""

    video_id: str
    source: str
    classes: tuple[str, ...] = ()
    subset: str = ""


@dataclass(frozen=True)
class DownloadOutcome:
    """Where one video of the download job ended: ``downloaded`` at ``uri`` (``size_bytes``,
    ``duration`` in seconds from the container, ``format`` as the site names it, ``container``
    the file's extension, ``sha256`` of the file, frame ``width``/``height``), or ``failed``
    with ``reason`` and ``message``. ``attempts`` counts tries (retries of transient errors
    included); ``resumed`` is True for a video an earlier, interrupted run downloaded."""

    video_id: str
    source: str
    status: DownloadStatus
    reason: str = ""
    message: str = ""
    uri: str = ""
    size_bytes: int = 0
    duration: float = 0.0
    format: str = ""
    container: str = ""
    sha256: str = ""
    width: int = 0
    height: int = 0
    attempts: int = 0
    classes: tuple[str, ...] = ()
    subset: str = ""
    resumed: bool = False

    def to_json_dict(self) -> dict:
        return {"video_id": self.video_id, "source": self.source, "status": str(self.status),
                "reason": self.reason, "message": self.message, "uri": self.uri,
                "size_bytes": self.size_bytes, "duration": round(self.duration, 3),
                "format": self.format, "container": self.container, "sha256": self.sha256,
                "width": self.width, "height": self.height, "attempts": self.attempts,
                "classes": list(self.classes), "subset": self.subset, "resumed": self.resumed}

    @classmethod
    def from_json_dict(cls, row: dict) -> DownloadOutcome:
        """Inverse of :meth:`to_json_dict`."""
        return cls(**{**row, "status": DownloadStatus(row["status"]),
                      "classes": tuple(row.get("classes") or ())})
