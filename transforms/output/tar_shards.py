"""WebDataset shards: the clip records as samples of a ``.tar`` file (local or gs://). No Beam.

One sample per clip, its members named ``KEY.<field>``, where KEY is the clip id with "%",
"." and "/" percent-encoded (WebDataset groups a tar's files into samples by the name up to
its first dot):

- ``KEY.json``: every field of the record but its media (ids, times, size, frame
  ``timestamps``, ``codec``, labels, shot and person score), keys sorted;
- ``KEY.mp4``: an h264 clip's video; or ``KEY.f000.jpg``, ``KEY.f001.jpg``, ...: a jpeg
  clip's frames.

The bytes depend on the records alone (GNU tar headers with mtime 0, uid/gid 0, no user or
group names, mode 0644), so the same records make the same file. A sample read back is the
same ``tf.train.Example`` bytes the TFRecord shard holds (:func:`iter_tar_records`), so every
reader of records reads either format.
"""

from __future__ import annotations

import io
import itertools
import json
import tarfile
from collections.abc import Iterable, Iterator

from transforms.files import filesystems, open_binary
from transforms.output.records import ClipRecord, from_example, to_example

TAR_SUFFIX = ".tar"
_MEDIA = ("frames", "video")
_BLOCK = tarfile.BLOCKSIZE


def sample_key(clip_id: str) -> str:
    """The WebDataset key of a clip: its id with "%", "." and "/" percent-encoded (so no two
    ids share a key; YouTube ids have none of them)."""
    return clip_id.replace("%", "%25").replace(".", "%2E").replace("/", "%2F")


def sample_members(record: ClipRecord) -> list[tuple[str, bytes]]:
    """The ``(name, bytes)`` members of one record's sample, in the order written."""
    key = sample_key(record.clip_id)
    fields = {name: getattr(record, name) for name in ClipRecord.__dataclass_fields__
              if name not in _MEDIA}
    fields["timestamps"] = list(fields["timestamps"])
    fields["num_frames"] = record.num_frames
    members = [(f"{key}.json", json.dumps(fields, sort_keys=True,
                                          separators=(",", ":")).encode("utf-8"))]
    if record.codec == "jpeg":
        members += [(f"{key}.f{i:03d}.jpg", frame) for i, frame in enumerate(record.frames)]
    else:
        members.append((f"{key}.mp4", record.video))
    return members


def record_of_sample(members: dict[str, bytes]) -> ClipRecord:
    """The :class:`ClipRecord` of one sample's members (``field -> bytes``, the name less
    its key and first dot)."""
    fields = json.loads(members["json"])
    fields.pop("num_frames", None)
    fields["timestamps"] = tuple(fields["timestamps"])
    frames = tuple(members[name] for name in sorted(n for n in members if n.endswith(".jpg")))
    return ClipRecord(**fields, frames=frames, video=members.get("mp4", b""))


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_tar(path: str, payloads: Iterable[bytes]) -> int:
    """Write the records ``payloads`` (``tf.train.Example`` bytes, in order) as a
    WebDataset ``.tar``; return how many."""
    n = 0
    with filesystems().create(path, mime_type="application/x-tar") as out, \
            tarfile.open(fileobj=out, mode="w|", format=tarfile.GNU_FORMAT) as tar:
        for payload in payloads:
            for name, data in sample_members(from_example(payload)):
                tar.addfile(_member(name, len(data)), io.BytesIO(data))
            n += 1
    return n


def _samples(f) -> Iterator[tuple[int, int, dict[str, bytes]]]:
    """``(offset, length, members)`` of each sample of the open tar ``f``, from its position:
    offset and length in bytes of the sample's headers and data."""
    start = f.tell()
    key, members, first, end = None, {}, 0, 0
    with tarfile.open(fileobj=f, mode="r|") as tar:
        for info in tar:
            if not info.isfile():
                continue
            base = info.name.rsplit("/", 1)[-1]
            name_key, _, field = base.partition(".")
            if name_key != key:
                if key is not None:
                    yield start + first, end - first, members
                key, members, first = name_key, {}, info.offset
            members[field] = tar.extractfile(info).read()
            end = info.offset_data + -(-info.size // _BLOCK) * _BLOCK
        if key is not None:
            yield start + first, end - first, members


def iter_tar_spans(path: str) -> Iterator[tuple[int, int, bytes]]:
    """``(offset, length, record bytes)`` of each sample of a WebDataset ``.tar`` shard."""
    with open_binary(path) as f:
        for offset, length, members in _samples(f):
            yield offset, length, to_example(record_of_sample(members))


def sample_record(entry: bytes) -> ClipRecord:
    """The record of one sample from its bytes in the tar (``offset``, ``length`` of
    :func:`iter_tar_spans` or the shard's index)."""
    for _, _, members in _samples(io.BytesIO(entry)):
        return record_of_sample(members)
    raise ValueError("no tar sample in these bytes")


def iter_tar_records(path: str, start: int = 0, stop: int | None = None,
                     offsets: list[int] | None = None) -> Iterator[bytes]:
    """The records (``tf.train.Example`` bytes) of samples ``start`` up to ``stop`` of a
    ``.tar`` shard; read from the first one's offset when ``offsets`` (from the index) are
    given, otherwise skipped to."""
    with open_binary(path) as f:
        if offsets is not None and start:
            if start >= len(offsets):
                return
            f.seek(offsets[start])
            samples = _samples(f)
            count = None if stop is None else stop - start
        else:
            samples = itertools.islice(_samples(f), start, stop)
            count = None
        for _, _, members in itertools.islice(samples, count):
            yield to_example(record_of_sample(members))
