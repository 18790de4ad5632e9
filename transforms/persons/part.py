"""The person stage's part of the decode pass: the frames of each shot to score for people
(``sampling.ShotFrameSampler``), written to the video's results and handed to the detector
stage as ``ShotFrame`` elements (``transforms.analyze.part``). No Beam."""

from __future__ import annotations

from transforms.analyze.part import AnalysisPart, VideoPass
from transforms.persons.config import ShotFrameConfig
from transforms.persons.sampling import ShotFrameSampler
from transforms.types import Tag


class _Run:
    def __init__(self, sampler: ShotFrameSampler):
        self.consumer = sampler

    def drain(self, writer):
        for frame in self.consumer.drain():
            writer.add_frame(frame)
            yield frame

    def finish(self, stats) -> dict:
        self.consumer.finish(stats)
        return {}


class ShotFramesPart(AnalysisPart):
    """Hands each shot's frames to score to the ``shot_frames`` output; put it after the
    shots part (it follows the shot boundaries of ``VideoPass.shots``)."""

    name = "shot_frames"
    output = Tag.SHOT_FRAMES
    config: ShotFrameConfig

    def start(self, video: VideoPass) -> _Run:
        if video.shots is None:
            raise ValueError("ShotFramesPart follows shot boundaries: put ShotsPart before it")
        return _Run(ShotFrameSampler(video.shots, video.ref.video_id, self.config.positions))
