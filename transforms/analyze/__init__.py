"""Stage 1, the one decode pass: each video is decoded once, front to back, and every consumer
that needs its frames rides the same pass (fingerprints for dedup, the shot detector, the shot
frames to score for people).

- ``decode.py``: the streaming decoder (decoded timestamps, flat memory, gs:// via a temporary
  copy) and ``decode_pass``, which feeds several frame consumers at once. No Beam.
- ``stage.py``: ``AnalyzeVideos`` (VideoRef -> VideoAnalysis + ShotFrame + failed Outcome),
  which puts the consumers of the other stages into one pass.
"""

_STAGE_EXPORTS = {
    "AnalyzeVideos": "transforms.analyze.stage",
    "AnalysisConfig": "transforms.analyze.stage",
}
__all__ = ["AnalysisConfig", "AnalyzeVideos"]


def __getattr__(name: str):
    # The Beam wiring is imported on first use, so that importing the algorithm modules of
    # this package (e.g. from a notebook or a tool) does not load Apache Beam.
    if name in _STAGE_EXPORTS:
        from importlib import import_module

        return getattr(import_module(_STAGE_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
