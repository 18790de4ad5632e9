"""Memory is flat in the size of the dataset: the whole job's peak RSS on 24 copies of a
1-minute video is that of one copy, and on a 20-minute video that of a 1-minute one (record,
frame and JPEG bytes are written once, by the worker that made them, and read where they are
needed; only references and small results are grouped).

Each job runs in a child process; its peak RSS is the child's ``ru_maxrss``. Not timed. The
videos are real footage (``tests.media.looped_footage``: excerpts of the committed sample
videos in turn, a hard cut every 15 s, people in most shots).

The person detector's working memory grows with its batch (up to
``--detector_max_batch_size``, 16 by default: one video, 1672 MB peak with whole batches of 16,
1319 MB with the 8 frames of a 1-minute video; benchmarks/RESULTS.md), not with the dataset;
a 1-minute video with a cut every 15 s has too few frames to fill the default batch, which a
longer video or more videos do fill. So every run with the person
filter scores whole batches of 4 (``--detector_min_batch_size 4 --detector_max_batch_size
4``): the runs compare the same detector."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import run_dir, video
from tests.media import encode_video, looped_footage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = (video("vtest_a.mp4"), video("Megamind.avi"))
COPIES = 24
SEGMENT = 15.0  # seconds between cuts: 4 shots, 8 frames to score a minute
BATCH = ["--detector_min_batch_size", "4", "--detector_max_batch_size", "4"]


@pytest.fixture(scope="module")
def footage(tmp_path_factory):
    """``{name: path}``: 1 minute at 10 fps (for the copies: decoding is most of a job's
    time), 1 and 20 minutes at 25 fps, all 160x120."""
    folder = tmp_path_factory.mktemp("footage")
    made = {}
    for name, minutes, fps in (("copy", 1, 10), ("short", 1, 25), ("long", 20, 25)):
        made[name] = encode_video(str(folder / f"{name}.mp4"),
                                  looped_footage(SOURCES, 60 * minutes, fps=fps,
                                                 segment=SEGMENT),
                                  fps=fps, gop=50)
    return made


def _job(folder, uri: str, copies: int, person_filter: bool) -> tuple[float, dict]:
    """Run the job on ``copies`` copies of ``uri`` (one manifest row each: every copy is
    decoded and written, dedup off) in a child process: (peak RSS in MB, report)."""
    folder.mkdir()
    manifest = folder / "videos.csv"
    manifest.write_text("video_id,uri,label,subset\n" + "".join(
        f"copy{i:03d},{uri},walking,training\n" for i in range(copies)))
    args = [sys.executable, "-m", "pipelines.build_dataset", "--input", str(manifest),
            "--output", str(folder / "out"), "--num_shards", "2", "--skip_dedup"]
    args += BATCH if person_filter else ["--skip_person_filter"]
    child = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, stderr.decode()[-2000:]
    with open(os.path.join(run_dir(folder / "out"), "report.json")) as f:
        return usage.ru_maxrss / 1024, json.load(f)  # kilobytes on Linux


@pytest.mark.parametrize("person_filter", [True, False], ids=["person-filter", "no-filter"])
def test_peak_memory_of_24_videos_is_that_of_one(tmp_path, footage, person_filter):
    one, report_one = _job(tmp_path / "one", footage["copy"], 1, person_filter)
    many, report_many = _job(tmp_path / "many", footage["copy"], COPIES, person_filter)
    assert report_one["clips"] >= 20  # people were found: most clips are kept
    assert report_many["clips"] == COPIES * report_one["clips"]
    assert many <= 1.1 * one, (one, many)


def test_peak_memory_of_a_20_minute_video_is_that_of_a_1_minute_one(tmp_path, footage):
    peaks, reports = {}, {}
    for name in ("short", "long"):
        peaks[name], reports[name] = _job(tmp_path / name, footage[name], 1, True)
    minutes = {"short": 1, "long": 20}
    for name, report in reports.items():
        assert report["frames_decoded"] == report["input_frames"] == 1500 * minutes[name]
        assert report["clips"] >= 20 * minutes[name]  # clips were kept all along the video
    assert peaks["long"] <= 1.1 * peaks["short"], peaks
