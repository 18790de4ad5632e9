"""A job's start-up in Apache Beam's SDK: two places where it redoes the same work.

Building the dataset job's graph (about 300 applied transforms, 150 DoFns) and handing it to
the DirectRunner cost more CPU than the rest of a one-video job's start-up, mostly here:

* ``PipelineOptions.view_as(cls)`` builds an argparse parser for ``cls`` and parses the
  command line again at every call, and the SDK calls it three or four times per applied
  transform (its type checks read ``TypeOptions``): about 1 150 parsers for the dataset job.
  :class:`JobOptions` keeps one view per options class: a view holds no value of its own
  (they all live in the options' shared dict), so the one view answers as a new one would.
* The SDK finds a DoFn's state and timer parameters (``userstate.get_dofn_specs``) from the
  ``inspect.signature`` of every method of the DoFn, and looks again at each step of
  construction, of translation and of every bundle: about 46 000 signatures for the dataset
  job, of a few hundred functions. :func:`memoise_method_signatures` lets it remember the
  signature of a method's function.

Both keep what Beam computes (the same views' values, the same signatures); the figures are
in benchmarks/RESULTS.md ("Start-up"). The second replaces a module global of the SDK, the
one private part: ``tests/test_startup.py`` fails when a Beam upgrade moves it.
"""

from __future__ import annotations

import inspect
import types
import weakref

from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.typehints.decorators import get_signature

# function -> (its __defaults__ when seen, the signature of a method made of it)
_SIGNATURES: weakref.WeakKeyDictionary[types.FunctionType, tuple] = (
    weakref.WeakKeyDictionary())


class JobOptions(PipelineOptions):
    """PipelineOptions whose :meth:`view_as` gives one view per options class (made as Beam
    makes it, the first time); the views are not copied or pickled with the options."""

    def view_as(self, cls):
        views = self.__dict__.setdefault("_views", {})
        view = views.get(cls)
        if (view is None or view._all_options is not self._all_options
                or view._flags is not self._flags):
            view = views[cls] = super().view_as(cls)
        return view

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_views", None)
        return state


def method_signature(func) -> inspect.Signature:
    """Beam's ``get_signature(func)``, remembered for a method of a plain function: the
    signature of a bound method is its function's less the first parameter, whatever the
    instance. A function whose defaults were replaced since is looked at again."""
    if not (isinstance(func, types.MethodType)
            and isinstance(func.__func__, types.FunctionType)):
        return get_signature(func)
    function = func.__func__
    known = _SIGNATURES.get(function)
    if known is None or known[0] is not function.__defaults__:
        known = _SIGNATURES[function] = (function.__defaults__, get_signature(func))
    return known[1]


def memoise_method_signatures() -> None:
    """Make Beam's DoFn inspection (``apache_beam.transforms.core``'s
    ``get_function_args_defaults``, under ``userstate.get_dofn_specs``) use
    :func:`method_signature`; for the whole process, once."""
    from apache_beam.transforms import core

    if getattr(core, "get_signature", None) is get_signature:
        core.get_signature = method_signature
