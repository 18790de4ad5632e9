"""The person stage's part of the decode pass: the frames of each shot to score for people
(``sampling.ShotFrameSampler``), written to the video's results, from which the survivors'
frames are read back for the detector (``transforms.routing.RouteSurvivors``; see
``transforms.analyze.part``). No Beam."""

from __future__ import annotations

from transforms.analyze.part import AnalysisPart, VideoPass
from transforms.persons.config import ShotFrameConfig
from transforms.persons.sampling import ShotFrameSampler


class _Run:
    def __init__(self, sampler: ShotFrameSampler):
        self.consumer = sampler

    def drain(self, writer) -> None:
        for frame in self.consumer.drain():
            writer.add_frame(frame)

    def finish(self, stats) -> dict:
        self.consumer.finish(stats)
        return {}


class ShotFramesPart(AnalysisPart):
    """Writes each shot's frames to score to the video's results; put it after the shots
    part (it follows the shot boundaries of ``VideoPass.shots``)."""

    name = "shot_frames"
    config: ShotFrameConfig

    def start(self, video: VideoPass) -> _Run:
        return _Run(ShotFrameSampler(video.boundaries(self), video.ref.video_id,
                                     self.config.positions))
