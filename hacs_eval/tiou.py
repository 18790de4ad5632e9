"""Temporal intersection over union (tIoU) of segments, vectorised.

The arithmetic is the ActivityNet reference's, operation for operation, so values are
bit-identical and threshold comparisons (``tiou >= t``) agree exactly:
``inter = max(0, min(e1, e2) - max(s1, s2))``,
``union = (ground truth length) + (prediction length) - inter``.
"""

from __future__ import annotations

import numpy as np

ACTIVITYNET_TIOU = np.linspace(0.5, 0.95, 10)
THUMOS14_TIOU = np.linspace(0.3, 0.7, 5)


def tiou_pairs(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """tIoU of row ``i`` of ``pred`` with row ``i`` of ``gt``; both ``(n, 2)`` start/end
    (any time unit); returns ``(n,)`` in [0, 1]."""
    inter = (np.minimum(pred[:, 1], gt[:, 1]) - np.maximum(pred[:, 0], gt[:, 0])).clip(0)
    union = (gt[:, 1] - gt[:, 0]) + (pred[:, 1] - pred[:, 0]) - inter
    return inter / union


def parse_thresholds(spec: str) -> np.ndarray:
    """Thresholds from a command-line spec: ``activitynet`` (0.5:0.05:0.95), ``thumos14``
    (0.3:0.1:0.7), ``START:STEP:STOP`` (inclusive) or a comma list."""
    named = {"activitynet": ACTIVITYNET_TIOU, "thumos14": THUMOS14_TIOU}
    if spec.lower() in named:
        return named[spec.lower()].copy()
    try:
        if ":" in spec:
            start, step, stop = (float(x) for x in spec.split(":"))
            if step <= 0:
                raise ValueError("step must be positive")
            values = np.linspace(start, stop, int(round((stop - start) / step)) + 1)
        else:
            values = np.array([float(x) for x in spec.split(",")])
    except ValueError as e:
        raise ValueError(f"bad tIoU thresholds {spec!r}: {e}") from e
    if values.size == 0 or np.any(values <= 0) or np.any(values > 1):
        raise ValueError(f"tIoU thresholds must lie in (0, 1], got {spec!r}")
    return values
