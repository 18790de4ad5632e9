"""The JPEG codec of the project: clip frames, shot frames and thumbnails are stored as JPEG
bytes, and the record readers, the person detectors and the annotation tool decode them.

Images are BGR ``uint8`` arrays ``(height, width, 3)``, as OpenCV decodes video frames.
Plain OpenCV; no Beam here.
"""

from __future__ import annotations

import cv2
import numpy as np


def encode_jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    """BGR uint8 image to JPEG bytes."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def decode_jpeg(data: bytes) -> np.ndarray:
    """JPEG bytes to a BGR uint8 image."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("not a JPEG image")
    return image
