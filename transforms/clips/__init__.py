"""Stage 4, clip sampling: 2-second clips inside the kept shots, encoded as records.

- ``sampler.py``: ``ClipCutter``, a frame consumer that cuts clips inside every shot while a
  video streams past, and ``clips_outcome``, a video kept with its clips or dropped
  ``too_short``. No Beam.
- ``config.py``: ``ClipConfig`` and its command-line options.
- ``stage.py``: ``SampleClips`` (ClipJob -> serialized records + Outcome).
"""

from transforms import lazy_exports

__all__ = ["KeepClips"]
__getattr__ = lazy_exports(__name__, {
    "KeepClips": "transforms.clips.stage",
})
