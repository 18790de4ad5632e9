"""Evaluation toolkit: clip classification accuracy, untrimmed video classification (hit@k,
mAP over videos), temporal proposal AR@AN / AUC and temporal detection mAP, numerically
faithful to the ActivityNet protocol.

Python API: :mod:`hacs_eval.formats` (loading and validation), :mod:`hacs_eval.classification`,
:mod:`hacs_eval.video_classification`, :mod:`hacs_eval.proposals`, :mod:`hacs_eval.detection`;
command line: ``python -m hacs_eval``.
"""
