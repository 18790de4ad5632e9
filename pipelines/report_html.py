"""Rebuild a finished run's ``report.html`` from its files (no video, no work folder needed).

    python -m pipelines.report_html OUTPUT        # a job's --output, local or gs://

Reads the published ``dataset.json``, the run's ``report.json`` and the pictures the job
copied into ``report_files/`` (``gallery.json``), and writes ``report.html`` beside
``report.json``.
"""

from __future__ import annotations

import argparse
import json
import sys

from transforms.output import layout
from transforms.output.report_html import FILES, write_report_html


def rebuild(output: str) -> str:
    """Write the published run's ``report.html`` again; returns its path."""
    from apache_beam.io.filesystems import FileSystems

    doc = layout.published(output)
    if doc is None:
        raise ValueError(f"{output}: no published run (no dataset.json)")
    run_dir = FileSystems.join(output, doc["run"])
    with FileSystems.open(doc["report"]) as f:
        report = json.loads(f.read().decode("utf-8"))
    with FileSystems.open(FileSystems.join(run_dir, FILES, "gallery.json")) as f:
        gallery = json.loads(f.read().decode("utf-8"))
    return write_report_html(run_dir, report, gallery)


def build_parser(parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser
                 ) -> argparse.ArgumentParser:
    """The command line's parser, of class ``parser_class`` (docs/options.md is made with
    one that lists what is added to it)."""
    parser = parser_class(prog="python -m pipelines.report_html",
                          description=__doc__.split("\n\n")[0])
    parser.add_argument("output", help="the job's --output folder (local or gs://)")
    return parser


def main() -> None:
    args = build_parser().parse_args()
    try:
        print(rebuild(args.output))
    except (ValueError, OSError) as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
