"""The clip record: a ``tf.train.Example`` built and parsed without TensorFlow.

The protos come from the ``tfrecord`` package (``tfrecord.example_pb2``), so records written
here are read by TensorFlow, by ``tfrecord``'s own PyTorch reader and by ``models.clip_dataset``.
The schema is documented in docs/outputs.md; bump SCHEMA_VERSION on any incompatible change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from transforms.imports import import_without

# tfrecord's __init__ imports its PyTorch reader (torch); the protos need none of it
example_pb2 = import_without("tfrecord", "tfrecord.torch").example_pb2

SCHEMA_VERSION = 1

UNKNOWN_LABEL_ID = -1
# Annotation states of a clip (HACS Clips CSV uses 1 / -1; 0 is "not annotated yet").
POSITIVE, NEGATIVE, UNANNOTATED = 1, -1, 0


@dataclass(frozen=True)
class ClipRecord:
    """One 2-second clip with its frames and where it came from.

    ``codec`` says how the frames are stored: "jpeg", one JPEG image per frame in ``frames``;
    "h264", all frames in ``video``, one MP4 file holding an H.264 stream that decodes alone
    (``transforms.clips.codec``), ``frames`` empty. Times are seconds in the source video's
    decoded timeline; ``timestamps`` holds the source time of each stored frame. ``label_id``
    indexes the dataset's label list (-1: unknown); ``annotation`` is 1 / -1 / 0 (positive,
    negative, not annotated). ``shot_index`` and ``person_score`` are -1 when no shot/person
    stage ran.
    """

    video_id: str
    clip_id: str
    source_uri: str
    start: float
    end: float
    fps: float
    height: int
    width: int
    frames: tuple[bytes, ...]
    timestamps: tuple[float, ...]
    label_id: int = UNKNOWN_LABEL_ID
    label_name: str = ""
    subset: str = ""
    annotation: int = UNANNOTATED
    shot_index: int = -1
    person_score: float = -1.0
    schema_version: int = SCHEMA_VERSION
    codec: str = "jpeg"
    video: bytes = b""

    @property
    def num_frames(self) -> int:
        return len(self.timestamps)


def make_clip_id(video_id: str, start: float, end: float) -> str:
    """Stable clip id: the video id and the clip's span in milliseconds."""
    return f"{video_id}_{round(start * 1000):09d}_{round(end * 1000):09d}"


def _bytes(feature, values: Sequence[bytes]) -> None:
    feature.bytes_list.value.extend(values)


def to_example(clip: ClipRecord) -> bytes:
    """Serialize a clip to ``tf.train.Example`` bytes."""
    ex = example_pb2.Example()
    f = ex.features.feature
    for key, value in (("video_id", clip.video_id), ("clip_id", clip.clip_id),
                       ("source_uri", clip.source_uri), ("label_name", clip.label_name),
                       ("subset", clip.subset)):
        _bytes(f[key], [value.encode("utf-8")])
    _bytes(f["frames"], clip.frames)
    for key, value in (("start", clip.start), ("end", clip.end), ("fps", clip.fps),
                       ("person_score", clip.person_score)):
        f[key].float_list.value.append(value)
    f["timestamps"].float_list.value.extend(clip.timestamps)
    for key, value in (("num_frames", clip.num_frames), ("height", clip.height),
                       ("width", clip.width), ("label_id", clip.label_id),
                       ("annotation", clip.annotation), ("shot_index", clip.shot_index),
                       ("schema_version", clip.schema_version)):
        f[key].int64_list.value.append(value)
    if clip.codec != "jpeg":  # JPEG records keep the fields (and bytes) they always had
        _bytes(f["codec"], [clip.codec.encode("utf-8")])
        _bytes(f["video"], [clip.video])
    return ex.SerializeToString(deterministic=True)


def from_example(data: bytes) -> ClipRecord:
    """Parse ``tf.train.Example`` bytes written by :func:`to_example`."""
    ex = example_pb2.Example()
    ex.ParseFromString(data)
    f = ex.features.feature

    def s(key: str) -> str:
        return f[key].bytes_list.value[0].decode("utf-8")

    def x(key: str) -> float:
        return float(f[key].float_list.value[0])

    def i(key: str) -> int:
        return int(f[key].int64_list.value[0])

    return ClipRecord(
        video_id=s("video_id"), clip_id=s("clip_id"), source_uri=s("source_uri"),
        start=x("start"), end=x("end"), fps=x("fps"), height=i("height"), width=i("width"),
        frames=tuple(f["frames"].bytes_list.value),
        timestamps=tuple(float(t) for t in f["timestamps"].float_list.value),
        label_id=i("label_id"), label_name=s("label_name"), subset=s("subset"),
        annotation=i("annotation"), shot_index=i("shot_index"), person_score=x("person_score"),
        schema_version=i("schema_version"),
        codec=s("codec") if "codec" in f else "jpeg",
        video=f["video"].bytes_list.value[0] if "video" in f else b"")


def with_annotation(data: bytes, annotation: int) -> bytes:
    """Return the record ``data`` with its annotation field set (1, -1 or 0)."""
    if annotation not in (POSITIVE, NEGATIVE, UNANNOTATED):
        raise ValueError(f"annotation must be 1, -1 or 0, got {annotation}")
    return to_example(replace(from_example(data), annotation=annotation))
