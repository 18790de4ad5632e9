"""Picture structure for shot detection: what a cut changes and a lighting change does not.

A frame's grey image is cut into a grid of small cells; each cell keeps only its pattern, with
its own mean taken out and its contrast measured. Two frames are compared cell by cell by
normalised correlation, which ignores any change of brightness and contrast inside a cell: an
auto-exposure step, a flash washing the picture out, a lamp dimming or a lens flare's smooth
glow leave the cells' patterns in place, while a hard cut replaces them. The median over the
cells lets a minority of cells change (a person moving, a flare's core) without reading as a
cut.

A gradual transition is told from motion by its linearity: halfway through a dissolve or fade
the picture is the average of the frames before and after it, which no motion produces.
Plain numpy and OpenCV; no Beam here.
"""

from __future__ import annotations

import cv2
import numpy as np

GRID = (6, 8)             # cell rows, columns
CELL = (4, 4)             # cell height, width in pixels of the compared image
# A cell's contrast (standard deviation in grey levels, 0..255) below which it holds no
# pattern (flat, black, or noise-free sky); 8-bit quantisation still leaves a washed-out or
# darkened pattern above it.
FLAT = 1.0


class Cells:
    """A frame's cell patterns: ``patterns`` (cells x pixels, float32, each row minus its
    mean) and ``contrast`` (each cell's standard deviation, grey levels)."""

    __slots__ = ("patterns", "contrast")

    def __init__(self, patterns: np.ndarray, contrast: np.ndarray):
        self.patterns = patterns
        self.contrast = contrast


def cells(grey: np.ndarray, grid: tuple[int, int] = GRID,
          cell: tuple[int, int] = CELL) -> Cells:
    """The cell patterns of a grey uint8 image, area-resized to ``grid * cell`` pixels."""
    rows, cols = grid
    ch, cw = cell
    image = cv2.resize(grey, (cols * cw, rows * ch), interpolation=cv2.INTER_AREA)
    blocks = image.astype(np.float32).reshape(rows, ch, cols, cw).transpose(0, 2, 1, 3)
    blocks = blocks.reshape(rows * cols, ch * cw)
    blocks -= blocks.mean(axis=1, keepdims=True)
    return Cells(blocks, np.sqrt((blocks * blocks).mean(axis=1)))


def cell_distance(a: Cells, b: Cells, flat: float = FLAT) -> float:
    """How far two frames' patterns differ: the median over cells of 1 - correlation (0: the
    same pattern at any brightness and contrast; 1: unrelated; up to 2: inverted). A cell
    flat in one frame and patterned in the other counts 1; cells flat in both are left out
    (0 when all are)."""
    pa, pb = a.contrast > flat, b.contrast > flat
    corr = np.einsum("ij,ij->i", a.patterns, b.patterns) / (
        a.patterns.shape[1] * np.maximum(a.contrast * b.contrast, 1e-12))
    d = np.where(pa & pb, 1.0 - corr, 1.0)[pa | pb]
    n = d.size
    if not n:
        return 0.0
    d.sort()  # the median by hand: np.median costs more than the rest on 48 numbers
    return float(d[n // 2]) if n % 2 else float(0.5 * (d[n // 2 - 1] + d[n // 2]))


def linearity(before: np.ndarray, middle: np.ndarray, after: np.ndarray) -> float:
    """How far ``middle`` is from the average of ``before`` and ``after`` (grey images of one
    size), relative to how far those two differ: about 0 halfway through a dissolve or fade,
    0.5 at a hard cut, near or above 1 for motion. Infinite when the ends do not differ."""
    b = before.astype(np.float32)
    a = after.astype(np.float32)
    spread = float(cv2.norm(b, a, cv2.NORM_L1))
    if spread <= 0:
        return float("inf")
    return float(cv2.norm(middle.astype(np.float32), (b + a) * 0.5, cv2.NORM_L1)) / spread
