"""docs/options.md, made from the parsers of every command of the project: one table per
command (option, default, meaning: its help text), so the page cannot drift from the code.

    python -m pipelines.options_doc           # print the page
    python -m pipelines.options_doc --write   # rewrite docs/options.md

tests/test_options_doc.py fails when docs/options.md is not what this prints.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import sys
from collections.abc import Callable
from types import ModuleType
from typing import NamedTuple

from annotate import cli as annotate_cli
from hacs_eval import cli as hacs_eval_cli
from pipelines import (
    apply_labels,
    build_dataset,
    build_reference_index,
    download_videos,
    make_manifest,
    person_recall,
    report_html,
)
from pipelines.cli import OptionsParser, job_parser
from pipelines.provenance import ROOT

PATH = os.path.join(ROOT, "docs", "options.md")
WRITE = "python -m pipelines.options_doc --write"
BEAM_OPTIONS = ("Any Beam pipeline option (`--runner`, `--project`, `--region`, "
                "`--temp_location`, `--direct_num_workers`, ...) passes through to the runner; "
                "an option that neither this job nor Beam defines stops the job.")


class Command(NamedTuple):
    """A command of the project: ``module`` runs as ``python -m`` (a package's ``cli``
    as the package); ``parser()`` returns an OptionsParser holding its arguments;
    ``beam``: a Beam job, whose runner options pass through."""

    module: ModuleType
    parser: Callable[[], OptionsParser]
    beam: bool = False

    @property
    def name(self) -> str:
        return self.module.__name__.removesuffix(".cli")


def _job(module: ModuleType, options_cls: type) -> Command:
    return Command(module, functools.partial(job_parser, options_cls), beam=True)


def _tool(module: ModuleType) -> Command:
    """A command whose ``build_parser(parser_class)`` makes its parser."""
    return Command(module, functools.partial(module.build_parser, OptionsParser))


COMMANDS = (
    _job(build_dataset, build_dataset.BuildDatasetOptions),
    _job(download_videos, download_videos.DownloadVideosOptions),
    _job(build_reference_index, build_reference_index.ReferenceIndexOptions),
    _job(apply_labels, apply_labels.ApplyLabelsOptions),
    _tool(make_manifest),
    _tool(person_recall),
    _tool(report_html),
    _tool(annotate_cli),
    _tool(hacs_eval_cli),
)


def _text(text: str) -> str:
    """``text`` on one line, with the characters Markdown would take for markup (``<``,
    ``>``, ``*``) escaped outside code spans."""
    parts = re.split(r"(`+.+?`+)", re.sub(r"\s+", " ", text).strip())
    return "".join(part if part.startswith("`") else re.sub(r"([\\<>*])", r"\\\1", part)
                   for part in parts)


def _cell(text: str) -> str:
    """``text`` as a table cell: a ``|`` (even in code) would end the cell."""
    return _text(text).replace("|", "\\|")


def _default(action: argparse.Action) -> str:
    """The default column: ``required``, ``on``/``off`` for a flag, ``—`` for none, else the
    value as code."""
    if action.required or (not action.option_strings and action.nargs is None):
        return "required"
    if action.nargs == 0 and isinstance(action.default, bool):
        return "on" if action.default else "off"
    value = action.default
    if value is None or value == [] or value is argparse.SUPPRESS:
        return "—"
    if isinstance(value, list | tuple):
        value = ",".join(map(str, value))
    return f"`{value}`"


def _meaning(action: argparse.Action, prog: str) -> str:
    """The meaning column: the help text, and the choices when it does not name them."""
    meaning = (action.help or "") % {**vars(action), "prog": prog}  # as argparse expands it
    choices = [] if isinstance(action.choices, dict) else list(map(str, action.choices or []))
    if not all(choice in meaning for choice in choices):
        meaning += f" One of: {', '.join(choices)}."
    return _cell(meaning)


def _table(parser: OptionsParser) -> list[str]:
    """The lines of the table of ``parser``'s arguments (none when it has none)."""
    rows = ["| option | default | meaning |", "|---|---|---|"]
    for action in parser.arguments:
        if action.help is argparse.SUPPRESS or action.dest == "help":
            continue
        name = ", ".join(action.option_strings) or action.dest
        rows.append(f"| `{name}` | {_default(action)} | {_meaning(action, parser.prog)} |")
    return rows if len(rows) > 2 else []


def _about(doc: str | None) -> str:
    """The first paragraph of ``doc`` on one line."""
    return _text((doc or "").split("\n\n")[0])


def _section(command: Command) -> list[str]:
    """The lines of ``command``'s section: its table, then one per sub-command."""
    parser = command.parser()
    name = f"python -m {command.name}"
    lines = [f"## {name}", "", _about(command.module.__doc__), ""]
    if command.beam:
        lines += [BEAM_OPTIONS, ""]
    if table := _table(parser):
        lines += [*table, ""]
    for sub, sub_parser in parser.commands.items():
        lines += [f"### {name} {sub}", "", _about(sub_parser.description), ""]
        lines += [*_table(sub_parser), ""]
    return lines


def render() -> str:
    """The text of docs/options.md."""
    lines = ["# Options", "",
             "Every option of every command, from the commands' own parsers (the tables "
             "show each option's help text). Generated: do not edit by hand, run "
             f"`{WRITE}`.", "",
             "Contents: " + ", ".join(
                 f"[{c.name}](#{_anchor(c)})" for c in COMMANDS), ""]
    for command in COMMANDS:
        lines += _section(command)
    return "\n".join(lines).rstrip("\n") + "\n"


def _anchor(command: Command) -> str:
    """GitHub's anchor for the command's heading."""
    return "python--m-" + command.name.replace(".", "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipelines.options_doc",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {PATH}")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        with open(PATH, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
