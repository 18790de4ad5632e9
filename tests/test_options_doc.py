"""docs/options.md lists every option of every command as the commands' parsers define it."""

import difflib
from pathlib import Path

import pytest

from pipelines import options_doc

ROOT = Path(__file__).resolve().parent.parent


def test_options_doc_is_what_the_parsers_say():
    written = Path(options_doc.PATH).read_text(encoding="utf-8")
    made = options_doc.render()
    if written != made:
        diff = "".join(difflib.unified_diff(written.splitlines(True), made.splitlines(True),
                                            "docs/options.md", "the parsers", n=1))
        pytest.fail(f"docs/options.md is out of date: run `{options_doc.WRITE}` to rewrite "
                    f"it from the parsers\n{diff}")


def test_every_command_is_documented():
    """A module run with ``python -m`` (it has a ``__main__`` block or is a package's
    ``__main__.py``) has its section: a new command cannot be left out of the page."""
    commands = set()
    for path in ROOT.glob("*/*.py"):
        # examples/ are scripts that show the API (their --help is their page), not commands
        if path.parent.name in {"benchmarks", "tests", "scripts", "examples"} \
                or path.stem == "options_doc":
            continue
        if path.name == "__main__.py":
            commands.add(path.parent.name)
        elif 'if __name__ == "__main__"' in path.read_text(encoding="utf-8"):
            commands.add(f"{path.parent.name}.{path.stem}")
    documented = {c.name for c in options_doc.COMMANDS}
    assert len(commands) == 9 and commands == documented


def test_a_job_option_reaches_the_page():
    """Each option appears once per command it belongs to, with its default and help."""
    page = Path(options_doc.PATH).read_text(encoding="utf-8")
    assert ("| `--num_shards` | `8` | Number of TFRecord shards (fixed, so names are "
            "deterministic; aim for 100-200 MB per shard: each is written by one worker, which "
            "holds a few hundred bytes per record of it). |") in page
    assert page.count("| `--keep_v_prefix` |") == 3  # build_dataset, apply_labels, manifest
    assert "| `--tie-break` | `reference` |" in page
