"""Stage 5, output: the record format, sharded TFRecord files and the run report.

- ``records.py``: the clip record schema (tf.train.Example codec) and the JPEG codec. No Beam.
- ``shards.py``: TFRecord reading, writing and ``.index`` files (local or gs://). No Beam.
- ``report.py``: tallies of outcomes, ``report.json`` and ``dataset.json`` documents. No Beam.
- ``config.py``: ``OutputConfig`` and its command-line options.
- ``stage.py``: ``WriteClipShards`` and ``WriteRunReport``.
"""

from transforms import lazy_exports

__all__ = ["WriteClipShards", "WriteRunReport"]
__getattr__ = lazy_exports(__name__, {
    "WriteClipShards": "transforms.output.stage",
    "WriteRunReport": "transforms.output.stage",
})
