"""Beam's RunInference API (``apache_beam.ml.inference.base``), imported without torch.

apache_beam 2.77's ``base`` module imports its optional ``ModelManager``
(``apache_beam.ml.inference.model_manager``, which imports torch and scipy: about 3 CPU
seconds) at import time. The job never asks RunInference for the model manager
(``use_model_manager`` stays False; where it is used Beam imports it again), so ``base`` is
imported as on an install without torch (``transforms.imports.import_without``).
"""

from __future__ import annotations

from transforms.imports import import_without

_base = import_without("apache_beam.ml.inference.base", "apache_beam.ml.inference.model_manager")
KeyedModelHandler = _base.KeyedModelHandler
ModelHandler = _base.ModelHandler
PredictionResult = _base.PredictionResult
RunInference = _base.RunInference

__all__ = ["KeyedModelHandler", "ModelHandler", "PredictionResult", "RunInference"]
