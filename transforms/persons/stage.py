"""Beam stage: score shot frames for people in batches across videos, keep shots with people.

Shots and the frames to score come from the analysis pass (``transforms.analyze``), where a
ShotDetector and a ShotFrameSampler ride the one decode of each video. ``ScorePersons`` turns
ShotFrames (from every video) into per-shot max person scores keyed by ``(video_id,
shot_index)``, through RunInference (frames of many videos share a batch; the model loads once
per worker process and is shared by its threads). ``SelectPersonShots`` joins those scores
with each video's shots: kept time ranges for clip sampling, and a ``dropped``/``no_person``
Outcome for videos with no kept shot.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import apache_beam as beam
from apache_beam.ml.inference.base import KeyedModelHandler, PredictionResult, RunInference

from models.detectors import PersonDetector, load_person_detector
from transforms.persons.sampling import (
    PERSON_THRESHOLD,
    ShotFrame,
    no_person_outcome,
    select_person_shots,
)
from transforms.shots.histogram import Shot, ShotParams
from transforms.types import Outcome, TimeRange

ShotKey = tuple[str, int]
NO_PERSON = "no_person"
FRAMES = "frames"


class _Prepare(beam.DoFn):
    """ShotFrame -> ((video_id, shot_index), model input); an undecodable JPEG is counted and
    skipped (its shot then has one frame fewer)."""

    def __init__(self, detector: PersonDetector):
        self._prepare = detector.prepare
        self._bad = beam.metrics.Metrics.counter("persons", "frames_undecodable")
        self._frames = beam.metrics.Metrics.counter("persons", "frames_scored")

    def process(self, frame: ShotFrame) -> Iterator[tuple[ShotKey, object]]:
        try:
            example = self._prepare(frame.jpeg)
        except ValueError:
            self._bad.inc()
            return
        self._frames.inc()
        yield (frame.video_id, frame.shot_index), example


def _score(keyed: tuple[ShotKey, PredictionResult]) -> tuple[ShotKey, float]:
    key, result = keyed
    return key, float(result.inference)


class ScorePersons(beam.PTransform):
    """PCollection[ShotFrame] -> PCollection[((video_id, shot_index), max person score 0..1)].

    ``detector`` comes from :func:`models.detectors.load_person_detector`, called before the
    pipeline is built; its handler sets the batch sizes and the device.
    """

    def __init__(self, detector: PersonDetector):
        super().__init__()
        self._detector = detector

    def expand(self, frames: beam.PCollection[ShotFrame]) -> beam.PCollection:
        return (frames
                | "Prepare" >> beam.ParDo(_Prepare(self._detector))
                | "Detect" >> RunInference(KeyedModelHandler(self._detector.handler))
                | "Score" >> beam.Map(_score)
                | "MaxPerShot" >> beam.CombinePerKey(max))


class _Select(beam.DoFn):
    """Per video: kept shots as TimeRanges (main output) or a no_person Outcome (tagged)."""

    def __init__(self, threshold: float):
        self._threshold = threshold
        self._kept = beam.metrics.Metrics.counter("persons", "shots_kept")
        self._total = beam.metrics.Metrics.counter("persons", "shots_total")
        self._dropped = beam.metrics.Metrics.counter("persons", "videos_no_person")

    def process(self, element: tuple[str, dict[str, list]]
                ) -> Iterator[tuple[str, list[TimeRange]] | beam.pvalue.TaggedOutput]:
        video_id, joined = element
        scores = dict(joined["scores"])
        for uri, shots in joined["shots"]:
            kept = select_person_shots(shots, scores, self._threshold)
            self._total.inc(len(shots))
            self._kept.inc(len(kept))
            if kept:
                yield video_id, kept
            else:
                self._dropped.inc()
                yield beam.pvalue.TaggedOutput(NO_PERSON, no_person_outcome(
                    video_id, uri, shots, scores, self._threshold))


def _by_video(item: tuple[ShotKey, float]) -> tuple[str, tuple[int, float]]:
    (video_id, shot), score = item
    return video_id, (shot, score)


class SelectPersonShots(beam.PTransform):
    """Join shots with their scores, per video.

    Inputs: a dict ``{"shots": PCollection[(video_id, (uri, list[Shot]))], "scores":
    ScorePersons' output}``. Outputs (a DoOutputsTuple): main ``(video_id, list[TimeRange])``
    of kept shots; ``no_person``: Outcome of each video without a kept shot.
    """

    def __init__(self, threshold: float = PERSON_THRESHOLD):
        super().__init__()
        self._threshold = threshold

    def expand(self, inputs: dict[str, beam.PCollection]):
        scores = inputs["scores"] | "ByVideo" >> beam.Map(_by_video)
        return ({"shots": inputs["shots"], "scores": scores}
                | "Join" >> beam.CoGroupByKey()
                | "Decide" >> beam.ParDo(_Select(self._threshold)).with_outputs(
                    NO_PERSON, main="kept"))


def kept_shots_record(video_id: str, shots: Iterable[Shot],
                      kept: Iterable[TimeRange], outcome: Outcome | None = None) -> dict:
    """One line of ``kept_shots.jsonl`` (see docs/shots.md): a video's shots and which were
    kept, with scores; times in seconds on the decoded timeline."""
    shots = list(shots)
    return {
        "video_id": video_id,
        "shots": len(shots),
        "kept": [{"shot_index": r.shot_index, "start": round(r.start, 3),
                  "end": round(r.end, 3), "person_score": round(r.person_score, 4)}
                 for r in kept],
        "status": outcome.status if outcome else "kept",
    }


def add_shot_person_arguments(parser) -> None:
    """Options of the shot and person stages, for the pipeline's PipelineOptions subclass
    (call from its ``_add_argparse_args``). Defaults follow HACS and docs/shots.md."""
    from models.detectors import DEFAULT_DETECTOR, DETECTORS, FASTER_RCNN_SIZE
    from transforms.shots import histogram as shots

    parser.add_argument("--shot_threshold", type=float, default=shots.THRESHOLD,
                        help="colour-histogram distance (0..1) between consecutive frames "
                             "that marks a cut; chosen on benchmarks/bench_shots.py")
    parser.add_argument("--shot_distance", default=shots.DISTANCE,
                        choices=sorted(shots.DISTANCES), help="histogram distance")
    parser.add_argument("--shot_bins", default=",".join(map(str, shots.BINS)),
                        help="H,S,V bin counts of the joint colour histogram")
    parser.add_argument("--min_shot_seconds", type=float, default=shots.MIN_SHOT_SECONDS,
                        help="shortest shot in seconds")
    parser.add_argument("--adaptive_shots", action="store_true",
                        help="also require the distance to stand out from its local mean "
                             "(fewer false cuts in fast motion)")
    parser.add_argument("--detector", default=DEFAULT_DETECTOR, choices=DETECTORS,
                        help="person detector: ssd_mobilenet_v2 (offline, weights in a pip "
                             "package) or faster_rcnn (HACS; torchvision COCO weights)")
    parser.add_argument("--detector_weights", default=None,
                        help="Faster R-CNN state dict, local or gs:// (default: torchvision's "
                             "COCO weights from the torch hub cache, downloaded once)")
    parser.add_argument("--detector_input_size", type=int, default=FASTER_RCNN_SIZE,
                        help="Faster R-CNN shorter side in pixels (torchvision: 800)")
    parser.add_argument("--device", default="CPU", choices=("CPU", "GPU"),
                        help="where Faster R-CNN runs; GPU uses CUDA when the worker has it")
    parser.add_argument("--detector_min_batch_size", type=int, default=1,
                        help="smallest batch of frames per detector call")
    parser.add_argument("--detector_max_batch_size", type=int, default=16,
                        help="largest batch of frames per detector call (across videos)")
    parser.add_argument("--person_threshold", type=float, default=PERSON_THRESHOLD,
                        help="keep a shot whose max person score reaches this (HACS: 0.5)")
    parser.add_argument("--person_frame_positions", default="0.333,0.667",
                        help="where in each shot to take the frames to score, as fractions "
                             "of its span (HACS: 2 frames per shot)")


def shot_params_from_options(options) -> ShotParams:
    """ShotParams from options added by :func:`add_shot_person_arguments`."""
    bins = tuple(int(b) for b in str(options.shot_bins).split(","))
    if len(bins) != 3:
        raise ValueError(f"--shot_bins needs three counts H,S,V, not {options.shot_bins}")
    return ShotParams(bins=bins, distance=options.shot_distance,
                      threshold=options.shot_threshold,
                      min_shot_seconds=options.min_shot_seconds,
                      adaptive=options.adaptive_shots)


def frame_positions_from_options(options) -> tuple[float, ...]:
    return tuple(float(p) for p in str(options.person_frame_positions).split(","))


def detector_from_options(options) -> PersonDetector:
    """Load the person detector the options name; call before the pipeline is built (raises
    models.detectors.DetectorUnavailable with instructions when weights are missing)."""
    return load_person_detector(options.detector, weights=options.detector_weights,
                                device=options.device,
                                min_batch_size=options.detector_min_batch_size,
                                max_batch_size=options.detector_max_batch_size,
                                input_size=options.detector_input_size)
