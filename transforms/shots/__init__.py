"""Stage 3a, shot segmentation by colour-histogram distance between consecutive frames.

- ``histogram.py``: ``ShotDetector``, a consumer of the decode pass, and ``ShotParams``. No Beam.
- ``config.py``: the command-line options that fill ``ShotParams``.

Shots have no Beam stage of their own: the detector rides ``transforms.analyze``'s pass and its
shots travel in ``VideoAnalysis``.
"""
