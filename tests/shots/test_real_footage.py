"""Shot boundaries on real footage: known cuts of committed real clips, and no cut in real
single takes put through lighting changes (tests/lighting.py)."""

import os

import pytest

from tests.lighting import relight
from tests.media import encode_video, iter_frames
from transforms.analyze.decode import decode_pass
from transforms.shots.histogram import HistogramConfig, HistogramShotDetector

VIDEOS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "videos")
SHOTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "shots")
# the detector before the pattern check: colour histograms alone
COLOUR_ONLY = HistogramConfig(structure_threshold=0.0, min_shot_seconds=0.5, gradual_frames=8,
                         gradual_threshold=0.45)


def boundaries(path: str, params: HistogramConfig | None = None) -> tuple[list[int], list[str]]:
    detector = HistogramShotDetector(params)
    shots = detector.result(decode_pass(path, [detector]))
    return [s.start_frame for s in shots[1:]], detector.final_transitions


def test_megamind_hand_labelled_cuts():
    # benchmarks/data/megamind_cuts.json: cuts at 98, 154, 200 (frame 0 is black lead-in)
    assert boundaries(os.path.join(VIDEOS, "Megamind.avi")) == ([98, 154, 200], ["cut"] * 3)


def test_joined_real_excerpts_boundaries_and_their_kinds():
    # tests/data/shots/README.md: cuts at 60, 110, 264; a dissolve over 139-154; a fade
    # through black over 201-216 (black at 208)
    found, kinds = boundaries(os.path.join(SHOTS, "shots_joined.mp4"))
    assert len(found) == 5
    assert abs(found[0] - 60) <= 2 and abs(found[1] - 110) <= 2
    assert 139 <= found[2] <= 154 and 201 <= found[3] <= 216 and abs(found[4] - 264) <= 2
    assert kinds == ["cut", "cut", "gradual", "gradual", "cut"]


@pytest.mark.parametrize("source, start, stop, fps", [
    ("vtest_a.mp4", 0, 200, 10),        # static camera, pedestrians
    ("Megamind.avi", 1, 98, 24),        # one shot of the film, dark candle-lit scene
    ("tree.avi", 0, 68, 15),            # handheld-looking tree, a hand reaching in at 54
], ids=["vtest", "megamind-shot", "tree"])
def test_single_take_with_exposure_steps_flashes_flare_and_flicker_has_no_cut(
        tmp_path, source, start, stop, fps):
    frames = [f.image for f in iter_frames(os.path.join(VIDEOS, source), short_side=144)]
    path = encode_video(str(tmp_path / "relit.mp4"), relight(frames[start:stop]), fps=fps)
    assert boundaries(path) == ([], [])
    # the lighting alone cuts the colour-only detector: the test would catch a regression
    assert boundaries(path, COLOUR_ONLY)[0]
