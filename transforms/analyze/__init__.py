"""Stage 1, the one decode pass: each video is decoded once, front to back, and every stage
that needs its frames rides the same pass as a part (fingerprints for dedup, the shot
detector, the shot frames to score for people, candidate clips, the report's thumbnails).

- ``decode.py``: the streaming decoder (decoded timestamps, flat memory, gs:// via a temporary
  copy) and ``decode_pass``, which feeds several frame consumers at once. No Beam.
- ``part.py``: ``AnalysisPart``, the plug-in shape every stage's part has. No Beam.
- ``results.py``: the per-video result files and the work folder's key. No Beam.
- ``stage.py``: ``AnalyzeVideos`` (VideoRef -> VideoAnalysis + ShotFrame + failed Outcome),
  which runs the parts it is given in one pass and imports none of them.
"""

from transforms import lazy_exports

__all__ = ["AnalyzeVideos"]
__getattr__ = lazy_exports(__name__, {
    "AnalyzeVideos": "transforms.analyze.stage",
})
