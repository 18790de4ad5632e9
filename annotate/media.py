"""Media for the annotation tools: clip records out of shards, preview strips, video files.

Clip previews are one JPEG per clip: its frames side by side (a film strip), which the page
animates by shifting the background; one request per clip instead of one per frame.
Video files are only ever resolved inside the configured videos root.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import av
import cv2
import numpy as np

from transforms.clips.codec import clip_frames
from transforms.files import open_binary
from transforms.inputs.manifest import video_id_from_path
from transforms.jpeg import encode_jpeg
from transforms.output.records import ClipRecord, from_example
from transforms.output.shards import is_tar, iter_record_spans, match_shards
from transforms.output.tar_shards import sample_record

VIDEO_EXTENSIONS = (".mp4", ".webm", ".m4v", ".mov", ".mkv", ".ogv", ".ogg")
PREVIEW_HEIGHT = 112  # pixels; about the clips' short side (128) scaled for a dense grid
PREVIEW_MAX_FRAMES = 16
_TFRECORD_HEADER = 12  # uint64 length + uint32 masked crc


def scan_shards(pattern: str) -> Iterator[tuple[ClipRecord, str, int, int]]:
    """Every record of the shards matching ``pattern``: ``(record, shard, offset, length)``,
    offset and length in bytes of the whole TFRecord entry (of a ``.tar`` shard's sample)."""
    for shard in match_shards(pattern):
        for offset, length, payload in iter_record_spans(shard):
            yield from_example(payload), shard, offset, length


def read_record(shard: str, offset: int, length: int) -> ClipRecord:
    """The clip record stored at ``offset`` (bytes) of ``shard``."""
    with open_binary(shard) as f:
        f.seek(offset)
        entry = f.read(length)
    if len(entry) != length:
        raise ValueError(f"{shard}: record at byte {offset} is truncated")
    if is_tar(shard):  # a WebDataset shard: the sample's tar headers and files
        return sample_record(entry)
    return from_example(entry[_TFRECORD_HEADER:length - 4])


def preview_strip(record: ClipRecord, height: int = PREVIEW_HEIGHT,
                  max_frames: int = PREVIEW_MAX_FRAMES) -> tuple[bytes, int]:
    """A JPEG of up to ``max_frames`` evenly spaced frames side by side, each ``height``
    pixels high; returns ``(jpeg bytes, frame count)``."""
    if not record.num_frames:
        raise ValueError(f"clip {record.clip_id} has no frames")
    picks = np.unique(np.linspace(0, record.num_frames - 1,
                                  min(max_frames, record.num_frames)).round().astype(int))
    tiles = []
    for image in clip_frames(record, picks):
        width = max(1, round(image.shape[1] * height / image.shape[0]))
        tile = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        if tiles and tile.shape != tiles[0].shape:
            tile = cv2.resize(tile, (tiles[0].shape[1], height), interpolation=cv2.INTER_AREA)
        tiles.append(tile)
    return encode_jpeg(np.hstack(tiles), quality=85), len(tiles)


def scan_videos(root: str, strip_v_prefix: bool = True) -> dict[str, str]:
    """``{video_id: path relative to root}`` for the video files under ``root``, at any
    depth; the id is the file name without extension and, unless ``strip_v_prefix`` is
    False, without a leading ``v_`` (the pipeline's rule,
    :func:`transforms.inputs.manifest.video_id_from_path`, so the download layout
    ``ROOT/<classname>/v_<id>.mp4`` works). The first path in sorted order wins on a clash.
    Links that lead outside ``root`` are left out."""
    found: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            relative = os.path.relpath(os.path.join(dirpath, name), root)
            if (os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS
                    and resolve_inside(root, relative)):
                found.setdefault(video_id_from_path(name, strip_v_prefix), relative)
    return found


def resolve_inside(root: str, relative: str) -> str | None:
    """The real path of ``root/relative`` if it is a file inside ``root`` (after resolving
    ``..`` and symlinks), else None."""
    if not relative or os.path.isabs(relative) or "\x00" in relative:
        return None
    base = os.path.realpath(root)
    path = os.path.realpath(os.path.join(base, relative))
    if os.path.commonpath([base, path]) != base or not os.path.isfile(path):
        return None
    return path


def video_duration(path: str) -> float | None:
    """Seconds of the video file at ``path``: the video stream's duration, else the
    container's, else the end of the last decoded frame; None if it cannot be read."""
    try:
        with av.open(path) as container:
            stream = container.streams.video[0] if container.streams.video else None
            if stream is not None and stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
            if container.duration:
                return container.duration / av.time_base
            if stream is None:
                return None
            end = None
            for frame in container.decode(stream):
                if frame.time is not None:
                    step = float(frame.duration * frame.time_base) if frame.duration else 0.0
                    end = frame.time + step
            return end
    except (av.FFmpegError, OSError, IndexError):
        return None
