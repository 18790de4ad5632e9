"""Evaluation toolkit: clip classification accuracy, temporal proposal AR@AN / AUC and temporal
detection mAP, numerically faithful to the ActivityNet protocol.

Python API: :mod:`evaluate.formats` (loading and validation), :mod:`evaluate.classification`,
:mod:`evaluate.proposals`, :mod:`evaluate.detection`; command line: ``python -m evaluate``.
"""
