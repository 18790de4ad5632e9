"""The dataset job with its filters wired for real: reference sets in order, and a person
detector whose weights are missing stopping the job before it starts."""

import json
import os

import pytest

from models.detectors import DetectorUnavailable
from pipelines.build_dataset import UsageError, run
from pipelines.build_reference_index import run as build_index
from tests.conftest import run_dir, video, write_manifest


def _videos(out):
    with open(os.path.join(run_dir(out), "videos.jsonl")) as f:
        return {row["video_id"]: row for row in map(json.loads, f)}


@pytest.fixture(scope="module")
def reference_indexes(tmp_path_factory):
    """Two reference sets: 'kinetics' holds the re-encoded Megamind, 'ucf101' holds it too
    and also vtest_b (a different video of the same place as vtest_a)."""
    root = tmp_path_factory.mktemp("refs")
    sets = {"kinetics": [("k1", video("Megamind_bugy.avi"))],
            "ucf101": [("u1", video("Megamind_bugy.avi")), ("u2", video("vtest_b.mp4"))]}
    paths = {}
    for name, rows in sets.items():
        manifest = write_manifest(str(root / f"{name}.csv"), [(i, u, "", "") for i, u in rows])
        paths[name] = str(root / name)
        build_index(["--index_input", manifest, "--index_output", paths[name],
                     "--runner", "FnApiRunner"], save_main_session=False)
    return paths


def test_reference_sets_remove_in_order_and_count_once(reference_indexes, tmp_path):
    manifest = write_manifest(str(tmp_path / "m.csv"), [
        ("walk", video("vtest_a.mp4"), "walking", ""),
        ("mega", video("Megamind.avi"), "talking", "")])
    out = str(tmp_path / "out")
    report = run(["--input", manifest, "--output", out, "--num_shards", "1",
                  "--reference", f"kinetics={reference_indexes['kinetics']}",
                  "--reference", f"ucf101={reference_indexes['ucf101']}",
                  "--runner", "FnApiRunner"], save_main_session=False)
    rows = _videos(out)
    mega = rows["mega"]
    assert (mega["status"], mega["stage"], mega["reason"]) == ("dropped", "dedup", "reference")
    assert mega["evidence"]["set"] == "kinetics" and mega["evidence"]["reference_id"] == "k1"
    assert mega["frames"] == 270  # decoded facts filled in for dedup drops
    assert rows["walk"]["status"] == "kept"  # same place as a ucf101 video, not a copy
    assert report["reference_removals"] == {"kinetics": 1}
    assert report["reasons"]["dropped"] == {"reference": 1}


def test_bad_reference_option_stops_before_the_job(tmp_path):
    manifest = write_manifest(str(tmp_path / "m.csv"), [("walk", video("vtest_a.mp4"), "", "")])
    with pytest.raises(UsageError, match="NAME=PATH"):
        run(["--input", manifest, "--output", str(tmp_path / "o1"), "--reference", "nopath"])
    with pytest.raises(UsageError, match="no fingerprint index files"):
        run(["--input", manifest, "--output", str(tmp_path / "o2"),
             "--reference", f"kinetics={tmp_path / 'missing'}"])
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def test_missing_detector_weights_stop_before_the_job(tmp_path):
    manifest = write_manifest(str(tmp_path / "m.csv"), [("walk", video("vtest_a.mp4"), "", "")])
    with pytest.raises(DetectorUnavailable, match="detector_weights"):
        run(["--input", manifest, "--output", str(tmp_path / "out"), "--detector",
             "faster_rcnn", "--detector_weights", str(tmp_path / "no-such-weights.pt")])
    assert not (tmp_path / "out").exists()
