"""Generated media with known shot boundaries, shared by the shot and person tests."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

SIZE = (160, 120)
FPS = 25.0


def scene_frame(scene: int, t: int) -> np.ndarray:
    """Frame ``t`` of synthetic scene ``scene``: its own background colour, a textured band and
    a square moving 2 px per frame (motion inside a shot, no cut)."""
    rng = np.random.default_rng(scene)
    hsv = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    hsv[..., 0] = (scene * 37) % 180
    hsv[..., 1] = 60 + (scene * 53) % 180
    hsv[..., 2] = 70 + (scene * 71) % 170
    image = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    image[80:100] = rng.integers(0, 255, (20, SIZE[0], 3), dtype=np.uint8)
    x = (10 + 2 * t) % (SIZE[0] - 30)
    color = tuple(int(c) for c in rng.integers(0, 255, 3))
    cv2.rectangle(image, (x, 20), (x + 25, 45), color, -1)
    return image


def write_video(path: str, frames: list[np.ndarray]) -> str:
    out = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    for f in frames:
        out.write(f)
    out.release()
    return path


@pytest.fixture(scope="session")
def cut_video(tmp_path_factory) -> tuple[str, list[int]]:
    """A 25 fps video of 5 scenes (lengths 40, 30, 55, 25, 50 frames); returns its path and
    the first frame of every scene after the first (the true cuts)."""
    lengths = [40, 30, 55, 25, 50]
    frames, cuts = [], []
    for scene, n in enumerate(lengths):
        if scene:
            cuts.append(len(frames))
        frames.extend(scene_frame(scene, t) for t in range(n))
    path = str(tmp_path_factory.mktemp("media") / "cuts.mp4")
    return write_video(path, frames), cuts
