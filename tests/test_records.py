import numpy as np
import pytest
from tfrecord import example_pb2

from transforms.jpeg import decode_jpeg, encode_jpeg
from transforms.output.records import (
    NEGATIVE,
    ClipRecord,
    from_example,
    make_clip_id,
    to_example,
    with_annotation,
)


def _clip(**kw):
    image = np.zeros((8, 12, 3), np.uint8)
    image[:, :6] = (0, 0, 255)
    base = dict(video_id="v1", clip_id=make_clip_id("v1", 2.0, 4.0), source_uri="gs://b/v1.mp4",
                start=2.0, end=4.0, fps=8.0, height=8, width=12,
                frames=(encode_jpeg(image), encode_jpeg(image[::-1])), timestamps=(2.0, 2.125),
                label_id=3, label_name="Archery", subset="training", shot_index=2,
                person_score=0.75)
    base.update(kw)
    return ClipRecord(**base)


def test_round_trip_and_ids():
    clip = _clip()
    assert clip.clip_id == "v1_000002000_000004000"
    back = from_example(to_example(clip))
    assert back == clip
    assert back.num_frames == 2


def test_plain_tf_example_fields():
    ex = example_pb2.Example()
    ex.ParseFromString(to_example(_clip()))
    f = ex.features.feature
    assert f["num_frames"].int64_list.value == [2]
    assert f["label_name"].bytes_list.value == [b"Archery"]
    assert list(f["timestamps"].float_list.value) == [2.0, 2.125]
    assert decode_jpeg(f["frames"].bytes_list.value[0])[0, 0, 2] > 240  # red stays red (BGR)


def test_with_annotation():
    back = from_example(with_annotation(to_example(_clip()), NEGATIVE))
    assert back.annotation == -1 and back.label_name == "Archery"
    with pytest.raises(ValueError):
        with_annotation(to_example(_clip()), 2)


def test_write_records_reads_back_with_index(tmp_path):
    from tfrecord.reader import tfrecord_loader

    from transforms.output.shards import iter_records, write_index, write_records

    path = str(tmp_path / "s.tfrecord")
    payloads = [to_example(_clip(start=float(i), end=float(i + 2))) for i in range(3)]
    assert write_records(path, payloads) == 3
    assert list(iter_records(path)) == payloads
    assert write_index(path) == (3, (tmp_path / "s.tfrecord").stat().st_size)
    # the tfrecord package (its own reader, CRC-framed) agrees
    rows = list(tfrecord_loader(path, str(tmp_path / "s.index"), None))
    assert [bytes(r["video_id"]) for r in rows] == [b"v1"] * 3
