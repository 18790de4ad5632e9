"""The work folder's key (what ``--resume`` re-uses per-video results by) is computed from the
analysis parts' configs: every field of every part config changes it, and options that do not
change a video's results keep it."""

from __future__ import annotations

import copy
from dataclasses import fields, is_dataclass

import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.build_dataset import BuildDatasetOptions, JobConfig, analysis_parts
from transforms.analyze.results import work_folder

ROOT = "/out/work"


def parts_for(*args: str):
    opts = PipelineOptions(["--input", "in.csv", "--output", "/out", *args]).view_as(
        BuildDatasetOptions)
    return analysis_parts(JobConfig.from_options(opts))


def key(parts) -> str:
    return work_folder(ROOT, parts)


def changed(value):
    """Another value of the same kind (validation is bypassed: only the key is computed)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 0.25
    if isinstance(value, str):
        return value + "-other"
    if isinstance(value, tuple):
        return (*value, value[0]) if value else (1,)
    if value is None:
        return "set"
    raise AssertionError(f"no other value for {value!r}: extend changed()")


def with_field(obj, name: str, value):
    out = copy.copy(obj)
    object.__setattr__(out, name, value)
    return out


def each_change(obj, path=()):
    """(field path, obj with that one field changed) for every field, nested ones included."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        if is_dataclass(value):
            for inner, new in each_change(value, (*path, f.name)):
                yield inner, with_field(obj, f.name, new)
        else:
            yield (*path, f.name), with_field(obj, f.name, changed(value))


# the default job, and TransNetV2 (whose config has fields of its own)
JOBS = {"default": (), "transnetv2": ("--shot_detector", "transnetv2")}


@pytest.mark.parametrize("job", JOBS)
def test_every_field_of_every_part_config_changes_the_key(job):
    parts = parts_for(*JOBS[job])
    assert [p.name for p in parts] == ["fingerprints", "shots", "shot_frames", "clips",
                                       "thumbnails"]
    base = key(parts)
    checked = []
    for i, part in enumerate(parts):
        for path, config in each_change(part.config):
            other = copy.copy(part)
            other.config = config
            assert key([*parts[:i], other, *parts[i + 1:]]) != base, (part.name, path)
            checked.append((part.name, *path))
    assert len(checked) >= 20 and ("fingerprints", "crop_variants") in checked
    assert ("shots", "histogram", "threshold") in checked


@pytest.mark.parametrize("args", [
    ["--dedup_crop_variants", "off"], ["--dedup_fps", "1"],
    ["--clip_seconds", "1"], ["--frames_per_clip", "8"], ["--short_side", "64"],
    ["--jpeg_quality", "80"], ["--shot_threshold", "0.4"], ["--min_shot_seconds", "1"],
    ["--person_frame_positions", "0.5"], ["--shot_detector", "transnetv2"],
    ["--skip_dedup"], ["--skip_person_filter"],
], ids=lambda a: a[0])
def test_options_that_change_results_change_the_key(args):
    assert key(parts_for(*args)) != key(parts_for())


@pytest.mark.parametrize("args", [
    ["--num_shards", "3"], ["--person_threshold", "0.7"], ["--dedup_distance", "20"],
    ["--dedup_contain", "0.6"], ["--dedup_key_budget", "64"], ["--reference", "k=/refs"],
    ["--max_decode_seconds", "60"], ["--max_video_seconds", "60"],
    ["--detector_max_batch_size", "4"], ["--keep_work"], ["--direct_num_workers", "2"],
    ["--output", "/elsewhere"],
], ids=lambda a: a[0])
def test_options_that_do_not_change_results_keep_the_key(args):
    assert key(parts_for(*args)) == key(parts_for())
