"""A kept clip: its record, made from the candidate the analysis pass wrote, and its reference.

The clip stage decides which candidates are kept and makes each kept record once, to learn
its CRC-32 and first bytes (where it goes in the shards); it hands on a small
:class:`~transforms.types.ClipRef`, not the bytes. The shard writer makes the same record again
from the reference (:func:`clip_record`: the same candidate, the same fields, the same
deterministic serialization), so record bytes never cross a shuffle. No Beam.
"""

from __future__ import annotations

import zlib
from dataclasses import replace

from transforms.analyze.results import read_candidate
from transforms.output.records import from_example, to_example
from transforms.output.shards import RecordReader
from transforms.types import ClipRef

# Bytes of a record that travel in its ClipRef to order it in its shard: enough to reach past
# the clip id (records that tie on them are read whole to be ordered).
HEAD_BYTES = 128


class RecordChanged(ValueError):
    """A record made again from its reference is not the record the clip stage made (its
    candidate file changed under the run)."""


def kept_record(candidate: bytes, label_id: int, label_name: str, subset: str,
                person_score: float) -> bytes:
    """A candidate clip record with its label, subset and its shot's person score."""
    return to_example(replace(from_example(candidate), label_id=label_id,
                              label_name=label_name, subset=subset,
                              person_score=person_score))


def clip_ref(clips_path: str, offset: int, record: bytes, label_id: int, label_name: str,
             subset: str, person_score: float) -> ClipRef:
    """The reference of ``record``, the kept record made from the candidate at ``offset`` of
    ``clips_path`` with these fields (:func:`kept_record`)."""
    return ClipRef(clips_path, offset, label_id, label_name, subset, person_score,
                   zlib.crc32(record), record[:HEAD_BYTES], len(record))


def clip_record(reader: RecordReader, ref: ClipRef) -> bytes:
    """The kept record ``ref`` refers to, made again from its candidate (``reader`` reads
    it); raises RecordChanged when its size or CRC-32 are not those in ``ref``."""
    record = kept_record(read_candidate(reader, ref.clips_path, ref.offset), ref.label_id,
                         ref.label_name, ref.subset, ref.person_score)
    if len(record) != ref.size or zlib.crc32(record) != ref.crc:
        raise RecordChanged(f"{ref.clips_path} at byte {ref.offset}: the kept record made "
                            "again differs from the one the clip stage made (was the work "
                            "folder changed during the run?)")
    return record
