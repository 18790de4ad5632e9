"""Build a HACS-style clip dataset: videos in, sharded TFRecord clips and a run report out.

    python -m pipelines.build_dataset --input videos.csv --output out/run1
    python -m pipelines.build_dataset --input 'gs://bucket/videos/*.mp4' --output gs://b/out \
        --runner DataflowRunner --project P --region R --temp_location gs://b/tmp \
        --setup_file ./setup.py

Every Beam option passes through to the runner. The manifest is read and checked before the
job starts; every input video ends in ``videos.jsonl`` as kept, dropped or failed.
"""

from __future__ import annotations

import json
import logging
import sys
import time

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, SetupOptions

from transforms import clips
from transforms.manifest import ManifestError, load_inputs
from transforms.report import summary_text
from transforms.run_report import WriteRunReport
from transforms.sample_clips import OUTCOMES, ClipConfig, ClipJob, SampleClips
from transforms.write_shards import WriteClipShards

STAGES = ("decode", "clips")


class BuildDatasetOptions(PipelineOptions):
    """Options of the dataset job; defaults follow the HACS paper where it gives one."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--input", help="Manifest (.csv or .jsonl with video_id, uri and "
                            "optional label, subset) or a glob / directory of videos, local "
                            "or gs://. Required.")
        parser.add_argument("--output", help="Output directory, local or gs://: shards, "
                            "videos.jsonl, report.json, dataset.json. Required.")
        parser.add_argument("--clip_seconds", type=float, default=clips.CLIP_SECONDS,
                            help="Clip length in seconds (HACS Clips: 2-second clips).")
        parser.add_argument("--clip_stride", type=float, default=clips.CLIP_STRIDE,
                            help="Seconds between clip starts (default = clip length: "
                            "consecutive, non-overlapping clips).")
        parser.add_argument("--frames_per_clip", type=int, default=clips.FRAMES_PER_CLIP,
                            help="Frames stored per clip, evenly spaced (16 over 2 s = 8 fps).")
        parser.add_argument("--short_side", type=int, default=clips.SHORT_SIDE,
                            help="Stored frames are downscaled so the short side is this many "
                            "pixels (128: the C3D/R(2+1)D input convention; never upscaled).")
        parser.add_argument("--jpeg_quality", type=int, default=clips.JPEG_QUALITY,
                            help="JPEG quality of stored frames (0-100).")
        parser.add_argument("--num_shards", type=int, default=8,
                            help="Number of TFRecord shards (fixed, so names are "
                            "deterministic; aim for 100-200 MB per shard at scale).")


def _settings(opts: BuildDatasetOptions) -> dict:
    return {"clip_seconds": opts.clip_seconds, "clip_stride": opts.clip_stride,
            "frames_per_clip": opts.frames_per_clip, "short_side": opts.short_side,
            "jpeg_quality": opts.jpeg_quality, "num_shards": opts.num_shards}


def build(p: beam.Pipeline, opts: BuildDatasetOptions, refs, start_time: float) -> None:
    """Wire the dataset job onto ``p`` for the already-validated input videos ``refs``."""
    labels = sorted({r.label for r in refs if r.label})
    label_ids = {name: i for i, name in enumerate(labels)}
    config = ClipConfig(opts.clip_seconds, opts.clip_stride, opts.frames_per_clip,
                        opts.short_side, opts.jpeg_quality)
    jobs = p | "ListVideos" >> beam.Create([ClipJob(r) for r in refs])
    sampled = jobs | "SampleClips" >> SampleClips(config, label_ids, total=len(refs))
    shards = sampled["records"] | "WriteClipShards" >> WriteClipShards(opts.output,
                                                                       opts.num_shards)
    _ = ({"outcomes": sampled[OUTCOMES], "shards": shards}
         | "WriteRunReport" >> WriteRunReport(opts.output, STAGES, labels, _settings(opts),
                                              start_time))


def _check(opts: BuildDatasetOptions) -> list:
    if not opts.input or not opts.output:
        raise ManifestError("both --input and --output are required")
    if not 0 < opts.clip_seconds or not 0 < opts.clip_stride or opts.frames_per_clip < 1:
        raise ManifestError("--clip_seconds, --clip_stride and --frames_per_clip must be > 0")
    return load_inputs(opts.input)


def run(argv=None, save_main_session=True, test_pipeline=None) -> dict | None:
    """Run the job; return the report (when the runner finished it), else None."""
    start = time.time()
    options = PipelineOptions(argv)
    options.view_as(SetupOptions).save_main_session = save_main_session
    opts = options.view_as(BuildDatasetOptions)
    refs = _check(opts)
    sys.stderr.write(f"[hacs-pipeline] {len(refs)} input videos -> {opts.output}\n")
    p = test_pipeline or beam.Pipeline(options=options)
    build(p, opts, refs, start)
    result = p.run()
    result.wait_until_finish()
    report_path = FileSystems.join(opts.output, "report.json")
    if not FileSystems.exists(report_path):
        return None
    with FileSystems.open(report_path) as f:
        report = json.loads(f.read().decode("utf-8"))
    sys.stderr.write(summary_text(report) + "\n")
    sys.stderr.write(f"report: {report_path}\nper video: "
                     f"{FileSystems.join(opts.output, 'videos.jsonl')}\n")
    return report


def main() -> None:
    logging.getLogger().setLevel(logging.WARNING)
    try:
        run()
    except ManifestError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
