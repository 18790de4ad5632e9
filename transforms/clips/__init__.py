"""Stage 4, clip sampling: 2-second clips inside the kept shots, encoded as records.

- ``sampler.py``: clip planning and ``ClipSampler``, a frame consumer that fills clips while a
  video streams past. No Beam.
- ``config.py``: ``ClipConfig`` and its command-line options.
- ``stage.py``: ``SampleClips`` (ClipJob -> serialized records + Outcome).
"""

_STAGE_EXPORTS = {
    "SampleClips": "transforms.clips.stage",
}
__all__ = ["SampleClips"]


def __getattr__(name: str):
    # The Beam wiring is imported on first use, so that importing the algorithm modules of
    # this package (e.g. from a notebook or a tool) does not load Apache Beam.
    if name in _STAGE_EXPORTS:
        from importlib import import_module

        return getattr(import_module(_STAGE_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
