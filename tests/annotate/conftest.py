"""Fixtures for the annotation tools: real clip shards cut from the sample videos, a
browser-playable WebM made from the same frames, and a real server on a free port."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from tests_annotate_helpers import WEBM_FPS, write_shard
from werkzeug.serving import make_server

from annotate.app import create_app
from annotate.cli import prepare
from annotate.store import Store
from tests.media import iter_frames
from transforms.jpeg import encode_jpeg
from transforms.output.records import NEGATIVE, ClipRecord, make_clip_id, to_example

VIDEOS = Path(__file__).resolve().parents[1] / "data" / "videos"
CLIP_FPS = 8.0


def _frames(name: str, seconds: float, fps: float) -> list[tuple[float, np.ndarray]]:
    out = []
    for frame in iter_frames(str(VIDEOS / name), fps=fps, short_side=128):
        if frame.time >= seconds:
            break
        out.append((frame.time, frame.image.copy()))
    return out


def make_clip(video_id: str, frames: list[tuple[float, np.ndarray]], start: float,
              label_name: str, annotation: int = 0) -> ClipRecord:
    """A 2-second ClipRecord of ``frames`` (time, BGR) from ``start`` seconds."""
    picked = [(t, im) for t, im in frames if start <= t < start + 2.0]
    h, w = picked[0][1].shape[:2]
    return ClipRecord(
        video_id=video_id, clip_id=make_clip_id(video_id, start, start + 2.0),
        source_uri=f"https://example.org/{video_id}.mp4", start=start, end=start + 2.0,
        fps=CLIP_FPS, height=h, width=w, frames=tuple(encode_jpeg(im) for _, im in picked),
        timestamps=tuple(t for t, _ in picked), label_name=label_name, subset="training",
        annotation=annotation)


@dataclass(frozen=True)
class Dataset:
    """What the fixtures built: shard glob, videos root, and the clips in the shards."""

    shards: str
    videos_root: str
    clips: tuple[ClipRecord, ...]
    outside_file: str  # a file next to (not inside) the videos root


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> Dataset:
    base = tmp_path_factory.mktemp("annotate-data")
    frames_a = _frames("vtest_a.mp4", 8.0, CLIP_FPS)
    frames_b = _frames("vtest_b.mp4", 6.0, CLIP_FPS)
    walking = [make_clip("vtest_a", frames_a, s, "Walking") for s in (0.0, 2.0, 4.0, 6.0)]
    walking += [make_clip("vtest_b", frames_b, 0.0, "Walking", annotation=NEGATIVE),
                make_clip("vtest_b", frames_b, 2.0, "Walking")]
    running = [make_clip("vtest_b", frames_b, s, "Running") for s in (2.0, 4.0)]
    shard_dir = base / "shards"
    shard_dir.mkdir()
    write_shard(shard_dir / "clips-00000-of-00002.tfrecord",
                [to_example(c) for c in walking[:3]])
    write_shard(shard_dir / "clips-00001-of-00002.tfrecord",
                [to_example(c) for c in walking[3:] + running])
    root = base / "videos"
    root.mkdir()
    for name, video_id in (("vtest_a.mp4", "vtest_a"), ("vtest_b.mp4", "vtest_b")):
        make_webm(str(VIDEOS / name), str(root / f"{video_id}.webm"), seconds=8.0)
    outside = base / "secret.txt"
    outside.write_text("not for the browser")
    return Dataset(str(shard_dir / "*.tfrecord"), str(root), tuple(walking + running),
                   str(outside))


def make_webm(source: str, target: str, seconds: float) -> None:
    """A small VP8 WebM (plays in Chromium) of the first ``seconds`` of ``source``."""
    writer = None
    for frame in iter_frames(source, fps=WEBM_FPS, short_side=144):
        if frame.time >= seconds:
            break
        if writer is None:
            h, w = frame.image.shape[:2]
            writer = cv2.VideoWriter(target, cv2.VideoWriter_fourcc(*"VP80"), WEBM_FPS, (w, h))
            assert writer.isOpened(), "OpenCV cannot write VP8 WebM here"
        writer.write(frame.image)
    writer.release()
    assert os.path.getsize(target) > 1000


@dataclass
class Server:
    url: str
    store: Store
    db: str


@contextmanager
def run_server(dataset: Dataset, db: str, **store_options) -> Iterator[Server]:
    """A database filled from the dataset (annotators ann and bob), served on a free port of
    127.0.0.1; ``store_options`` go to :class:`Store` (e.g. ``lease_seconds``)."""
    store = Store(db, **store_options)
    prepare(store, dataset.shards, dataset.videos_root)
    store.add_annotator("ann", "ann-token")
    store.add_annotator("bob", "bob-token")
    httpd = make_server("127.0.0.1", 0, create_app(store, dataset.videos_root, page_size=4),
                        threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_port}", store, db)
    finally:
        httpd.shutdown()
        thread.join(timeout=5)
        store.close()


@pytest.fixture
def server(dataset: Dataset, tmp_path: Path) -> Iterator[Server]:
    """A fresh database filled from the dataset, served on a free port of 127.0.0.1."""
    with run_server(dataset, str(tmp_path / "annotate.sqlite")) as srv:
        yield srv
