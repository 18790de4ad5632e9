"""What every Beam entry point of the project does on the command line: ``--help`` lists the
job's own options (Beam's runner options pass through; Beam itself would only list ``-h``),
an option that neither the job nor Beam knows stops the job (Beam would only warn and drop
it), and a usage error ends the process with one line, not a traceback."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence

# What argparse itself takes for a negative number rather than an option (``--x -5``).
_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")


def _beam_options_classes() -> list[type]:
    """Every PipelineOptions subclass Beam defines (runner, cloud, worker, portable, ...),
    nested ones included, once each; a project's own subclasses are left out, so one job
    does not accept another job's options because both are imported (as in the tests)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    found: dict[str, type] = {}
    todo = list(PipelineOptions.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("apache_beam."):
            found.setdefault(str(cls), cls)
        todo.extend(cls.__subclasses__())
    return list(found.values())


def _import_runner(argv: list[str]) -> None:
    """Import the module of the runner ``--runner`` names (as Beam resolves the name), so
    that options classes defined beside a runner (RenderRunner's, DaskRunner's) are known;
    a runner that cannot be imported is left for Beam to report."""
    from apache_beam.options.pipeline_options import StandardOptions
    from apache_beam.runners import runner as runners

    name = StandardOptions(argv).runner
    if not isinstance(name, str):
        return
    known = runners._RUNNER_MAP
    path = known.get(name.lower(), known.get(name.lower() + "runner", name))
    if "." in path:
        with contextlib.suppress(ImportError):
            importlib.import_module(path.rsplit(".", 1)[0])


def _options_parser(options_cls) -> argparse.ArgumentParser:
    """The parser Beam builds over its options classes, plus the options ``options_cls``
    and its bases add (Beam's parser class: it knows ``add_value_provider_argument``)."""
    from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

    parser = _BeamArgumentParser(allow_abbrev=False, add_help=False, exit_on_error=False,
                                 conflict_handler="resolve")
    job = [c for c in options_cls.mro() if issubclass(c, PipelineOptions)
           and c is not PipelineOptions]
    for cls in [*_beam_options_classes(), *reversed(job)]:
        if "_add_argparse_args" in cls.__dict__:
            cls._add_argparse_args(parser)
    return parser


def unknown_options(argv: Sequence[str] | None, options_cls) -> list[str]:
    """The option names in ``argv`` (default ``sys.argv[1:]``) that neither ``options_cls``
    (the job's PipelineOptions subclass) nor any of Beam's options classes defines, in the
    order given, each once: ``--num_shard`` for ``--num_shard 4`` or ``--num_shard=4``.
    Values and everything after ``--`` are not options. A known option given a value its
    parser refuses (``--num_shards x``) raises ``argparse.ArgumentError``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" in argv:
        argv = argv[:argv.index("--")]
    _import_runner(argv)
    _, rest = _options_parser(options_cls).parse_known_args(argv)
    names = [arg.split("=", 1)[0] for arg in rest
             if arg.startswith("-") and arg != "-" and not _NEGATIVE_NUMBER.match(arg)]
    return list(dict.fromkeys(names))


def check_known_options(argv: Sequence[str] | None, options_cls,
                        error: type[Exception] = ValueError) -> None:
    """Raise ``error`` for an option of ``argv`` that nobody knows, naming it and the
    closest known one (``unknown option --num_shard (did you mean --num_shards?)``), or
    for a value the option's parser refuses (``argument --num_shards: invalid int value``).
    """
    try:
        unknown = unknown_options(argv, options_cls)
    except argparse.ArgumentError as exc:
        raise error(str(exc)) from exc
    if not unknown:
        return
    known = [flag for action in _options_parser(options_cls)._actions
             for flag in action.option_strings]
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        parts.append(f"{name} (did you mean {close[0]}?)" if close else name)
    raise error(f"unknown option{'s' if len(parts) > 1 else ''} {', '.join(parts)}; "
                "--help lists the job's options")


def add_shared_flag(parser: argparse.ArgumentParser, flag: str, help: str) -> None:
    """Add the on/off option ``flag`` (``store_true``) that several jobs define with one
    meaning, e.g. ``--keep_v_prefix``: Beam parses the options of every job imported into a
    process with one parser, where a second plain definition would conflict. The first
    definition stands; one of the same name that is not such a flag raises ValueError."""
    existing = parser._option_string_actions.get(flag)
    if existing is None:
        parser.add_argument(flag, action="store_true", help=help)
    elif not (isinstance(existing, argparse._StoreTrueAction)
              and existing.dest == flag.lstrip("-").replace("-", "_")):
        raise ValueError(f"{flag} is defined twice with different meanings")


def print_options_help(prog: str, doc: str, options_cls) -> None:
    """Print the options ``options_cls`` (a PipelineOptions subclass) adds, under the first
    paragraph of ``doc``."""
    parser = argparse.ArgumentParser(
        prog=prog, description=doc.split("\n\n")[0],
        epilog="Any Beam pipeline option (--runner, --project, --temp_location, "
               "--direct_num_workers, ...) passes through to the runner; an option that "
               "neither this job nor Beam defines stops the job.")
    options_cls._add_argparse_args(parser)
    parser.print_help()


def main(run: Callable[[], object], prog: str, doc: str, options_cls,
         errors: tuple[type[BaseException], ...] = (ValueError,), status: int = 1) -> None:
    """Run ``run()`` as a command: ``-h``/``--help`` prints the job's options; an exception
    of a type in ``errors`` prints ``error: <message>`` to stderr and exits with
    ``status``."""
    logging.getLogger().setLevel(logging.WARNING)
    if {"-h", "--help"} & set(sys.argv[1:]):
        print_options_help(prog, doc, options_cls)
        return
    try:
        run()
    except errors as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(status)
    except KeyboardInterrupt:
        # The job has cleaned up (run() did). Leave without the interpreter's teardown: a
        # decoder thread may still be inside FFmpeg, and finalising modules under it can crash.
        sys.stderr.flush()
        os._exit(130)
