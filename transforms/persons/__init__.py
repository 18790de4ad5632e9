"""Stage 3b, person scoring (HACS step 2): frames of each shot through a COCO detector; a shot
is kept when its best person score reaches the threshold; a video without a kept shot drops.

- ``sampling.py``: ``ShotFrameSampler`` (a consumer of the decode pass) and the keep/drop
  decisions. No Beam.
- ``config.py``: ``PersonConfig`` and its command-line options (the detector's are in
  ``models/detectors.py``).
- ``stage.py``: ``ScorePersons`` (ShotFrame -> per-shot score, RunInference) and
  ``SelectPersonShots`` (shots + scores -> kept TimeRanges / no_person Outcome).
"""

_STAGE_EXPORTS = {
    "ScorePersons": "transforms.persons.stage",
    "SelectPersonShots": "transforms.persons.stage",
}
__all__ = ["ScorePersons", "SelectPersonShots"]


def __getattr__(name: str):
    # The Beam wiring is imported on first use, so that importing the algorithm modules of
    # this package (e.g. from a notebook or a tool) does not load Apache Beam.
    if name in _STAGE_EXPORTS:
        from importlib import import_module

        return getattr(import_module(_STAGE_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
