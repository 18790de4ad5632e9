from collections import Counter

import pytest
import torch
from torch.utils.data import DataLoader

from models.clip_dataset import ClipShardDataset, even_share, split_ranges
from tests.conftest import run_dir
from transforms.output.records import from_example
from transforms.output.shards import iter_records, match_shards


def _all_clip_ids(out):
    return sorted(from_example(r).clip_id for s in match_shards(run_dir(out))
                  for r in iter_records(s))


@pytest.mark.parametrize("world, workers", [(2, 2), (1, 2), (3, 1)],
                         ids=["2ranks-x-2workers", "1rank-x-2workers", "3ranks"])
def test_each_record_exactly_once_per_epoch(built_dataset, world, workers):
    out = built_dataset[0]
    seen, per_rank = Counter(), []
    for rank in range(world):
        ds = ClipShardDataset(out, rank=rank, world_size=world, decode=False, split="exact")
        loader = DataLoader(ds, batch_size=None, num_workers=workers, collate_fn=lambda x: x)
        ids = [c.clip_id for c in loader]
        assert len(ids) == len(ds)
        per_rank.append(len(ids))
        seen.update(ids)
    assert sorted(seen.elements()) == _all_clip_ids(out)
    assert max(seen.values()) == 1
    assert max(per_rank) - min(per_rank) <= 1  # however uneven the shards (here 4, 6, 4)


@pytest.mark.parametrize("leftover", ["repeat", "drop"])
@pytest.mark.parametrize("world, workers, shuffle", [(2, 2, 0), (3, 2, 4), (4, 1, 0), (5, 2, 0)],
                         ids=["2ranks-x-2workers", "3ranks-x-2workers-shuffled", "4ranks",
                              "5ranks-x-2workers"])
def test_even_split_gives_every_rank_the_same_count(built_dataset, world, workers, shuffle,
                                                    leftover):
    """The default split: equal samples per rank whatever the shard sizes (the demo's three
    shards are uneven), each record at most once plus the few repeated (or dropped) to even
    the ranks out, every record read when repeating; len() says the count."""
    out = built_dataset[0]
    total = len(_all_clip_ids(out))
    per_rank, seen = [], Counter()
    for rank in range(world):
        ds = ClipShardDataset(out, rank=rank, world_size=world, decode=False,
                              shuffle_buffer=shuffle, leftover=leftover)
        loader = DataLoader(ds, batch_size=None, num_workers=workers, collate_fn=lambda x: x)
        ids = [c.clip_id for c in loader]
        assert len(ids) == len(ds)
        per_rank.append(len(ids))
        seen.update(ids)
    assert len(set(per_rank)) == 1
    if leftover == "repeat":
        assert per_rank[0] == -(-total // world) and set(seen) == set(_all_clip_ids(out))
        assert sum(seen.values()) - total == per_rank[0] * world - total < world
    else:
        assert per_rank[0] == total // world and max(seen.values()) == 1
        assert total - len(seen) < world


@pytest.mark.parametrize("world, batch_size", [(2, 4), (5, 2)])
def test_even_split_gives_every_rank_the_same_batches(built_dataset, world, batch_size):
    """What DDP needs: each rank's DataLoader (2 workers, each batching its own share) makes
    as many batches as every other rank's."""
    batches = []
    for rank in range(world):
        ds = ClipShardDataset(built_dataset[0], rank=rank, world_size=world, decode=False)
        loader = DataLoader(ds, batch_size=batch_size, num_workers=2, collate_fn=list)
        batches.append([len(b) for b in loader])
    assert all(sorted(b) == sorted(batches[0]) for b in batches)


def test_even_split_is_the_same_on_every_pass_and_shuffles_per_epoch(built_dataset):
    out = built_dataset[0]

    def ids(epoch, rank):
        ds = ClipShardDataset(out, rank=rank, world_size=2, decode=False, shuffle_buffer=4,
                              seed=5)
        ds.set_epoch(epoch)
        return [c.clip_id for c in ds]
    assert ids(0, 0) == ids(0, 0) != ids(1, 0)
    assert ids(0, 1) == ids(0, 1)


def test_even_share_arithmetic():
    assert even_share(10, 3, 0) == [range(0, 4)]
    assert even_share(10, 3, 2) == [range(8, 10), range(0, 2)]
    assert even_share(10, 3, 2, "drop") == [range(6, 9)]
    assert even_share(2, 4, 3) == [range(1, 2)]
    assert even_share(0, 2, 1) == []
    parts = [split_ranges([range(8, 10), range(0, 2)], 3, k) for k in range(3)]
    assert [[i for p in part for i in p] for part in parts] == [[8], [9], [0, 1]]
    with pytest.raises(ValueError, match="split must be one of"):
        ClipShardDataset("x", split="half")


def test_samples_are_rgb_uint8_tensors(built_dataset):
    ds = ClipShardDataset(built_dataset[0])
    sample = next(iter(ds))
    frames = sample["frames"]
    clip = next(iter(ClipShardDataset(built_dataset[0], decode=False)))
    assert frames.dtype == torch.uint8 and frames.shape[3] == 3
    assert frames.shape[0] == clip.num_frames == len(clip.timestamps) >= 16
    assert min(frames.shape[1:3]) == 128
    assert isinstance(sample["clip_id"], str) and sample["label"] in (-1, 0, 1)


def test_shuffle_buffer_changes_order_per_epoch_but_not_content(built_dataset):
    out = built_dataset[0]
    ds = ClipShardDataset(out, shuffle_buffer=8, seed=1, decode=False)
    first = [c.clip_id for c in ds]
    again = [c.clip_id for c in ds]
    ds.set_epoch(1)
    other = [c.clip_id for c in ds]
    plain = [c.clip_id for c in ClipShardDataset(out, decode=False)]
    assert first == again != other
    assert first != plain
    assert sorted(first) == sorted(other) == _all_clip_ids(out)


def test_transform_applies(built_dataset):
    ds = ClipShardDataset(built_dataset[0],
                          transform=lambda s: {**s, "frames": s["frames"][:, :112, :112]})
    assert next(iter(ds))["frames"].shape[1:3] == (112, 112)


def test_no_shards_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no TFRecord shards match"):
        ClipShardDataset(str(tmp_path))


@pytest.mark.parametrize("sampling", ["uniform", "random"])
@pytest.mark.parametrize("num_frames", [8, 32], ids=["fewer", "more-than-stored"])
def test_sampling_picks_count_and_times(built_dataset, sampling, num_frames):
    out = built_dataset[0]
    clip = next(iter(ClipShardDataset(out, decode=False)))
    sample = next(iter(ClipShardDataset(out, num_frames=num_frames, sampling=sampling)))
    times = sample["timestamps"]
    assert sample["frames"].shape[0] == times.shape[0] == num_frames
    assert bool((times[1:] >= times[:-1]).all())
    assert set(times.tolist()) <= set(torch.tensor(clip.timestamps).tolist())
    if sampling == "uniform":
        stored = torch.tensor(clip.timestamps)
        expected = [int((i + 0.5) * len(stored) / num_frames) for i in range(num_frames)]
        assert times.tolist() == stored[expected].tolist()


def test_random_sampling_reproducible_and_varies_per_epoch(built_dataset):
    def times(epoch):
        ds = ClipShardDataset(built_dataset[0], num_frames=4, sampling="random", seed=3)
        ds.set_epoch(epoch)
        return [s["timestamps"].tolist() for s in ds]
    assert times(0) == times(0) != times(1)


def test_all_sampling_keeps_every_frame(built_dataset):
    out = built_dataset[0]
    clip = next(iter(ClipShardDataset(out, decode=False)))
    sample = next(iter(ClipShardDataset(out)))
    assert sample["timestamps"].tolist() == torch.tensor(clip.timestamps).tolist()
    assert sample["frames"].shape[0] == clip.num_frames


def test_h264_clips_sample_the_same_way(tmp_path):
    """An h264 record (every frame of its 2 s) samples like a JPEG one: 32 frames out of the
    stored ones, decoded only up to the last asked, equal to decoding all and picking."""
    import numpy as np

    from tests.conftest import video
    from tests.media import iter_frames
    from transforms.clips.codec import H264, clip_frames, encode_h264
    from transforms.output.records import ClipRecord, to_example
    from transforms.output.shards import write_index, write_records

    images = [f.image[:128, :172] for f in iter_frames(video("Megamind.avi"))][:48]
    times = [i / 24 for i in range(48)]
    clip = ClipRecord("m", "m_000000000_000002000", "m.avi", 0.0, 2.0, 24.0, 128, 172, (),
                      tuple(times), codec=H264, video=encode_h264(images, times))
    shard = str(tmp_path / "clips-00000-of-00001.tfrecord")
    write_records(shard, [to_example(clip)])
    write_index(shard)
    everything = clip_frames(clip)
    for sampling in ("uniform", "random"):
        sample = next(iter(ClipShardDataset(shard, num_frames=32, sampling=sampling, seed=1)))
        picked = [int(np.abs(np.subtract(times, t)).argmin())
                  for t in sample["timestamps"].tolist()]
        assert sample["frames"].shape == (32, 128, 172, 3) and len(set(picked)) == 32
        want = np.stack([everything[i][:, :, ::-1] for i in picked])
        assert np.array_equal(sample["frames"].numpy(), want)
