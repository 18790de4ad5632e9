"""Stage 3a, shot segmentation: colour-histogram distance and grey-pattern change between
consecutive frames must agree on a cut; gradual transitions by the linearity of their middle.

- ``detector.py``: ``ShotDetector``, the interface every shot detector implements and the
  consumers that follow shot boundaries read.
- ``histogram.py``: ``HistogramShotDetector``, the default detector, and its
  ``HistogramConfig``. No Beam.
- ``transnet.py``: ``TransNetDetector`` (``--shot_detector transnetv2``). No Beam.
- ``structure.py``: the grey-pattern cells and the linearity test it uses. No Beam.
- ``config.py``: ``ShotDetectorConfig`` (which detector, with its settings) and the
  command-line options that fill it.
- ``part.py``: ``ShotsPart``, the stage's part of the decode pass. No Beam.

Shots have no Beam stage of their own: the detector rides ``transforms.analyze``'s pass and its
shots travel in ``VideoAnalysis``.
"""
