"""The report records what is needed to repeat a run: every option, version, git commit."""

import json
import os
import subprocess
import sys

from pipelines import provenance
from pipelines.build_dataset import BuildDatasetOptions
from pipelines.cli import OptionsParser
from tests.conftest import VIDEOS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_report_records_every_option_of_the_job(built_dataset, dataset_inputs):
    out, report = built_dataset
    parser = OptionsParser()  # the job's parser, as --help shows it
    BuildDatasetOptions._add_argparse_args(parser)
    names = [a.dest for a in parser.arguments if a.dest != "help"]
    assert len(names) == 54 and {"input", "num_shards", "reference", "previous",
                                 "person_threshold", "detector_max_batch_size",
                                 "max_decode_seconds", "shot_detector",
                                 "detector_second_look", "clip_codec", "clip_fps",
                                 "clip_crf", "shard_format"} <= set(names)
    with open(os.path.join(out, "dataset.json")) as f:
        manifest = json.load(f)
    for settings in (report["settings"], manifest["clip_settings"]):
        options = settings["options"]
        assert sorted(options) == sorted(names)
        # as given on the command line, and the defaults of the rest
        assert (options["input"], options["output"], options["num_shards"]) == (
            dataset_inputs, out, 3)
        assert (options["reference"], options["skip_dedup"], options["jpeg_quality"]) == (
            [], False, 90)
        assert settings["clips"]["jpeg_quality"] == 90  # the stage configs stay beside
        assert settings["limits"]["max_pixels"] == 3840 * 2160
        assert (settings["shots"]["name"], settings["shots"]["transnet"]) == ("histogram", None)
        assert settings["shots"]["histogram"]["threshold"] == 0.3
    setup = subprocess.run([sys.executable, "setup.py", "--version"], cwd=ROOT,
                           capture_output=True, text=True, check=True)
    assert report["settings"]["version"] == setup.stdout.split()[-1]
    assert report["settings"]["git_commit"] == provenance.git_commit()


def test_git_commit_is_the_checkouts_head():
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True)
    expected = head.stdout.strip() if head.returncode == 0 else None
    assert provenance.git_commit() == expected
    if expected:
        assert len(expected) == 40


def test_no_commit_outside_a_checkout(tmp_path, monkeypatch):
    """Code copied out of a checkout (an installed package, a worker) records None, even
    when the copy sits inside some other git repository."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    inner = tmp_path / "site-packages"
    inner.mkdir()
    monkeypatch.setattr(provenance, "ROOT", str(inner))
    assert provenance.git_commit() is None
    monkeypatch.setattr(provenance, "ROOT", str(tmp_path))
    assert provenance.git_commit() is not None
    monkeypatch.setattr(provenance, "ROOT", VIDEOS)  # not the top of the checkout either
    assert provenance.git_commit() is None


def test_options_are_json_values():
    from apache_beam.options.pipeline_options import PipelineOptions

    opts = PipelineOptions(["--reference", "a=/x", "--reference=b=/y", "--clip_seconds=1.5",
                            "--skip_person_filter", "--runner", "FnApiRunner"])
    options = provenance.job_options(opts, BuildDatasetOptions)
    assert json.loads(json.dumps(options)) == options
    assert (options["reference"], options["clip_seconds"], options["skip_person_filter"]) == (
        ["a=/x", "b=/y"], 1.5, True)
    assert "runner" not in options  # Beam's options are the runner's business
