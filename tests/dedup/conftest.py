"""Shared fixtures: real sample videos and their fingerprints (computed once per session)."""

from __future__ import annotations

import os

import pytest

from transforms.dedup.fingerprint import fingerprint_video
from transforms.types import VideoFingerprint

VIDEOS = os.path.join(os.path.dirname(__file__), "..", "data", "videos")


def video(name: str) -> str:
    return os.path.join(VIDEOS, name)


@pytest.fixture(scope="session")
def real_fps() -> dict[str, VideoFingerprint]:
    """Fingerprints of the committed test videos at the default settings."""
    names = ("Megamind.avi", "Megamind_bugy.avi", "vtest_a.mp4", "vtest_b.mp4", "tree.avi")
    return {n.split(".")[0]: fingerprint_video(n.split(".")[0], video(n)) for n in names}

