"""Options of the output stage: its config dataclass and the function that fills it from the
command line."""

from __future__ import annotations

from dataclasses import dataclass

NUM_SHARDS = 8


@dataclass(frozen=True)
class OutputConfig:
    """``num_shards``: TFRecord shards the clips are written to (a fixed count, so that file
    names are deterministic)."""

    num_shards: int = NUM_SHARDS

    def __post_init__(self) -> None:
        if self.num_shards < 1:
            raise ValueError(f"--num_shards must be >= 1, not {self.num_shards}")


def add_output_arguments(parser) -> None:
    """Add the output options to a ``PipelineOptions._add_argparse_args`` parser."""
    parser.add_argument("--num_shards", type=int, default=NUM_SHARDS,
                        help="Number of TFRecord shards (fixed, so names are deterministic; "
                             "aim for 100-200 MB per shard: each is written by one worker, "
                             "which holds a few hundred bytes per record of it).")


def output_config_from_options(options) -> OutputConfig:
    """OutputConfig from options added by :func:`add_output_arguments`."""
    return OutputConfig(num_shards=options.num_shards)
