"""Stage 5, output: the record format, sharded TFRecord files and the run report.

- ``records.py``: the clip record schema (tf.train.Example codec) and the JPEG codec. No Beam.
- ``shards.py``: TFRecord reading, writing and ``.index`` files (local or gs://). No Beam.
- ``report.py``: tallies of outcomes, ``report.json`` and ``dataset.json`` documents. No Beam.
- ``config.py``: ``OutputConfig`` and its command-line options.
- ``stage.py``: ``WriteClipShards`` and ``WriteRunReport``.
"""

_STAGE_EXPORTS = {
    "WriteClipShards": "transforms.output.stage",
    "WriteRunReport": "transforms.output.stage",
}
__all__ = ["WriteClipShards", "WriteRunReport"]


def __getattr__(name: str):
    # The Beam wiring is imported on first use, so that importing the algorithm modules of
    # this package (e.g. from a notebook or a tool) does not load Apache Beam.
    if name in _STAGE_EXPORTS:
        from importlib import import_module

        return getattr(import_module(_STAGE_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
