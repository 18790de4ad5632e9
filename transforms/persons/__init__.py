"""Stage 3b, person scoring (HACS step 2): frames of each shot through a COCO detector; a shot
is kept when its best person score reaches the threshold; a video without a kept shot drops.

- ``sampling.py``: ``ShotFrameSampler`` (a consumer of the decode pass) and the keep/drop
  decisions. No Beam.
- ``config.py``: ``PersonConfig`` and its command-line options (the detector's are in
  ``models/detectors.py``).
- ``stage.py``: ``ScorePersons`` (ShotFrame -> per-shot score, RunInference) and
  ``SelectPersonShots`` (shots + scores -> kept TimeRanges / no_person Outcome).
"""

from transforms import lazy_exports

__all__ = ["ScorePersons", "SelectPersonShots"]
__getattr__ = lazy_exports(__name__, {
    "ScorePersons": "transforms.persons.stage",
    "SelectPersonShots": "transforms.persons.stage",
})
