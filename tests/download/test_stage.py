"""The download stage's transforms, one TestPipeline each: DownloadVideos (targets in, one
outcome per target out) and WriteDownloadResults (outcomes in, the run's files out)."""

from __future__ import annotations

import json
import os
import time

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from transforms.download.config import DownloadConfig
from transforms.download.stage import DownloadVideos, WriteDownloadResults
from transforms.types import DownloadOutcome, DownloadStatus, DownloadTarget


def test_download_videos_gives_one_outcome_per_target(server, tmp_path):
    out = str(tmp_path / "out")
    targets = [DownloadTarget(f"ok{i}", f"{server.url}/v/vtest_a.mp4?{i}", ("walking",))
               for i in range(5)]
    targets += [DownloadTarget("gone", f"{server.url}/status/410"),
                DownloadTarget("page", f"{server.url}/html")]
    cfg = DownloadConfig(downloads_per_second=0, concurrent_downloads=3)
    with BeamTestPipeline() as p:
        outcomes = (p | beam.Create(targets)
                    | DownloadVideos(cfg, out, f"{out}/work", total=len(targets)))
        assert_that(outcomes | beam.Map(lambda o: (o.video_id, str(o.status), o.reason)),
                    equal_to([(f"ok{i}", "downloaded", "") for i in range(5)]
                             + [("gone", "failed", "http_410"),
                                ("page", "failed", "not_video")]))
    assert server.hits["/v/vtest_a.mp4"] == 5


def test_write_download_results_accounts_for_every_outcome(tmp_path):
    run_dir = str(tmp_path / "run")
    outcomes = [
        DownloadOutcome("a", "src-a", DownloadStatus.DOWNLOADED, uri="/v/walk/v_a.mp4",
                        size_bytes=1000, duration=20.0, attempts=2, classes=("walk",),
                        subset="training"),
        DownloadOutcome("b", "src-b", DownloadStatus.DOWNLOADED, uri="/v/run/v_b.avi",
                        size_bytes=500, duration=10.0, attempts=1,
                        classes=("run", "walk, fast"), resumed=True),
        DownloadOutcome("c", "src-c", DownloadStatus.FAILED, reason="private", attempts=1)]
    with BeamTestPipeline() as p:
        paths = (p | beam.Create(outcomes)
                 | WriteDownloadResults(run_dir, {"download": {}}, time.time()))
        assert_that(paths, equal_to([f"{run_dir}/report.json"]))
    with open(f"{run_dir}/report.json") as f:
        report = json.load(f)
    assert report["videos"] == {"input": 3, "downloaded": 2, "failed": 1, "resumed": 1}
    assert report["reasons"] == {"failed": {"private": 1}}
    assert (report["bytes"], report["fetched_bytes"], report["attempts"]) == (1500, 1000, 3)
    with open(f"{run_dir}/downloads.jsonl") as f:
        rows = [DownloadOutcome.from_json_dict(json.loads(line)) for line in f]
    assert sorted(rows, key=lambda o: o.video_id) == outcomes
    with open(f"{run_dir}/manifest.csv") as f:
        lines = f.read().splitlines()
    assert lines[0] == "video_id,uri,label,subset,classes"
    assert sorted(lines[1:]) == ["a,/v/walk/v_a.mp4,walk,training,walk",
                                 'b,/v/run/v_b.avi,,,"run|walk, fast"']


def test_the_algorithms_load_without_beam_and_the_stage_exports_its_transforms():
    import subprocess
    import sys

    code = ("import sys\n"
            "import transforms.download.fetch, transforms.download.download, "
            "transforms.download.sources, transforms.download.report, "
            "transforms.download.layout, transforms.download.config, transforms.download\n"
            "assert 'apache_beam' not in sys.modules, 'an algorithm import loaded Beam'\n"
            "assert 'yt_dlp' not in sys.modules, 'yt-dlp is imported only when a source needs it'\n"
            "import apache_beam as beam\n"
            "from transforms.download import DownloadVideos, WriteDownloadResults\n"
            "assert issubclass(DownloadVideos, beam.PTransform)\n"
            "assert issubclass(WriteDownloadResults, beam.PTransform)\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
