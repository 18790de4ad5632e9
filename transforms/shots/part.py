"""The shot stage's part of the decode pass: the configured shot detector (a
``transforms.shots.detector.ShotDetector``) takes the frames it wants while the video streams
past and is put in ``VideoPass.shots`` for the parts that follow shot boundaries; its shots go
into the video's analysis (``transforms.analyze.part``). No Beam."""

from __future__ import annotations

from transforms.analyze.part import AnalysisPart, ResultRun, VideoPass
from transforms.shots.config import ShotDetectorConfig
from transforms.shots.detector import ShotDetector
from transforms.shots.histogram import HistogramShotDetector
from transforms.shots.transnet import TransNetDetector, load_model


class ShotsPart(AnalysisPart):
    """Adds ``shots`` to each video's analysis; put it before the parts that follow shot
    boundaries. TransNetV2 is loaded once per worker process (:meth:`setup`)."""

    name = "shots"
    config: ShotDetectorConfig

    def __init__(self, config: ShotDetectorConfig):
        super().__init__(config)
        self._model = None

    def setup(self, acquire) -> None:
        params = self.config.transnet
        if params is not None:
            self._model = acquire(lambda: load_model(params.device))

    def start(self, video: VideoPass) -> ResultRun:
        cfg = self.config
        detector: ShotDetector
        if cfg.transnet is not None:
            if self._model is None:
                raise RuntimeError("ShotsPart.setup() must load TransNetV2 before a pass")
            detector = TransNetDetector(self._model, cfg.transnet)
        else:
            detector = HistogramShotDetector(cfg.histogram)
        video.shots = detector
        return ResultRun(detector, "shots", tuple)
