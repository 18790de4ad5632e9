"""What a run's report records so the run can be repeated: every option of the job with its
parsed value, the package version and the git commit of the code that ran."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import subprocess

from pipelines.cli import job_parser

PACKAGE = "hacs-pipeline"  # setup.py's name
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the folder of setup.py


def option_names(options_cls) -> list[str]:
    """The destinations (``num_shards`` for ``--num_shards``) of every option
    ``options_cls`` (a PipelineOptions subclass) adds, in the order it adds them."""
    return list(dict.fromkeys(a.dest for a in job_parser(options_cls).arguments
                              if a.dest is not argparse.SUPPRESS))


def _plain(value):
    """A JSON value for an option value (lists, numbers, strings, None stay as they are)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def job_options(options, options_cls) -> dict:
    """``{dest: value}`` for every option ``options_cls`` adds, as parsed into ``options``
    (any PipelineOptions view of the job's options), defaults included."""
    view = options.view_as(options_cls)
    return {name: _plain(getattr(view, name)) for name in option_names(options_cls)}


def package_version() -> str | None:
    """The installed package's version, else the ``version=`` in the checkout's setup.py,
    else None."""
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        with open(os.path.join(ROOT, "setup.py"), encoding="utf-8") as f:
            found = re.search(r"""\bversion\s*=\s*["']([^"']+)["']""", f.read())
    except OSError:
        return None
    return found.group(1) if found else None


def git_commit() -> str | None:
    """``git rev-parse HEAD`` of the checkout this code runs from; None when it does not run
    from a checkout of its own (an installed package, a worker) or git is missing."""
    try:
        top, head = subprocess.run(["git", "rev-parse", "--show-toplevel", "HEAD"], cwd=ROOT,
                                   capture_output=True, text=True, timeout=10,
                                   check=True).stdout.split()
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    # site-packages inside a virtualenv inside some checkout is not that checkout's code
    return head if os.path.samefile(top, ROOT) else None


def provenance(options, options_cls) -> dict:
    """``{"options": job_options(...), "version": ..., "git_commit": ...}`` for a report."""
    return {"options": job_options(options, options_cls), "version": package_version(),
            "git_commit": git_commit()}
