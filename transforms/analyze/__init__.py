"""Stage 1, the one decode pass: each video is decoded once, front to back, and every consumer
that needs its frames rides the same pass (fingerprints for dedup, the shot detector, the shot
frames to score for people).

- ``decode.py``: the streaming decoder (decoded timestamps, flat memory, gs:// via a temporary
  copy) and ``decode_pass``, which feeds several frame consumers at once. No Beam.
- ``stage.py``: ``AnalyzeVideos`` (VideoRef -> VideoAnalysis + ShotFrame + failed Outcome),
  which puts the consumers of the other stages into one pass.
"""

from transforms import lazy_exports

__all__ = ["AnalysisConfig", "AnalyzeVideos"]
__getattr__ = lazy_exports(__name__, {
    "AnalyzeVideos": "transforms.analyze.stage",
    "AnalysisConfig": "transforms.analyze.stage",
})
