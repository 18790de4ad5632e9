"""PyTorch loader for the clip shards: an IterableDataset over a shard glob (local or gs://).

How the records of an epoch are split between distributed ranks and DataLoader workers
(``split``):

- ``"even"`` (the default): every rank gets the same number of samples, so no rank of a
  DDP job waits at the end of an epoch for another. The records, in shard order (shuffled
  per epoch with ``shuffle_buffer``), are cut into ``world_size`` contiguous runs of equal
  length, counted from the shards' ``.index`` files; the few left over are repeated from
  the start (``leftover="repeat"``, like PyTorch's ``DistributedSampler``) or dropped
  (``leftover="drop"``). Each rank's run is cut again between its workers (sizes within
  one), read by offset from the index. With one rank every record is read once.
- ``"exact"``: every record exactly once per epoch across all ranks and workers (for
  evaluation): the same contiguous cut with nothing repeated or dropped, so ranks differ by
  at most one record.

Either way each reader (a worker of a rank) reads its run by offset from the shards, so
every record of an epoch is read from storage once (or twice, the few repeated).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from transforms.clips.codec import clip_frames
from transforms.output.records import ClipRecord, from_example
from transforms.output.shards import iter_records_range, match_shards, record_count

SAMPLINGS = ("all", "uniform", "random")
SPLITS = ("even", "exact")
LEFTOVERS = ("repeat", "drop")


def even_share(total: int, world: int, rank: int, leftover: str = "repeat") -> list[range]:
    """The record positions (0 .. ``total`` - 1, as ranges) that ``rank`` of ``world`` reads
    so every rank reads the same number: contiguous runs of ``ceil(total / world)`` with the
    positions past the end taken again from the start (``leftover`` "repeat"), or of
    ``total // world`` with the rest unread ("drop")."""
    if leftover not in LEFTOVERS:
        raise ValueError(f"leftover must be one of {LEFTOVERS}, not {leftover!r}")
    if total <= 0:
        return []
    per = -(-total // world) if leftover == "repeat" else total // world
    start = (rank * per) % total
    if start + per <= total:
        return [range(start, start + per)] if per else []
    return [range(start, total), range(0, start + per - total)]


def split_ranges(ranges: list[range], parts: int, part: int) -> list[range]:
    """Part ``part`` of ``parts`` contiguous pieces of the positions ``ranges`` hold in
    order (piece sizes within one)."""
    total = sum(len(r) for r in ranges)
    lo, hi = part * total // parts, (part + 1) * total // parts
    out, seen = [], 0
    for r in ranges:
        a, b = max(lo - seen, 0), min(hi - seen, len(r))
        if a < b:
            out.append(r[a:b])
        seen += len(r)
    return out


def frame_indices(stored: int, num_frames: int | None, sampling: str,
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """Which of ``stored`` frames to return: "all"; "uniform" = ``num_frames`` evenly spaced
    (repeating frames when more are asked than stored); "random" = a sorted random choice,
    with replacement only when ``num_frames`` > ``stored``."""
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, not {sampling!r}")
    if sampling == "all" or num_frames is None:
        return np.arange(stored)
    if sampling == "uniform":
        return np.floor((np.arange(num_frames) + 0.5) * stored / num_frames).astype(int)
    rng = rng if rng is not None else np.random.default_rng()
    return np.sort(rng.choice(stored, num_frames, replace=num_frames > stored))


def clip_to_sample(clip: ClipRecord, indices: Sequence[int] | None = None) -> dict:
    """A training sample: ``frames`` uint8 tensor [T, H, W, 3] in RGB, their ``timestamps``
    (float tensor [T]), plus the record's ids, times and labels (``label`` = label id, -1
    unknown; ``annotation`` 1 / -1 / 0). Only the frames at ``indices`` (default all) are
    decoded, each once (an h264 clip up to the last of them), whatever the record's codec."""
    indices = range(clip.num_frames) if indices is None else [int(i) for i in indices]
    frames = np.stack([image[:, :, ::-1] for image in clip_frames(clip, indices)])
    return {"frames": torch.from_numpy(np.ascontiguousarray(frames)),
            "timestamps": torch.tensor([clip.timestamps[i] for i in indices],
                                       dtype=torch.float32),
            "label": clip.label_id, "label_name": clip.label_name,
            "annotation": clip.annotation, "clip_id": clip.clip_id,
            "video_id": clip.video_id, "start": clip.start, "end": clip.end,
            "person_score": clip.person_score}


def _distributed() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


class ClipShardDataset(IterableDataset):
    """Iterate the clips of ``pattern``: a job's output folder (or its ``dataset.json``), a
    shard glob, or a list of those (several runs read as one dataset, each record once).

    ``rank`` / ``world_size`` default to torch.distributed (or the RANK / WORLD_SIZE
    environment). ``shuffle_buffer`` > 0 shuffles shard order and records within a buffer of
    that many records, seeded by ``seed`` and the epoch (call :meth:`set_epoch`).
    ``transform`` maps each sample dict (e.g. crop and normalise frames) before it is yielded.
    ``decode=False`` yields the :class:`ClipRecord` itself (JPEG bytes, nothing decoded).
    ``num_frames`` / ``sampling`` pick the frames returned (only those are decoded): "all"
    (default) every stored frame; "uniform" ``num_frames`` evenly spaced; "random" a sorted
    random choice, with replacement only when ``num_frames`` exceeds the stored frames, seeded
    by (``seed``, epoch, rank, worker, record index) so a run is reproducible.
    ``split`` / ``leftover``: how ranks and workers share the records (module docstring):
    "even" (default; ``leftover`` "repeat" or "drop") or "exact". ``len()`` is the samples
    this rank reads per epoch. The shards' record counts are read once, here, so DataLoader
    workers start from them rather than each reading every index again.
    """

    def __init__(self, pattern: str | Sequence[str], shuffle_buffer: int = 0, seed: int = 0,
                 rank: int | None = None, world_size: int | None = None,
                 transform: Callable[[dict], dict] | None = None, decode: bool = True,
                 num_frames: int | None = None, sampling: str = "all", split: str = "even",
                 leftover: str = "repeat"):
        super().__init__()
        frame_indices(1, num_frames, sampling, np.random.default_rng(0))
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
        if leftover not in LEFTOVERS:
            raise ValueError(f"leftover must be one of {LEFTOVERS}, not {leftover!r}")
        self.split, self.leftover = split, leftover
        sources = [pattern] if isinstance(pattern, str) else list(pattern)
        self.shards = sorted({s for source in sources for s in match_shards(source)})
        if not self.shards:
            raise FileNotFoundError(f"no TFRecord shards match {pattern}")
        # one small read per shard, in threads: a bucket's hundreds of shards would otherwise
        # cost hundreds of round trips one after another
        with ThreadPoolExecutor(max_workers=min(16, len(self.shards))) as pool:
            self._counts = dict(zip(self.shards, pool.map(record_count, self.shards),
                                    strict=True))
        self.shuffle_buffer = shuffle_buffer
        self.seed = seed
        self.epoch = 0
        self.rank, self.world_size = rank, world_size
        self.transform = transform
        self.decode = decode
        self.num_frames, self.sampling = num_frames, sampling

    def set_epoch(self, epoch: int) -> None:
        """Change the shuffle order for the next pass (same order for the same epoch)."""
        self.epoch = epoch

    def _rank(self) -> tuple[int, int]:
        rank, world = _distributed()
        rank = self.rank if self.rank is not None else rank
        world = self.world_size if self.world_size is not None else world
        return rank, world

    def _reader(self) -> tuple[int, int]:
        """This reader's number (``rank * num_workers + worker_id``) and how many there are."""
        rank, world = self._rank()
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info else (1, 0)
        return rank * workers + worker, world * workers

    def _shard_order(self) -> list[str]:
        shards = list(self.shards)
        if self.shuffle_buffer:
            random.Random(self.seed + self.epoch).shuffle(shards)
        return shards

    def _positions(self) -> list[range]:
        """The record positions (in this epoch's shard order) this rank reads."""
        rank, world = self._rank()
        total = sum(self._counts.values())
        if self.split == "exact":
            return split_ranges([range(total)], world, rank)
        return even_share(total, world, rank, self.leftover)

    def __len__(self) -> int:
        return sum(len(r) for r in self._positions())

    def _records(self) -> Iterator[bytes]:
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info else (1, 0)
        shards = self._shard_order()
        for positions in split_ranges(self._positions(), workers, worker):
            first = 0
            for shard in shards:
                count = self._counts[shard]
                a, b = max(positions.start - first, 0), min(positions.stop - first, count)
                if a < b:
                    yield from iter_records_range(shard, a, b)
                first += count

    def _shuffled(self, records: Iterator[bytes], reader: int) -> Iterator[bytes]:
        if not self.shuffle_buffer:
            yield from records
            return
        rng = random.Random((self.seed + self.epoch) * 100003 + reader)
        buffer: list[bytes] = []
        for record in records:
            if len(buffer) < self.shuffle_buffer:
                buffer.append(record)
                continue
            i = rng.randrange(len(buffer))
            buffer[i], record = record, buffer[i]
            yield record
        rng.shuffle(buffer)
        yield from buffer

    def __iter__(self) -> Iterator:
        reader, readers = self._reader()
        for n, data in enumerate(self._shuffled(self._records(), reader)):
            clip = from_example(data)
            if not self.decode:
                yield clip
                continue
            rng = np.random.default_rng([self.seed, self.epoch, reader, readers, n])
            indices = frame_indices(clip.num_frames, self.num_frames, self.sampling, rng)
            sample = clip_to_sample(clip, indices)
            yield self.transform(sample) if self.transform else sample
