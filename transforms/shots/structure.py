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

import math

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
    mean), ``norm`` (each row's Euclidean length: sqrt(pixels) x the cell's standard deviation
    in grey levels; infinite for a flat cell, so that its correlation with any cell is 0) and
    ``patterned`` (which cells are not flat)."""

    __slots__ = ("patterns", "norm", "patterned")

    def __init__(self, patterns: np.ndarray, norm: np.ndarray, patterned: np.ndarray):
        self.patterns = patterns
        self.norm = norm
        self.patterned = patterned


def cells(grey: np.ndarray, grid: tuple[int, int] = GRID, cell: tuple[int, int] = CELL,
          flat: float = FLAT) -> Cells:
    """The cell patterns of a grey uint8 image, area-resized to ``grid * cell`` pixels; a cell
    whose contrast is ``flat`` or less holds no pattern.

    Runs once per frame on a tiny image, where each numpy call's overhead outweighs its work:
    sums rather than ``np.mean`` (the same float32 reduction, without the wrapper; a cell's
    sum of grey levels is exact), and the norms and flat cells worked out here once, not in
    every :func:`cell_distance` the frame takes part in.
    """
    rows, cols = grid
    ch, cw = cell
    pixels = ch * cw
    image = cv2.resize(grey, (cols * cw, rows * ch), interpolation=cv2.INTER_AREA)
    blocks = image.reshape(rows, ch, cols, cw).transpose(0, 2, 1, 3).astype(
        np.float32, order="C").reshape(rows * cols, pixels)
    blocks -= np.add.reduce(blocks, 1, keepdims=True) / pixels
    norm = np.sqrt(np.add.reduce(blocks * blocks, 1))
    patterned = norm > flat * math.sqrt(pixels)
    return Cells(blocks, np.where(patterned, norm, np.float32(np.inf)), patterned)


def cell_distance(a: Cells, b: Cells) -> float:
    """How far two frames' patterns differ: the median over cells of 1 - correlation (0: the
    same pattern at any brightness and contrast; 1: unrelated; up to 2: inverted). A cell
    flat in one frame and patterned in the other counts 1 (its infinite norm makes the
    correlation 0); cells flat in both are left out (0 when all are)."""
    d = 1.0 - np.einsum("ij,ij->i", a.patterns, b.patterns) / (a.norm * b.norm)
    d = d[a.patterned | b.patterned]
    n = d.size
    if not n:
        return 0.0
    d.sort()  # the median by hand: np.median costs more than the rest on 48 numbers
    return float(d[n // 2]) if n % 2 else float(0.5 * (d[n // 2 - 1] + d[n // 2]))


def linearity(before: np.ndarray, middle: np.ndarray, after: np.ndarray) -> float:
    """How far ``middle`` is from the average of ``before`` and ``after`` (grey images of one
    size), relative to how far those two differ: about 0 halfway through a dissolve or fade,
    0.5 at a hard cut, near or above 1 for motion. Infinite when the ends do not differ.

    In integers (twice the middle against the sum of the ends): both L1 norms are exact, as
    they were in float32, with fewer conversions."""
    spread = cv2.norm(before, after, cv2.NORM_L1)
    if spread <= 0:
        return float("inf")
    ends = cv2.add(before, after, dtype=cv2.CV_16U)
    twice = cv2.add(middle, middle, dtype=cv2.CV_16U)
    return 0.5 * cv2.norm(twice, ends, cv2.NORM_L1) / spread
