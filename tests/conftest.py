"""Shared fixtures: the committed test videos, bad inputs, and one dataset job run per session."""

from __future__ import annotations

import os
import shutil

import pytest

VIDEOS = os.path.join(os.path.dirname(__file__), "data", "videos")


def video(name: str) -> str:
    """Path of a committed test video (see tests/data/videos/README.md)."""
    return os.path.join(VIDEOS, name)


def make_bad_inputs(folder: str) -> dict[str, str]:
    """Bad inputs a real crawl produces: truncated, zero-byte, text named .mp4, missing."""
    os.makedirs(folder, exist_ok=True)
    paths = {name: os.path.join(folder, name + ".mp4")
             for name in ("truncated", "empty", "text", "missing")}
    with open(video("vtest_b.mp4"), "rb") as f:
        data = f.read()
    with open(paths["truncated"], "wb") as f:
        f.write(data[: len(data) // 2])
    open(paths["empty"], "wb").close()
    with open(paths["text"], "w") as f:
        f.write("this is not a video\n")
    return paths


def write_manifest(path: str, rows: list[tuple[str, str, str, str]]) -> str:
    with open(path, "w") as f:
        f.write("video_id,uri,label,subset\n")
        for row in rows:
            f.write(",".join(row) + "\n")
    return path


@pytest.fixture(scope="session")
def dataset_inputs(tmp_path_factory) -> str:
    """A manifest of real videos (one of them glitchy, one with a lying header) plus bad ones."""
    folder = str(tmp_path_factory.mktemp("inputs"))
    bad = make_bad_inputs(folder)
    rows = [("vtest_a", video("vtest_a.mp4"), "walking", "training"),
            ("megamind", video("Megamind.avi"), "talking", "validation"),
            ("megamind_bugy", video("Megamind_bugy.avi"), "talking", "validation"),
            ("tree", video("tree.avi"), "", "")]
    rows += [(name, path, "", "") for name, path in bad.items()]
    return write_manifest(os.path.join(folder, "manifest.csv"), rows)


@pytest.fixture(scope="session")
def built_dataset(tmp_path_factory, dataset_inputs) -> tuple[str, dict]:
    """Run the dataset job once (in-memory FnApiRunner); return (output dir, report)."""
    from pipelines.build_dataset import run

    out = str(tmp_path_factory.mktemp("dataset"))
    report = run(["--input", dataset_inputs, "--output", out, "--num_shards", "3",
                  "--runner", "FnApiRunner"], save_main_session=False)
    yield out, report
    shutil.rmtree(out, ignore_errors=True)


def run_dir(output) -> str:
    """The folder of the run published in ``output`` (as its dataset.json names it)."""
    import json

    with open(os.path.join(output, "dataset.json")) as f:
        return os.path.join(str(output), json.load(f)["run"])
