"""A batch the person detector raises on fails the videos of its frames, not the job.

The detector is the real offline SSD handler, made to raise (as a CUDA error would) for any
batch holding a frame of a red video; batches of one frame keep the failure to that video.
The whole job is wired by ``build`` with the detector injected, and run on the FnApiRunner.
"""

from __future__ import annotations

import json
import os
import time

import apache_beam as beam
import numpy as np
from apache_beam.options.pipeline_options import PipelineOptions

from models.detectors import PersonDetector, SsdModelHandler
from pipelines.build_dataset import BuildDatasetOptions, JobConfig, build
from tests.conftest import video, write_manifest
from tests.media import encode_video
from transforms.inputs.manifest import load_inputs
from transforms.jpeg import decode_jpeg

ERROR = "CUDA error: an illegal memory access was encountered"


def _red(image: np.ndarray) -> bool:
    return image[..., 2].mean() > 150 and image[..., :2].mean() < 60


class FailsOnRedFrames(SsdModelHandler):
    """The SSD handler, raising for a batch that holds a red frame."""

    def run_inference(self, batch, model, inference_args=None):
        if any(_red(image) for image in batch):
            raise RuntimeError(ERROR)
        return super().run_inference(batch, model, inference_args)


def test_a_failed_detector_batch_fails_its_video_and_the_others_go_on(tmp_path):
    red = np.zeros((64, 96, 3), np.uint8)
    red[..., 2] = 220
    red_path = encode_video(str(tmp_path / "red.mp4"), [red] * 30, fps=10)
    manifest = write_manifest(str(tmp_path / "m.csv"), [
        ("people", video("vtest_a.mp4"), "", ""), ("tree", video("tree.avi"), "", ""),
        ("red", red_path, "", "")])
    out = str(tmp_path / "out")
    options = PipelineOptions(["--input", manifest, "--output", out, "--num_shards", "1",
                               "--skip_dedup", "--runner", "FnApiRunner"])
    opts = options.view_as(BuildDatasetOptions)
    detector = PersonDetector("ssd_mobilenet_v2", FailsOnRedFrames(max_batch_size=1),
                              decode_jpeg)
    p = beam.Pipeline(options=options)
    build(p, opts, JobConfig.from_options(opts), load_inputs(manifest), time.time(), detector)
    p.run().wait_until_finish()

    with open(os.path.join(out, "videos.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    by_id = {row["video_id"]: row for row in rows}
    assert len(rows) == len(by_id) == 3  # each video in exactly one place
    assert {k: (v["status"], v["stage"], v["reason"]) for k, v in by_id.items()} == {
        "people": ("kept", "clips", ""), "tree": ("dropped", "persons", "no_person"),
        "red": ("failed", "persons", "detector_error")}
    assert by_id["red"]["message"] == (
        f"the person detector failed on a batch of 1 frames: RuntimeError('{ERROR}')")
    assert (by_id["red"]["frames"], by_id["red"]["duration"]) == (30, 3.0)  # decoded facts
    assert by_id["people"]["clips"] == 10 and by_id["red"]["clips"] == 0
    with open(os.path.join(out, "report.json")) as f:
        report = json.load(f)
    assert report["videos"] == {"input": 3, "kept": 1, "dropped": 1, "failed": 1}
    assert report["reasons"]["failed"] == {"detector_error": 1}
    with open(os.path.join(out, "shots.jsonl")) as f:
        shots = [json.loads(line) for line in f]
    assert {r["video_id"] for r in shots} == {"people", "tree", "red"}
    assert not any(r["kept"] for r in shots if r["video_id"] != "people")
    assert all(r["kept"] for r in shots if r["video_id"] == "people")
