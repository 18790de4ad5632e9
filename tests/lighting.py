"""Lighting changes applied to real footage, for shot tests and benchmarks: what a single
take goes through without a cut (auto-exposure steps, camera flashes, lens flares, lighting
ramps, flicker). Plain numpy and OpenCV on BGR uint8 frames.
"""

from __future__ import annotations

import cv2
import numpy as np


def gain(image: np.ndarray, g: float) -> np.ndarray:
    """Exposure scaled by ``g`` (gamma-encoded values: a linear-light gain ``g`` multiplies
    them by ``g ** (1 / 2.2)``), clipped."""
    return np.clip(image.astype(np.float32) * g ** (1 / 2.2), 0, 255).astype(np.uint8)


def flash(image: np.ndarray, strength: float) -> np.ndarray:
    """A camera flash: the picture washed towards white by ``strength`` (0..1)."""
    return cv2.addWeighted(image, 1 - strength, np.full_like(image, 255), strength, 0)


def flare(image: np.ndarray, x: float, y: float, strength: float) -> np.ndarray:
    """A lens flare: a bright warm blob a third of the frame wide at ``(x, y)`` (0..1)."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    blob = np.exp(-(((xx - x * w) / (w / 6)) ** 2 + ((yy - y * h) / (w / 6)) ** 2))
    glow = blob[..., None] * np.array([170, 220, 255], np.float32) * strength
    return np.clip(image.astype(np.float32) + glow, 0, 255).astype(np.uint8)


def relight(frames: list[np.ndarray]) -> list[np.ndarray]:
    """A single take's frames with lighting events at fixed fractions of its length: two
    auto-exposure steps (x1.8, then down to x0.6 of the original: the camera re-metering),
    a 2-frame camera flash, a 3-frame lens flare crossing the picture, a lighting ramp (x1.6
    over 12 frames) and 8 frames of light flicker (x0.75 / x1.25 alternating)."""
    n = len(frames)
    out = []
    for i, f in enumerate(frames):
        t = i / n
        g = 1.0
        if 0.15 <= t < 0.35:
            g = 1.8
        elif 0.35 <= t < 0.55:
            g = 0.6
        ramp = int(0.8 * n)
        if i >= ramp:
            g *= 1.0 + 0.6 * min(1.0, (i - ramp) / 12)
        flick = int(0.7 * n)
        if flick <= i < flick + 8:
            g *= 0.75 if (i - flick) % 2 else 1.25
        image = gain(f, g) if g != 1.0 else f.copy()
        fl = int(0.6 * n)
        if fl <= i < fl + 2:
            image = flash(image, 0.7 if i == fl else 0.4)
        fr = int(0.45 * n)
        if fr <= i < fr + 3:
            image = flare(image, 0.3 + 0.2 * (i - fr), 0.35, 1.0)
        out.append(image)
    return out
