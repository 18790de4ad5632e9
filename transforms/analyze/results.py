"""Per-video results of the analysis pass, committed as each video completes.

The one decode pass of a video makes everything later stages need from its frames: the
analysis (decoded facts, fingerprint, shots), the frames to score for people, and a candidate
clip for every 2-second span of every shot. They are written to two files in the run's work
folder while the video decodes (memory stays flat in its length), and committed when it ends:

- ``<name>.clips``: TFRecord; each record is a little-endian int32 shot index followed by the
  candidate clip (a serialized ``tf.train.Example`` without label or person score: those are
  set when the clips of kept shots are written);
- ``<name>.meta``: TFRecord; the video's ShotFrames (``F`` + JSON header + newline + JPEG),
  its report thumbnails (``T`` + time as 8-byte float + JPEG), then, last, the analysis
  (``A`` + JSON).

Both are written under temporary names and renamed when the video is done (``.clips`` first,
then ``.meta``): a video whose ``.meta`` exists is complete, and a rerun or a resumed run
re-uses it instead of decoding the video again. ``<name>`` is the video id (made safe for a
file name) and a digest of what identifies the input (id, URI, size, modification time), so a
changed file is decoded again. The folder itself is named by a digest of every setting that
changes these results (:func:`work_folder`). Plain Python and Beam's FileSystems (local or gs://).
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict

from transforms.analyze.part import AnalysisPart, settings
from transforms.files import filesystems
from transforms.output.shards import RecordReader, RecordWriter, iter_record_spans, iter_records
from transforms.types import (
    Shot,
    ShotFrame,
    Transition,
    VideoAnalysis,
    VideoFingerprint,
    VideoRef,
)

# Bump when the files' content changes meaning: older work folders are then not re-used.
FORMAT_VERSION = 1
_SHOT = struct.Struct("<i")
_TIME = struct.Struct("<d")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_META, _CLIPS = ".meta", ".clips"


def settings_digest(settings: dict) -> str:
    """A short digest of the settings (a JSON-able dict) that change the per-video results."""
    text = json.dumps({"format": FORMAT_VERSION, **settings}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def work_folder(root: str, parts: Sequence[AnalysisPart]) -> str:
    """Where the per-video results of a pass with ``parts`` go: a folder of ``root`` named by
    the digest of the parts' configs (``part.settings``: every setting that changes the
    results, and only those), so a run with other settings never re-uses them."""
    return filesystems().join(root, settings_digest(settings(parts)))


def source_identity(uri: str) -> tuple[int, float] | None:
    """``(size in bytes, modification time in seconds)`` of the input, or None when it cannot
    be listed (the decode then reports why)."""
    try:
        found = filesystems().match([uri])[0].metadata_list
    except Exception:  # noqa: BLE001 - missing objects, bad buckets: the decoder says which
        return None
    if not found:
        return None
    meta = found[0]
    return int(meta.size_in_bytes), float(getattr(meta, "last_updated_in_seconds", 0.0) or 0.0)


def result_name(ref: VideoRef, identity: tuple[int, float] | None) -> str:
    """The file name stem of a video's results."""
    text = json.dumps([ref.video_id, ref.uri, identity], default=str)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return f"{_UNSAFE.sub('_', ref.video_id)[:80]}-{digest}"


def result_paths(folder: str, name: str) -> tuple[str, str]:
    """``(meta path, clips path)`` of the results named ``name`` in ``folder``."""
    base = filesystems().join(folder, name)
    return base + _META, base + _CLIPS


def meta_path_of(clips_path: str) -> str:
    """The ``.meta`` file of the video whose candidate clips are in ``clips_path``."""
    if not clips_path.endswith(_CLIPS):
        raise ValueError(f"not a candidate clips file: {clips_path}")
    return clips_path[: -len(_CLIPS)] + _META


def _frame_record(frame: ShotFrame) -> bytes:
    head = json.dumps({"video_id": frame.video_id, "shot_index": frame.shot_index,
                       "time": frame.time}, sort_keys=True).encode("utf-8")
    return b"F" + head + b"\n" + frame.jpeg


def _analysis_json(a: VideoAnalysis) -> dict:
    row = asdict(a)
    row["fingerprint"] = a.fingerprint.to_json_dict() if a.fingerprint else None
    row["shots"] = None if a.shots is None else [asdict(s) for s in a.shots]
    return row


def _analysis_from_json(row: dict) -> VideoAnalysis:
    fp, shots = row.pop("fingerprint"), row.pop("shots")
    return VideoAnalysis(
        ref=VideoRef(**row.pop("ref")),
        fingerprint=VideoFingerprint.from_json_dict(fp) if fp else None,
        shots=None if shots is None else tuple(_shot(s) for s in shots), **row)


def _shot(row: dict) -> Shot:
    if "transition" in row:
        row = {**row, "transition": Transition(row["transition"])}
    return Shot(**row)


class ResultWriter:
    """Writes one video's results under temporary names; :meth:`commit` publishes them,
    :meth:`abort` removes them. ``clips`` and ``clip_bytes`` count the candidate clips."""

    def __init__(self, folder: str, name: str):
        self.meta_path, self.clips_path = result_paths(folder, name)
        tag = f".tmp-{uuid.uuid4().hex[:12]}"
        self._tmp_meta, self._tmp_clips = self.meta_path + tag, self.clips_path + tag
        self._meta = RecordWriter(self._tmp_meta)
        self._clips = RecordWriter(self._tmp_clips)
        self.clips = 0

    @property
    def clip_bytes(self) -> int:
        return self._clips.bytes

    def add_frame(self, frame: ShotFrame) -> None:
        self._meta.write(_frame_record(frame))

    def add_thumbnail(self, time: float, jpeg: bytes) -> None:
        self._meta.write(b"T" + _TIME.pack(time) + jpeg)

    def add_clip(self, shot_index: int, example: bytes) -> None:
        self._clips.write(_SHOT.pack(shot_index) + example)
        self.clips += 1

    def commit(self, analysis: VideoAnalysis) -> None:
        """Write the analysis last and rename both files into place (clips first)."""
        self._meta.write(b"A" + json.dumps(_analysis_json(analysis), sort_keys=True)
                         .encode("utf-8"))
        self._meta.close()
        self._clips.close()
        fs = filesystems()
        fs.rename([self._tmp_clips], [self.clips_path])
        fs.rename([self._tmp_meta], [self.meta_path])

    def abort(self) -> None:
        """Close and delete the temporary files (after a failure)."""
        for writer in (self._meta, self._clips):
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - closed already or failed: deleting is what counts
                pass
        fs = filesystems()
        for path in (self._tmp_meta, self._tmp_clips):
            try:
                if fs.exists(path):
                    fs.delete([path])
            except Exception:  # noqa: BLE001 - a leftover temp file is removed by the next run
                pass


def is_committed(meta_path: str) -> bool:
    return filesystems().exists(meta_path)


def read_result(meta_path: str, thumbnails: bool = False, frames: bool = True,
                ) -> Iterator[ShotFrame | VideoAnalysis | tuple[float, bytes]]:
    """The ShotFrames of a committed video (unless not ``frames``), in order, then its
    VideoAnalysis; with ``thumbnails`` also its ``(time, JPEG)`` report thumbnails."""
    for record in iter_records(meta_path):
        kind, body = record[:1], record[1:]
        if kind == b"F":
            if frames:
                head, _, jpeg = body.partition(b"\n")
                yield ShotFrame(jpeg=jpeg, **json.loads(head))
        elif kind == b"T":
            if thumbnails:
                yield _TIME.unpack_from(body)[0], body[_TIME.size:]
        elif kind == b"A":
            yield _analysis_from_json(json.loads(body))
        else:
            raise ValueError(f"{meta_path}: unknown record kind {kind!r}")


def read_shot_frames(meta_path: str) -> Iterator[ShotFrame]:
    """The ShotFrames of a committed video, in order, read one at a time."""
    for item in read_result(meta_path):
        if isinstance(item, ShotFrame):
            yield item


def iter_candidates(clips_path: str) -> Iterator[tuple[int, int, bytes]]:
    """``(offset, shot index, candidate clip Example)`` of a committed video, in the order
    cut; ``offset`` is where the candidate's record starts in the file (see
    :func:`read_candidate`)."""
    for offset, _, record in iter_record_spans(clips_path):
        yield offset, _SHOT.unpack_from(record)[0], record[_SHOT.size:]


def read_candidate(reader: RecordReader, clips_path: str, offset: int) -> bytes:
    """The candidate clip Example whose record starts at ``offset`` of ``clips_path``."""
    return reader.read(clips_path, offset)[_SHOT.size:]
