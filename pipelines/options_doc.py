"""docs/options.md, made from the parsers of every command of the project: one table per
command (option, default, meaning: its help text), so the page cannot drift from the code.

    python -m pipelines.options_doc           # print the page
    python -m pipelines.options_doc --write   # rewrite docs/options.md

tests/test_options_doc.py fails when docs/options.md is not what this prints.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Callable
from typing import NamedTuple

from pipelines.cli import OptionsParser
from pipelines.provenance import ROOT

PATH = os.path.join(ROOT, "docs", "options.md")
WRITE = "python -m pipelines.options_doc --write"
BEAM_OPTIONS = ("Any Beam pipeline option (`--runner`, `--project`, `--region`, "
                "`--temp_location`, `--direct_num_workers`, ...) passes through to the runner; "
                "an option that neither this job nor Beam defines stops the job.")


class Command(NamedTuple):
    """A command of the project: ``module`` runs as ``python -m module``; ``parser`` fills
    an OptionsParser with its arguments; ``beam``: a Beam job (runner options pass)."""

    module: str
    parser: Callable[[], OptionsParser]
    beam: bool = False


def _beam_job(module: str, options_class: str) -> Command:
    def parser() -> OptionsParser:
        parser = OptionsParser(add_help=False)
        getattr(importlib.import_module(module), options_class)._add_argparse_args(parser)
        return parser
    return Command(module, parser, beam=True)


def _tool(module: str) -> Command:
    return Command(module, lambda: importlib.import_module(module).build_parser(OptionsParser))


COMMANDS = (
    _beam_job("pipelines.build_dataset", "BuildDatasetOptions"),
    _beam_job("pipelines.build_reference_index", "ReferenceIndexOptions"),
    _beam_job("pipelines.apply_labels", "ApplyLabelsOptions"),
    _tool("pipelines.make_manifest"),
    _tool("pipelines.person_recall"),
    _tool("pipelines.report_html"),
    _tool("annotate.cli"),
    _tool("hacs_eval.cli"),
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
    meaning = (action.help or "") % {**vars(action), "prog": prog}  # as argparse expands it
    choices = [] if isinstance(action.choices, dict) else list(map(str, action.choices or []))
    if not all(choice in meaning for choice in choices):
        meaning += f" One of: {', '.join(choices)}."
    return _cell(meaning)


def _table(parser: OptionsParser) -> list[str]:
    rows = ["| option | default | meaning |", "|---|---|---|"]
    for action in parser.arguments:
        if action.help is argparse.SUPPRESS or action.dest == "help":
            continue
        name = ", ".join(action.option_strings) or action.dest
        rows.append(f"| `{name}` | {_default(action)} | {_meaning(action, parser.prog)} |")
    return rows if len(rows) > 2 else []


def _about(doc: str | None) -> str:
    return _text((doc or "").split("\n\n")[0])


def _section(command: Command) -> list[str]:
    module = importlib.import_module(command.module)
    parser = command.parser()
    name = "python -m " + command.module.removesuffix(".cli")
    lines = [f"## {name}", "", _about(module.__doc__), ""]
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
                 f"[{c.module.removesuffix('.cli')}](#{_anchor(c)})" for c in COMMANDS), ""]
    for command in COMMANDS:
        lines += _section(command)
    return "\n".join(lines).rstrip("\n") + "\n"


def _anchor(command: Command) -> str:
    """GitHub's anchor for the command's heading."""
    return "python--m-" + command.module.removesuffix(".cli").replace(".", "")


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
