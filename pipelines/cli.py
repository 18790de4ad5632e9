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
import weakref
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


def runner_path(name: str) -> str:
    """The dotted path of the runner class ``--runner name`` stands for, resolved as Beam
    resolves it: a known runner's class name in any case, with or without the ``Runner``
    ending (``dataflow``, ``FlinkRunner``), else ``name`` itself (a dotted path)."""
    from apache_beam.options.pipeline_options import StandardOptions

    known = {path.rsplit(".", 1)[-1].lower(): path for path in StandardOptions.ALL_KNOWN_RUNNERS}
    return known.get(name.lower(), known.get(name.lower() + "runner", name))


def _import_runner(argv: list[str]) -> None:
    """Import the module of the runner ``--runner`` names, so that options classes defined
    beside a runner (RenderRunner's, DaskRunner's) are known; a runner that cannot be
    imported is left for Beam to report."""
    from apache_beam.options.pipeline_options import StandardOptions

    name = StandardOptions(argv).runner
    if not isinstance(name, str):
        return
    path = runner_path(name)
    if "." in path:
        with contextlib.suppress(ImportError):
            importlib.import_module(path.rsplit(".", 1)[0])


class OptionsParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that keeps what is added to it, since argparse lists a parser's
    actions nowhere public: :attr:`arguments`, the actions its ``add_argument`` returned,
    and :attr:`commands`, the sub-command parsers by name once ``add_subparsers`` is called
    (OptionsParsers too). It also offers ``add_value_provider_argument``, which Beam's
    parser adds and an options class may call on the parser Beam hands it."""

    def __init__(self, *args, **kwargs) -> None:
        self._added: list[tuple[argparse.Action, bool]] = []  # (action, has flags)
        self.commands: dict[str, argparse.ArgumentParser] = {}
        super().__init__(*args, **kwargs)

    @property
    def arguments(self) -> list[argparse.Action]:
        """The actions added, in order; an option whose every flag a later one took over
        (``conflict_handler="resolve"``) is no longer one."""
        return [action for action, flagged in self._added
                if action.option_strings or not flagged]

    def flags(self) -> list[str]:
        """Every option string of :attr:`arguments` (``--num_shards``), in order."""
        return [flag for action in self.arguments for flag in action.option_strings]

    def add_argument(self, *args, **kwargs) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self._added.append((action, bool(action.option_strings)))
        return action

    def add_subparsers(self, **kwargs):
        action = super().add_subparsers(**kwargs)
        self.commands = action.choices  # the name -> parser map add_parser fills
        return action

    def add_value_provider_argument(self, *args, **kwargs) -> argparse.Action:
        """Add the argument as Beam's parser does (a positional one may be left out) but
        without wrapping its value and default in value providers: this parser checks
        and lists options, it never makes the job's options."""
        if not args[0].startswith("-") and kwargs.get("nargs") is None:
            kwargs["nargs"] = "?"
        return self.add_argument(*args, **kwargs)


def job_parser(options_cls, **kwargs) -> OptionsParser:
    """An OptionsParser (made with ``kwargs``; no ``-h`` unless told) holding the options
    ``options_cls``, a PipelineOptions subclass, adds: the job's own, not Beam's."""
    parser = OptionsParser(**{"add_help": False, **kwargs})
    options_cls._add_argparse_args(parser)
    return parser


def _options_parser(options_cls) -> OptionsParser:
    """A parser over Beam's options classes, plus the options ``options_cls`` and its bases
    add."""
    from apache_beam.options.pipeline_options import PipelineOptions

    parser = OptionsParser(allow_abbrev=False, add_help=False, exit_on_error=False,
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
    known = _options_parser(options_cls).flags()
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        parts.append(f"{name} (did you mean {close[0]}?)" if close else name)
    raise error(f"unknown option{'s' if len(parts) > 1 else ''} {', '.join(parts)}; "
                "--help lists the job's options")


def job_options(argv: Sequence[str] | None, options_cls, save_main_session: bool,
                error: type[Exception] = ValueError):
    """A Beam job's options from ``argv``, once :func:`check_known_options` passed:
    ``(options, view)``: the PipelineOptions to build the pipeline with (``save_main_session``
    set) and their view as ``options_cls``."""
    from apache_beam.options.pipeline_options import SetupOptions

    from pipelines.beam_startup import JobOptions, memoise_method_signatures

    check_known_options(argv, options_cls, error)
    memoise_method_signatures()
    options = JobOptions(argv)
    options.view_as(SetupOptions).save_main_session = save_main_session
    return options, options.view_as(options_cls)


# The flags add_shared_flag gave each parser (argparse looks a flag up nowhere public).
_SHARED_FLAGS: weakref.WeakKeyDictionary[argparse.ArgumentParser, set[str]] = (
    weakref.WeakKeyDictionary())


def add_shared_flag(parser: argparse.ArgumentParser, flag: str, help: str) -> None:
    """Add the on/off option ``flag`` (``store_true``) that several jobs define with one
    meaning, e.g. ``--keep_v_prefix``: Beam parses the options of every job imported into a
    process with one parser, where a second plain definition would conflict. The first
    definition stands; a definition of the same name not made here raises ValueError."""
    shared = _SHARED_FLAGS.setdefault(parser, set())
    if flag in shared:
        return
    # a parser that resolves conflicts would let this one replace the other silently
    if isinstance(parser, OptionsParser) and flag in parser.flags():
        raise ValueError(f"{flag} is defined twice with different meanings")
    try:
        parser.add_argument(flag, action="store_true", help=help)
    except argparse.ArgumentError as exc:
        raise ValueError(f"{flag} is defined twice with different meanings") from exc
    shared.add(flag)


def print_options_help(prog: str, doc: str, options_cls) -> None:
    """Print the options ``options_cls`` (a PipelineOptions subclass) adds, under the first
    paragraph of ``doc``."""
    job_parser(options_cls, add_help=True, prog=prog, description=doc.split("\n\n")[0],
               epilog="Any Beam pipeline option (--runner, --project, --temp_location, "
                      "--direct_num_workers, ...) passes through to the runner; an option "
                      "that neither this job nor Beam defines stops the job.").print_help()


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
