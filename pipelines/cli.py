"""What every Beam entry point of the project does on the command line: ``--help`` lists the
job's own options (Beam's runner options pass through; Beam itself would only list ``-h``),
and a usage error ends the process with one line, not a traceback."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable


def print_options_help(prog: str, doc: str, options_cls) -> None:
    """Print the options ``options_cls`` (a PipelineOptions subclass) adds, under the first
    paragraph of ``doc``."""
    parser = argparse.ArgumentParser(
        prog=prog, description=doc.split("\n\n")[0],
        epilog="Any Beam pipeline option (--runner, --project, --temp_location, "
               "--direct_num_workers, ...) passes through to the runner.")
    options_cls._add_argparse_args(parser)
    parser.print_help()


def main(run: Callable[[], object], prog: str, doc: str, options_cls,
         errors: tuple[type[BaseException], ...] = (ValueError,)) -> None:
    """Run ``run()`` as a command: ``-h``/``--help`` prints the job's options; an exception
    of a type in ``errors`` exits with status 1 and ``error: <message>``."""
    logging.getLogger().setLevel(logging.WARNING)
    if {"-h", "--help"} & set(sys.argv[1:]):
        print_options_help(prog, doc, options_cls)
        return
    try:
        run()
    except errors as exc:
        sys.exit(f"error: {exc}")
