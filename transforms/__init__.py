"""The stages of the HACS method, one package each, in the order a video meets them:

- ``inputs/``  the manifest or glob, checked before the job starts
- ``analyze/`` the one decode pass per video, feeding every consumer below at once
- ``dedup/``   fingerprints (a consumer of the pass) and near-duplicate removal
- ``shots/``   the shot detector (a consumer of the pass)
- ``persons/`` frames per shot (a consumer of the pass), person scores, kept shots
- ``clips/``   2-second clips inside kept shots
- ``output/``  record format, TFRecord shards, run report

Each package holds its algorithm (plain numpy, no Beam) beside its Beam wiring (``stage.py``)
and its options (``config.py``), and exports its composite PTransform. ``types.py`` is the one
vocabulary: every element between stages and every status, reason and tag. ``routing.py``
holds the joins that carry a video from one stage to the next. docs/architecture.md draws it.
"""
