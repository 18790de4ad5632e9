"""Shard files: reading records and writing the per-shard index.

TFRecord shards (``.tfrecord``), and WebDataset ones (``.tar``, ``tar_shards``): the reading
functions give the records of either as ``tf.train.Example`` bytes. Works on local paths and
any Beam FileSystems URI (``gs://``). The index format is the ``tfrecord`` package's: one
``offset length`` line per record (a tar's: per sample), in bytes.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import google_crc32c

from transforms.files import filesystems, open_binary
from transforms.output.tar_shards import TAR_SUFFIX, iter_tar_records, iter_tar_spans

T = TypeVar("T")
_HEADER = struct.Struct("<QI")  # length, masked crc of length
_FOOTER = 4  # masked crc of data


class ShardError(ValueError):
    """A shard file is truncated or not a TFRecord file."""


TFRECORD_SUFFIX = ".tfrecord"


def is_tar(path: str) -> bool:
    """Whether ``path`` is a WebDataset shard (``--shard_format webdataset``)."""
    return path.endswith(TAR_SUFFIX)


def iter_record_spans(path: str) -> Iterator[tuple[int, int, bytes]]:
    """Yield ``(offset, total_length, payload)`` for each record of a TFRecord file (of a
    ``.tar`` shard: each sample's place and its record)."""
    if is_tar(path):
        yield from iter_tar_spans(path)
        return
    offset = 0
    with open_binary(path) as f:
        while (payload := _read_frame(f, path, offset)) is not None:
            total = _HEADER.size + len(payload) + _FOOTER
            yield offset, total, payload
            offset += total


def _read_frame(f, path: str, offset: int) -> bytes | None:
    """The payload of the record whose frame starts at ``offset`` of the open file ``f``
    (positioned there); None at the end of the file."""
    header = f.read(_HEADER.size)
    if not header:
        return None
    if len(header) < _HEADER.size:
        raise ShardError(f"{path}: truncated record header at byte {offset}")
    length, _ = _HEADER.unpack(header)
    # Checked before reading: a garbage length would otherwise be an allocation of up to
    # 2**64 bytes (a MemoryError, not a message).
    if _masked_crc(header[:8]) != header[8:]:
        raise ShardError(f"{path}: not a TFRecord file (bad length checksum at byte {offset})")
    payload = f.read(length)
    footer = f.read(_FOOTER)
    if len(payload) < length or len(footer) < _FOOTER:
        raise ShardError(f"{path}: truncated record at byte {offset}")
    return payload


def iter_records(path: str) -> Iterator[bytes]:
    """The serialized records of one shard (TFRecord or ``.tar``), in order."""
    if is_tar(path):
        yield from iter_tar_records(path)
        return
    for _, _, payload in iter_record_spans(path):
        yield payload


def read_index(shard_path: str) -> list[tuple[int, int]] | None:
    """The ``(offset, length)`` of each record from the shard's ``.index`` file; None when
    the shard has no index."""
    path = index_path(shard_path)
    if not filesystems().exists(path):
        return None
    with filesystems().open(path, mime_type="text/plain") as f:
        text = f.read().decode("ascii")
    return [(int(a), int(b)) for a, b in (line.split() for line in text.splitlines() if line)]


def record_count(shard_path: str) -> int:
    """Records in a shard: the lines of its index, or (no index) a count of its records."""
    spans = read_index(shard_path)
    return len(spans) if spans is not None else sum(1 for _ in iter_record_spans(shard_path))


def iter_records_range(path: str, start: int, stop: int) -> Iterator[bytes]:
    """Records ``start`` (counting from 0) up to ``stop`` of one shard: read from the first
    one's offset when the shard has an index, otherwise skipped to."""
    if stop <= start:
        return
    spans = read_index(path)
    if is_tar(path):
        yield from iter_tar_records(path, start, stop,
                                    None if spans is None else [a for a, _ in spans])
        return
    if spans is None:
        yield from itertools.islice(iter_records(path), start, stop)
        return
    if start >= len(spans):
        return
    with open_binary(path) as f:
        offset = spans[start][0]
        f.seek(offset)
        for _ in range(start, min(stop, len(spans))):
            payload = _read_frame(f, path, offset)
            if payload is None:
                raise ShardError(f"{path}: fewer records than its index says")
            offset += _HEADER.size + len(payload) + _FOOTER
            yield payload


class RecordReader:
    """Reads single records by ``(path, offset)`` (the offset of its frame, as
    :func:`iter_record_spans` gives it), from local paths or any FileSystems URI. The last
    ``keep`` files read stay open, so records read in runs from one file cost one open. Use
    as a context manager."""

    def __init__(self, keep: int = 8):
        self._keep = keep
        self._open: dict[str, object] = {}  # insertion order: least recently used first

    def read(self, path: str, offset: int) -> bytes:
        f = self._open.pop(path, None)
        if f is None:
            f = open_binary(path)
            if len(self._open) >= self._keep:
                self._open.pop(next(iter(self._open))).close()
        self._open[path] = f
        f.seek(offset)
        payload = _read_frame(f, path, offset)
        if payload is None:
            raise ShardError(f"{path}: no record at byte {offset} (past the end)")
        return payload

    def close(self) -> None:
        while self._open:
            self._open.popitem()[1].close()

    def __enter__(self) -> RecordReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _masked_crc(data: bytes) -> bytes:
    crc = google_crc32c.value(data)
    return struct.pack("<I", (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


class RecordWriter:
    """Appends serialized records to one TFRecord file (local or any FileSystems URI) as they
    come, framed as TensorFlow does (length, masked CRC32C, data, masked CRC32C). Use as a
    context manager; ``count`` and ``bytes`` say what was written."""

    def __init__(self, path: str):
        self.path = path
        self.count = 0
        self.bytes = 0
        self._file = filesystems().create(path, mime_type="application/octet-stream",
                                           compression_type="uncompressed")

    def write(self, data: bytes) -> None:
        length = struct.pack("<Q", len(data))
        self._file.write(length + _masked_crc(length) + data + _masked_crc(data))
        self.count += 1
        self.bytes += len(data) + 16

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_records(path: str, payloads: Iterable[bytes]) -> int:
    """Write serialized records as one TFRecord file; returns the count."""
    with RecordWriter(path) as writer:
        for data in payloads:
            writer.write(data)
    return writer.count


def in_byte_order(refs: Iterable[T], head: Callable[[T], bytes],
                  read: Callable[[T], bytes]) -> Iterator[bytes]:
    """The records that ``refs`` refer to, in the order of their bytes (the order ``sorted``
    gives the records themselves), read one at a time: ``head(ref)`` is the record's first
    bytes (the same number for every ref, or the whole record when it is shorter), which
    order the refs; ``read(ref)`` makes the record. Refs whose heads tie are read together
    and their records sorted whole."""
    for _, tied in itertools.groupby(sorted(refs, key=head), key=head):
        tied = list(tied)
        if len(tied) == 1:
            yield read(tied[0])
        else:
            yield from sorted(read(ref) for ref in tied)


def index_path(shard_path: str) -> str:
    """Where a shard's index lives: beside it, ``.tfrecord`` (``.tar``) replaced by
    ``.index``."""
    base = shard_path
    for suffix in (TFRECORD_SUFFIX, TAR_SUFFIX):
        if shard_path.endswith(suffix):
            base = shard_path[: -len(suffix)]
    return base + ".index"


def write_index(shard_path: str) -> tuple[int, int]:
    """Write the shard's ``tfrecord`` index file; return (record count, shard bytes)."""
    lines, size = [], 0
    for offset, total, _ in iter_record_spans(shard_path):
        lines.append(f"{offset} {total}\n")
        size = offset + total
    if is_tar(shard_path):  # the tar's end-of-archive blocks and padding
        size = filesystems().match([shard_path])[0].metadata_list[0].size_in_bytes
    with filesystems().create(index_path(shard_path), mime_type="text/plain") as out:
        out.write("".join(lines).encode("ascii"))
    return len(lines), size


def match_shards(pattern: str) -> list[str]:
    """Sorted shard paths matching a glob (local or ``gs://``); a job's output folder (or
    its ``dataset.json``) means the shards of its published run, exactly; another directory
    means ``<dir>/*.tfrecord`` (or, with none, ``<dir>/*.tar``)."""
    from transforms.output.layout import published

    if "*" not in pattern:
        doc = published(pattern)
        if doc is not None:
            return sorted(row["path"] for row in doc["shards"])
    if not pattern.endswith((TFRECORD_SUFFIX, TAR_SUFFIX)) and "*" not in pattern:
        folder = pattern.rstrip("/")
        found = filesystems().match([folder + "/*" + TFRECORD_SUFFIX])[0].metadata_list
        if not found:
            found = filesystems().match([folder + "/*" + TAR_SUFFIX])[0].metadata_list
        return sorted(m.path for m in found)
    result = filesystems().match([pattern])[0]
    return sorted(m.path for m in result.metadata_list)
