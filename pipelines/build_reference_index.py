"""Build a reference fingerprint index: the videos a dataset must not contain (for HACS: the
validation/test videos of Kinetics, ActivityNet, UCF101, HMDB51), one index per set.

    python -m pipelines.build_reference_index --index_input ucf101_test.csv \\
        --index_output gs://bucket/refs/ucf101 [--index_precomputed more.jsonl] [runner options]

Writes ``<output>/fingerprints-SSSSS-of-NNNNN.jsonl`` (one ``VideoFingerprint.to_json`` per
line: the format ``DropNearDuplicates`` and ``--reference NAME=<output>`` read) and
``<output>/failures.jsonl`` (one ``{"video_id", "uri", "reason", "message"}`` per video that
could not be fingerprinted). A bad video never stops the job: it is counted
(``reference_index/failed_<reason>``) and listed.

Options are prefixed ``--index_`` because Beam parses every ``PipelineOptions`` subclass
loaded in a process together: plain ``--input``/``--output`` would clash with the main
pipeline's when both are imported (as in the test suite).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines import cli
from transforms.analyze.decode import VideoError
from transforms.dedup.fingerprint import FINGERPRINT_FPS, HASHERS, fingerprint_video
from transforms.dedup.stage import WriteFingerprintIndex
from transforms.inputs.manifest import load_inputs
from transforms.threads import one_blas_thread
from transforms.types import DEFAULT_KIND, Reason, Tag, VideoFingerprint, VideoRef

NAMESPACE = "reference_index"  # Beam Metrics namespace of the job's counters


class ReferenceIndexOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument(
            "--index_input", default=None,
            help="Reference videos: a manifest (.csv with a header or .jsonl, columns "
                 "video_id, uri) or a glob / folder of video files (local or gs://).")
        parser.add_argument(
            "--index_precomputed", action="append", default=[],
            help="JSON Lines file(s)/glob of fingerprints already computed (one "
                 "VideoFingerprint.to_json object per line, see docs/dedup.md); repeatable. "
                 "Added to the index as they are.")
        parser.add_argument(
            "--index_output", default=None,
            help="Index folder (local or gs://): fingerprints-*.jsonl and failures.jsonl.")
        parser.add_argument(
            "--index_fps", type=float, default=FINGERPRINT_FPS,
            help="Frames hashed per second of video: give the dataset job's --dedup_fps.")
        parser.add_argument(
            "--index_hash", default=DEFAULT_KIND, choices=sorted(HASHERS),
            help="Frame hash: give the dataset job's --dedup_hash (phash256 fingerprints "
                 "carry their crop-variant hashes).")
        parser.add_argument(
            "--index_shards", type=int, default=0,
            help="Index shards to write (0: let the runner decide).")


class FingerprintRefs(beam.DoFn):
    """VideoRef -> VideoFingerprint; failures go to the ``failed`` output as dicts."""

    def __init__(self, fps: float, kind: str):
        self._fps = fps
        self._kind = kind
        self._done = Metrics.counter(NAMESPACE, "fingerprinted")

    def setup(self):
        one_blas_thread()

    def process(self, ref: VideoRef) -> Iterator:
        try:
            fp = fingerprint_video(ref.video_id, ref.uri, fps=self._fps, kind=self._kind)
        except VideoError as exc:
            reason, message = exc.reason, exc.message
        except Exception as exc:  # noqa: BLE001 - any decoder failure is data, not a crash
            reason, message = Reason.ERROR, f"{type(exc).__name__}: {exc}"
        else:
            self._done.inc()
            yield fp
            return
        Metrics.counter(NAMESPACE, f"failed_{reason}").inc()
        yield beam.pvalue.TaggedOutput(Tag.FAILED, {"video_id": ref.video_id, "uri": ref.uri,
                                                    "reason": reason, "message": message})


def _check_precomputed(line: str):
    try:
        fp = VideoFingerprint.from_json(line)
    except (ValueError, KeyError, TypeError) as exc:
        Metrics.counter(NAMESPACE, "failed_bad_precomputed").inc()
        yield beam.pvalue.TaggedOutput(Tag.FAILED, {"video_id": "", "uri": "",
                                                    "reason": "bad_precomputed",
                                                    "message": f"{exc}: {line[:200]}"})
        return
    Metrics.counter(NAMESPACE, "precomputed").inc()
    yield fp


def build_pipeline(p: beam.Pipeline, opts: ReferenceIndexOptions) -> None:
    """Add the index-building steps to ``p``."""
    parts, failures = [], []
    if opts.index_input:
        refs = load_inputs(opts.index_input)
        result = (p
                  | "ListVideos" >> beam.Create(refs)
                  | "Spread" >> beam.Reshuffle()
                  | "Fingerprint" >> beam.ParDo(
                      FingerprintRefs(opts.index_fps, opts.index_hash))
                  .with_outputs(Tag.FAILED, main="fingerprints"))
        parts.append(result.fingerprints)
        failures.append(result[Tag.FAILED])
    for i, pattern in enumerate(opts.index_precomputed):
        result = (p
                  | f"ReadPrecomputed{i}" >> beam.io.ReadFromText(pattern)
                  | f"CheckPrecomputed{i}" >> beam.FlatMap(_check_precomputed)
                  .with_outputs(Tag.FAILED, main="fingerprints"))
        parts.append(result.fingerprints)
        failures.append(result[Tag.FAILED])
    if not parts:
        raise ValueError("give --index_input and/or --index_precomputed")
    if not opts.index_output:
        raise ValueError("give --index_output (the index folder)")
    if opts.index_fps <= 0 or opts.index_shards < 0:
        raise ValueError("--index_fps must be > 0 and --index_shards >= 0")
    out = opts.index_output.rstrip("/")
    (tuple(parts)
     | "AllFingerprints" >> beam.Flatten()
     | "WriteIndex" >> WriteFingerprintIndex(out, opts.index_shards))
    (tuple(failures)
     | "AllFailures" >> beam.Flatten()
     | "FailureJson" >> beam.Map(lambda row: json.dumps(row, sort_keys=True))
     | "WriteFailures" >> beam.io.WriteToText(f"{out}/failures", file_name_suffix=".jsonl",
                                              shard_name_template=""))


def run(argv=None, save_main_session=True, test_pipeline=None):
    """Build the index; returns the PipelineResult (finished). An option neither this job
    nor Beam knows raises ValueError before anything runs."""
    options, opts = cli.job_options(argv, ReferenceIndexOptions, save_main_session)
    p = test_pipeline or beam.Pipeline(options=options)
    build_pipeline(p, opts)
    result = p.run()
    result.wait_until_finish()
    return result


def main() -> None:
    cli.main(run, "python -m pipelines.build_reference_index", __doc__, ReferenceIndexOptions,
             errors=(ValueError,))


if __name__ == "__main__":
    main()
