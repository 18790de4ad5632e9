"""Options of the output stage: its config dataclass and the function that fills it from the
command line."""

from __future__ import annotations

from dataclasses import dataclass

NUM_SHARDS = 8
TFRECORD, WEBDATASET = "tfrecord", "webdataset"
SHARD_FORMATS = (TFRECORD, WEBDATASET)


@dataclass(frozen=True)
class OutputConfig:
    """``num_shards``: shards the clips are written to (a fixed count, so that file names are
    deterministic); ``shard_format``: "tfrecord" (``.tfrecord`` files of
    ``tf.train.Example`` records) or "webdataset" (``.tar`` files, one sample per clip)."""

    num_shards: int = NUM_SHARDS
    shard_format: str = TFRECORD

    def __post_init__(self) -> None:
        if self.num_shards < 1:
            raise ValueError(f"--num_shards must be >= 1, not {self.num_shards}")
        if self.shard_format not in SHARD_FORMATS:
            raise ValueError(f"--shard_format must be one of {SHARD_FORMATS}, "
                             f"not {self.shard_format!r}")


def add_output_arguments(parser) -> None:
    """Add the output options to a ``PipelineOptions._add_argparse_args`` parser."""
    parser.add_argument("--num_shards", type=int, default=NUM_SHARDS,
                        help="Number of TFRecord shards (fixed, so names are deterministic; "
                             "aim for 100-200 MB per shard: each is written by one worker, "
                             "which holds a few hundred bytes per record of it).")
    parser.add_argument("--shard_format", choices=SHARD_FORMATS, default=TFRECORD,
                        help="How shards are written: 'tfrecord' (default, the design's "
                             "format: tf.train.Example records, TensorFlow reads them) or "
                             "'webdataset' (.tar files, one sample per clip: KEY.json and "
                             "KEY.mp4 or KEY.fNNN.jpg; read by the webdataset package and "
                             "ClipShardDataset; docs/outputs.md).")


def output_config_from_options(options) -> OutputConfig:
    """OutputConfig from options added by :func:`add_output_arguments`."""
    return OutputConfig(num_shards=options.num_shards, shard_format=options.shard_format)
