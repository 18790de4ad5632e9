"""Stage 3a, shot segmentation: colour-histogram distance and grey-pattern change between
consecutive frames must agree on a cut; gradual transitions by the linearity of their middle.

- ``histogram.py``: ``ShotDetector``, a consumer of the decode pass, and ``ShotParams``. No Beam.
- ``structure.py``: the grey-pattern cells and the linearity test it uses. No Beam.
- ``config.py``: the command-line options that fill ``ShotParams``.

Shots have no Beam stage of their own: the detector rides ``transforms.analyze``'s pass and its
shots travel in ``VideoAnalysis``.
"""
