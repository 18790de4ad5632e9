"""Options are checked before a job starts: an option nobody knows and a value that cannot
work both stop the job with a message naming the option, and nothing is written."""

import argparse
import importlib
import logging
import os
import subprocess
import sys

import pytest
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions
from apache_beam.runners.runner import create_runner

from pipelines import build_reference_index, cli
from pipelines.build_dataset import BuildDatasetOptions, UsageError, run
from pipelines.build_reference_index import ReferenceIndexOptions
from tests.conftest import VIDEOS

ROOT = os.path.dirname(os.path.dirname(__file__))

# Beam's own runner, cloud, worker and portability options: never "unknown".
BEAM_OPTIONS = ["--runner", "PortableRunner", "--direct_num_workers", "2",
                "--direct_running_mode=multi_processing", "--project", "p",
                "--region", "europe-west4", "--temp_location", "gs://b/tmp",
                "--setup_file", "./setup.py", "--job_endpoint", "embed",
                "--environment_type", "EXTERNAL", "--environment_config", "localhost:5000",
                "--flink_master", "host:8081", "--sdk_location", "container",
                "--experiments", "use_runner_v2", "--save_main_session"]


@pytest.mark.parametrize(("argv", "unknown"), [
    (["--num_shard", "4"], ["--num_shard"]),
    (["--num_shard=4"], ["--num_shard"]),
    (["--retry", "--num_shards", "4"], ["--retry"]),
    (["--input", "x", "--nmu_shards=2", "--input_glob", "y", "--retry"],
     ["--nmu_shards", "--input_glob", "--retry"]),
    (["--bogus", "-5", "--short_side", "-5"], ["--bogus"]),  # -5 is a value, not an option
    (["--retry", "--retry"], ["--retry"]),
    (["--num_shards", "2", "--", "--not_an_option"], []),
    (["--reference", "a=x", "--reference=b=y", "--skip_dedup"], []),
    (BEAM_OPTIONS, []),
    # options defined beside a runner, in a module Beam imports only for that runner
    (["--runner", "apache_beam.runners.render.RenderRunner", "--render_output", "g.svg"], []),
], ids=["space", "equals", "store-true", "several", "negative-value", "once-each",
        "after-double-dash", "repeated-known", "beam-runner-options", "runner-module-options"])
def test_unknown_options(argv, unknown):
    assert cli.unknown_options(argv, BuildDatasetOptions) == unknown


def test_another_jobs_options_are_unknown():
    """Both jobs' PipelineOptions are loaded here; each still refuses the other's options."""
    assert cli.unknown_options(["--index_input", "m.csv", "--output", "o"],
                               BuildDatasetOptions) == ["--index_input"]
    assert cli.unknown_options(["--index_input", "m.csv", "--output", "o"],
                               ReferenceIndexOptions) == ["--output"]


def test_beam_handles_options_as_cli_assumes(caplog):
    """What cli.py leans on in Beam's option handling; a Beam upgrade that changes it
    fails here: Beam's runner options are Beam's and known to the check, a job option
    reaches ``view_as`` through its class's ``_add_argparse_args``, and an option nobody
    defines is only warned about and dropped by Beam (the job has to refuse it)."""
    argv = ["--runner", "FnApiRunner", "--direct_num_workers", "2", "--num_shards", "4",
            "--num_shard", "5"]
    with caplog.at_level(logging.WARNING):
        options = PipelineOptions(argv)
        assert options.view_as(StandardOptions).runner == "FnApiRunner"
        assert options.view_as(DirectOptions).direct_num_workers == 2
        assert options.view_as(BuildDatasetOptions).num_shards == 4
        assert "num_shard" not in options.get_all_options()
    assert any("Discarding unparseable args" in r.getMessage() and "--num_shard" in
               r.getMessage() for r in caplog.records)
    assert cli.unknown_options(argv, BuildDatasetOptions) == ["--num_shard"]


def test_options_parser_offers_what_beams_parser_offers():
    """An options class may call any method of the parser Beam hands it, and cli's
    OptionsParser stands in for that parser in the checks: it offers Beam's one addition,
    and a value-provider option takes the same value in both."""
    handed = []

    def probe(parser):
        handed.append(parser)
        parser.add_value_provider_argument("--vp_probe", type=int, default=3)

    beam = PipelineOptions(["--vp_probe", "5"]).get_all_options(add_extra_args_fn=probe)
    added = ({n for n in dir(type(handed[0])) if not n.startswith("_")}
             - set(dir(argparse.ArgumentParser)))
    assert added == {"add_value_provider_argument"}
    assert added <= set(dir(cli.OptionsParser))
    ours = cli.OptionsParser()
    ours.add_value_provider_argument("--vp_probe", type=int, default=3)
    assert beam["vp_probe"].get() == ours.parse_args(["--vp_probe", "5"]).vp_probe == 5


@pytest.mark.parametrize("name", [name for name in StandardOptions.KNOWN_RUNNER_NAMES
                                  # its module needs an older pandas than the project's
                                  if name != "InteractiveRunner"])
def test_runner_names_resolve_as_beam_resolves_them(name):
    """cli imports the module of the runner --runner names (for the options defined
    there) by Beam's rules: any case, with or without the Runner ending."""
    for spelling in (name, name.lower(), name.lower().removesuffix("runner")):
        module, cls = cli.runner_path(spelling).rsplit(".", 1)
        assert isinstance(create_runner(spelling), getattr(importlib.import_module(module), cls))


def test_options_parser_lists_what_was_added():
    parser = cli.OptionsParser(add_help=False, conflict_handler="resolve")
    parser.add_argument("--x")
    taken = parser.add_argument("--x", type=int)  # takes --x over: the first is gone
    parser.add_value_provider_argument("where")  # Beam's rule: may be left out
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("go").add_argument("--fast", action="store_true")
    assert parser.arguments[0] is taken and [a.dest for a in parser.arguments] == ["x", "where"]
    assert parser.flags() == ["--x"] and parser.parse_args([]).where is None
    assert [a.dest for a in parser.commands["go"].arguments] == ["help", "fast"]


@pytest.mark.parametrize("conflicts", ["error", "resolve"])
def test_a_shared_flag_is_defined_once(conflicts):
    """The first definition stands, on a parser that refuses a conflict and on one that
    resolves it; a plain definition of the same name is another meaning."""
    parser = cli.OptionsParser(conflict_handler=conflicts)
    cli.add_shared_flag(parser, "--keep_v_prefix", help="first")
    cli.add_shared_flag(parser, "--keep_v_prefix", help="second")
    assert [a.help for a in parser.arguments if a.dest == "keep_v_prefix"] == ["first"]
    assert parser.parse_args(["--keep_v_prefix"]).keep_v_prefix is True
    other = cli.OptionsParser(conflict_handler=conflicts)
    other.add_argument("--keep_v_prefix", type=int)
    with pytest.raises(ValueError, match="defined twice with different meanings"):
        cli.add_shared_flag(other, "--keep_v_prefix", help="")
    assert other.parse_args(["--keep_v_prefix", "3"]).keep_v_prefix == 3


def _refused(tmp_path, *flags):
    """Run the dataset job on the sample videos with ``flags``; return the UsageError
    message after checking nothing was written."""
    out = tmp_path / "out"
    with pytest.raises(UsageError) as info:
        run(["--input", VIDEOS, "--output", str(out), "--runner", "FnApiRunner", *flags],
            save_main_session=False)
    assert not (out / "inputs.jsonl").exists() and not out.exists()
    return str(info.value)


@pytest.mark.parametrize(("flags", "message"), [
    (["--num_shards", "0"], "--num_shards must be >= 1, not 0"),
    (["--short_side", "-5"], "--short_side must be >= 1 pixel, not -5"),
    (["--jpeg_quality", "500"], "--jpeg_quality must be in 1..100, not 500"),
    (["--clip_seconds", "0"], "--clip_seconds must be > 0, not 0.0"),
    (["--dedup_bands", "5"], "--dedup_bands must divide the 32 bytes of a phash256 hash, "
                             "not 5"),
    (["--dedup_distance", "300"], "--dedup_distance must be 0..256 bits, not 300"),
    (["--person_threshold", "2"], "--person_threshold must be in 0..1, not 2.0"),
    (["--shot_bins", "1,2"], "--shot_bins needs three counts H,S,V >= 1, not 1,2"),
    (["--person_frame_positions", "0.5,x"], "--person_frame_positions must be "
                                            "comma-separated fractions, not '0.5,x'"),
    (["--detector_max_batch_size", "0"], "--detector_max_batch_size must satisfy 1 <= min "
                                         "<= max, not 1 and 0"),
    (["--num_shards", "x"], "argument --num_shards: invalid int value: 'x'"),
    (["--num_shard", "4"], "unknown option --num_shard (did you mean --num_shards?)"),
    (["--retry"], "unknown option --retry;"),
], ids=lambda v: v[0] if isinstance(v, list) else None)
def test_bad_values_stop_before_the_job(tmp_path, flags, message):
    assert message in _refused(tmp_path, *flags)


def test_missing_reference_index_stops_before_the_job(tmp_path):
    missing = str(tmp_path / "no_index")
    message = _refused(tmp_path, "--reference", f"ucf101={missing}")
    assert message.startswith(f"--reference ucf101={missing}: no fingerprint index files")


def test_reference_index_job_refuses_unknown_options(tmp_path):
    with pytest.raises(ValueError, match=r"unknown option --index_shard \(did you mean "
                                         r"--index_shards\?\)"):
        build_reference_index.run(["--index_input", VIDEOS, "--index_output",
                                   str(tmp_path / "idx"), "--index_shard", "2"],
                                  save_main_session=False)
    assert not (tmp_path / "idx").exists()


def test_cli_exits_with_one_error_line(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "pipelines.build_dataset", "--input", VIDEOS,
                           "--output", str(out), "--num_shard", "4"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 1
    assert ("error: unknown option --num_shard (did you mean --num_shards?); --help lists "
            "the job's options") in proc.stderr.splitlines()
    assert "Traceback" not in proc.stderr
    assert not out.exists()
