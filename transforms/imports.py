"""Importing a library without the heavy optional dependency its ``__init__`` pulls in.

Two libraries the job uses import torch when they are imported, inside a ``try``/``except
ImportError`` that treats it as optional: ``tfrecord`` (its PyTorch reader,
``tfrecord.torch``; we need its ``example_pb2`` only) and ``apache_beam.ml.inference.base``
(its optional model manager, which also imports scipy; see ``transforms.inference``). Torch
costs about 2 CPU seconds to import, more than the rest of a small job's start-up; the
default job (SSD person detector through OpenCV, histogram shots) never uses it.
:func:`import_without` imports such a library the way it is imported on an install without
the optional part, then lets that part be imported as usual by whoever needs it. Where the
optional part (or torch) is loaded already, nothing is held back.
``pipelines/__init__.py`` holds pandas back the same way from ``apache_beam`` (its
``typehints`` package registers pandas batch conversions when pandas imports: about 0.3 CPU
s).
``tests/test_startup.py`` fails when an upgrade of either library changes this.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


def import_without(name: str, optional: str) -> ModuleType:
    """Import module ``name`` with module ``optional`` reported missing (an ImportError, as
    if it were not installed) during that import only."""
    if name in sys.modules or optional in sys.modules or "torch" in sys.modules:
        return importlib.import_module(name)
    sys.modules[optional] = None  # type: ignore[assignment]  # importing it raises ImportError
    try:
        return importlib.import_module(name)
    finally:
        if sys.modules.get(optional, 0) is None:
            del sys.modules[optional]
