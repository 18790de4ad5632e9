"""Options of the person stage: its config dataclass and the function that fills it from the
command line. Defaults follow HACS (Zhao et al., ICCV 2019): 2 frames per shot, a shot is kept
when its best person score reaches 0.5. The detector's own options are in
``models/detectors.py``."""

from __future__ import annotations

from dataclasses import dataclass, field

from transforms.persons.sampling import PERSON_THRESHOLD, POSITIONS


@dataclass(frozen=True)
class ShotFrameConfig:
    """The frames of each shot the analysis pass keeps for scoring (the config of
    ``transforms.persons.part.ShotFramesPart``): ``positions`` in each shot, as fractions
    (0..1) of its span."""

    positions: tuple[float, ...] = POSITIONS

    def __post_init__(self) -> None:
        if not self.positions or any(not 0 <= p <= 1 for p in self.positions):
            raise ValueError("--person_frame_positions must be fractions in 0..1, not "
                             f"{self.positions}")


@dataclass(frozen=True)
class PersonConfig:
    """``threshold``: a shot is kept when its max person score (0..1) reaches this;
    ``frames``: which frames of each shot are scored."""

    threshold: float = PERSON_THRESHOLD
    frames: ShotFrameConfig = field(default_factory=ShotFrameConfig)

    def __post_init__(self) -> None:
        if not 0 <= self.threshold <= 1:
            raise ValueError(f"--person_threshold must be in 0..1, not {self.threshold}")


def add_person_arguments(parser) -> None:
    """Add the person-filter options to a ``PipelineOptions._add_argparse_args`` parser."""
    parser.add_argument("--person_threshold", type=float, default=None,
                        help="Keep a shot whose max person score (0..1) reaches this "
                             "(default: the detector's operating threshold: 0.5 for "
                             "faster_rcnn as in HACS, 0.3 for ssd_mobilenet_v2, chosen on "
                             "benchmarks/bench_person_filter.py).")
    parser.add_argument("--person_frame_positions", default="0.333,0.667",
                        help="Where in each shot the frames to score are taken, as "
                             "fractions of its span (HACS: 2 frames per shot).")


def person_config_from_options(options, default_threshold: float = PERSON_THRESHOLD
                               ) -> PersonConfig:
    """PersonConfig from options added by :func:`add_person_arguments`;
    ``default_threshold`` (the detector's operating threshold) when ``--person_threshold``
    is not given."""
    try:
        positions = tuple(float(p) for p in str(options.person_frame_positions).split(","))
    except ValueError:
        raise ValueError("--person_frame_positions must be comma-separated fractions, not "
                         f"{options.person_frame_positions!r}") from None
    threshold = options.person_threshold
    return PersonConfig(threshold=default_threshold if threshold is None else threshold,
                        frames=ShotFrameConfig(positions))
