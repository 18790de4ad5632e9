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


# Every feature a clip record has, with the tfrecord package's type names (TF's parse spec).
FEATURE_TYPES = {"video_id": "byte", "clip_id": "byte", "source_uri": "byte", "start": "float",
                 "end": "float", "fps": "float", "num_frames": "int", "height": "int",
                 "width": "int", "frames": "byte", "timestamps": "float", "label_id": "int",
                 "label_name": "byte", "subset": "byte", "annotation": "int",
                 "shot_index": "int", "person_score": "float", "schema_version": "int"}


@pytest.mark.parametrize("codec", ["jpeg", "h264"])
def test_job_shards_parse_as_tf_examples_with_the_tfrecord_package(built_dataset, tmp_path,
                                                                   codec):
    """Every record of the job's shards parses with the tfrecord package's own reader (CRC
    framing, Example protos, the types TF would be given), h264 clips (the job's default)
    with their ``codec`` and ``video`` features, jpeg clips without them."""
    from tfrecord.reader import tfrecord_loader

    from tests.conftest import run_dir
    from transforms.output.shards import (
        iter_records,
        match_shards,
        write_index,
        write_records,
    )

    shards = match_shards(run_dir(built_dataset[0]))
    records = [from_example(r) for s in shards for r in iter_records(s)]
    assert records and all(r.codec == "h264" for r in records)
    if codec == "jpeg":  # the same clips as JPEG frames (what --clip_codec jpeg writes)
        from dataclasses import replace

        from transforms.clips.codec import clip_frames

        records = [replace(r, codec="jpeg", video=b"",
                           frames=tuple(encode_jpeg(f) for f in clip_frames(r)))
                   for r in records[:3]]
        path = str(tmp_path / "jpeg.tfrecord")
        write_records(path, [to_example(r) for r in records])
        write_index(path)
        shards = [path]
    types = dict(FEATURE_TYPES, **({"codec": "byte", "video": "byte"} if codec == "h264" else {}))
    rows = [row for s in shards for row in tfrecord_loader(s, None, types)]  # in file order
    assert len(rows) == len(records)
    for row, rec in zip(rows, records, strict=True):
        assert set(row) == set(types)
        assert bytes(row["clip_id"]).decode() == rec.clip_id
        assert list(row["timestamps"]) == pytest.approx(rec.timestamps)
        assert int(row["num_frames"][0]) == rec.num_frames
        if codec == "h264":
            assert bytes(row["codec"]) == b"h264" and bytes(row["video"]) == rec.video
            assert bytes(row["video"])[4:8] == b"ftyp"  # an MP4 file
        else:
            assert len(row["frames"]) == rec.num_frames
