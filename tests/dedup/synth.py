"""Helpers building synthetic fingerprints with known near-duplicates."""

from __future__ import annotations

import numpy as np

from transforms.types import VideoFingerprint


def synthetic(video_id: str, hashes: np.ndarray, duration: float | None = None,
              width: int = 640, height: int = 360, quality: int = 100,
              variants: np.ndarray | None = None) -> VideoFingerprint:
    """A phash256 fingerprint from a (frames, 32) uint8 array, one frame per 0.5 s, with crop
    variants from a (frames, variants, 32) array when given."""
    n = len(hashes)
    return VideoFingerprint(video_id=video_id, duration=duration if duration else n * 0.5,
                            width=width, height=height, times=tuple(i * 0.5 for i in range(n)),
                            hashes=hashes.astype(np.uint8).tobytes(),
                            qualities=(quality,) * n,
                            variants=b"" if variants is None else
                            variants.astype(np.uint8).tobytes())


def flip_bits(hashes: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    """Copy of ``hashes`` with ``bits`` random distinct bits flipped in every row."""
    out = hashes.copy()
    for row in out:
        for pos in rng.choice(row.size * 8, bits, replace=False):
            row[pos // 8] ^= np.uint8(1 << (pos % 8))
    return out
