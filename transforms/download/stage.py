"""Beam stage: download each video once (``DownloadVideos``) and account for every one of them
(``WriteDownloadResults``: ``downloads.jsonl``, the manifest the dataset job takes,
``report.json``).

A worker runs up to ``concurrent_downloads`` downloads at once on threads (downloads wait on
the network, not the CPU), shared with its other DoFn instances through one
:class:`WorkerGate` per process, which also spaces out their starts
(``downloads_per_second``). A video an interrupted run downloaded (its record in the work
folder, its file still there) is not fetched again.
"""

from __future__ import annotations

import concurrent.futures
import json
import time

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.shared import Shared
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from transforms.download import layout
from transforms.download.config import DownloadConfig
from transforms.download.download import WorkerGate, committed, download_video
from transforms.download.report import DownloadTally, build_download_report
from transforms.download.sources import manifest_line
from transforms.output.layout import write_json_atomically
from transforms.output.stage import TallyFn
from transforms.progress import NAMESPACE, Progress
from transforms.types import DownloadOutcome, DownloadStatus, DownloadTarget


class _DownloadFn(beam.DoFn):
    """DownloadTarget -> DownloadOutcome, several at once: ``process`` hands a video to the
    worker's threads and yields the downloads that have finished; ``finish_bundle`` waits for
    the rest."""

    def __init__(self, config: DownloadConfig, output: str, work: str, total: int):
        self._config = config
        self._output = output
        self._work = work
        self._total = total
        self._shared = Shared()  # one WorkerGate per worker process, shared by its threads
        self._bytes = Metrics.counter(NAMESPACE, "download_bytes")
        self._resumed = Metrics.counter(NAMESPACE, "downloads_resumed")

    def setup(self):
        cfg = self._config
        self._gate = self._shared.acquire(
            lambda: WorkerGate(cfg.concurrent_downloads, cfg.downloads_per_second))
        self._pool = concurrent.futures.ThreadPoolExecutor(
            cfg.concurrent_downloads, thread_name_prefix="download")
        self._progress = Progress(self._total, "download")
        self._pending: set[concurrent.futures.Future] = set()

    def _done(self, outcome: DownloadOutcome) -> DownloadOutcome:
        """Count a finished video (on the bundle's thread: Beam's metrics are per thread)."""
        Metrics.counter(NAMESPACE, f"downloads_{outcome.status}").inc()
        if outcome.resumed:
            self._resumed.inc()
        if outcome.status == DownloadStatus.FAILED:
            Metrics.counter(NAMESPACE, f"download_failed_{outcome.reason}").inc()
        elif not outcome.resumed:
            self._bytes.inc(outcome.size_bytes)
        self._progress.video_done(outcome.video_id, 0, f"{outcome.status}"
                                  + (f" {outcome.reason}" if outcome.reason else "")
                                  + (" (earlier run)" if outcome.resumed else ""))
        return outcome

    def _finished(self, wait: bool):
        if not self._pending:
            return
        done, self._pending = concurrent.futures.wait(
            self._pending, timeout=None if wait else 0,
            return_when=concurrent.futures.FIRST_COMPLETED if wait else
            concurrent.futures.ALL_COMPLETED)
        for future in done:
            yield self._done(future.result())

    def _download(self, target: DownloadTarget) -> DownloadOutcome:
        """On a worker thread: what an earlier run downloaded, else a download (the record
        is read here too: one request on a bucket)."""
        earlier = committed(self._work, target)
        if earlier is not None:
            return earlier
        return download_video(target, self._config, self._output, self._work, self._gate)

    def process(self, target: DownloadTarget):
        self._pending.add(self._pool.submit(self._download, target))
        yield from self._finished(wait=False)
        # Hold at most two downloads in waiting per thread: the rest of the bundle waits in
        # Beam, where another worker can take it.
        while len(self._pending) >= 2 * self._config.concurrent_downloads:
            yield from self._finished(wait=True)

    def finish_bundle(self):
        while self._pending:
            for outcome in self._finished(wait=True):
                yield WindowedValue(outcome, MIN_TIMESTAMP, [GlobalWindow()])

    def teardown(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


class DownloadVideos(beam.PTransform):
    """PCollection[DownloadTarget] -> PCollection[DownloadOutcome]: every target once,
    downloaded into ``output`` or failed with a reason (``transforms.download.download``);
    downloaded videos are recorded in ``work`` for --resume."""

    def __init__(self, config: DownloadConfig, output: str, work: str, total: int):
        super().__init__()
        self._fn = _DownloadFn(config, output, work, total)

    def expand(self, targets):
        return (targets
                | "Reshuffle" >> beam.Reshuffle()
                | "Download" >> beam.ParDo(self._fn))


class WriteDownloadResults(beam.PTransform):
    """PCollection[DownloadOutcome] -> files in ``run_dir``: ``downloads.jsonl`` (one line
    per video), ``manifest.csv`` (the downloaded videos, as the dataset job reads them) and
    ``report.json`` (counts per status and reason, bytes, tries, ``settings``); the output
    is the report's path."""

    def __init__(self, run_dir: str, settings: dict, start_time: float):
        super().__init__()
        self._run_dir = run_dir
        self._settings = settings
        self._start = start_time

    def expand(self, outcomes):
        (outcomes
         | "OutcomeToJson" >> beam.Map(lambda o: json.dumps(o.to_json_dict(), sort_keys=True))
         | "WriteDownloadsJsonl" >> beam.io.WriteToText(
             FileSystems.join(self._run_dir, layout.DOWNLOADS), num_shards=1,
             shard_name_template=""))
        (outcomes
         | "Downloaded" >> beam.Filter(lambda o: o.status == DownloadStatus.DOWNLOADED)
         | "ManifestLine" >> beam.Map(
             lambda o: manifest_line(o.uri, o.video_id, o.classes, o.subset))
         | "WriteManifest" >> beam.io.WriteToText(
             FileSystems.join(self._run_dir, layout.MANIFEST), num_shards=1,
             shard_name_template="", header=",".join(layout.MANIFEST_COLUMNS)))
        return (outcomes
                | "Tally" >> beam.CombineGlobally(TallyFn(DownloadTally))
                | "WriteReport" >> beam.Map(self._write))

    def _write(self, tally: DownloadTally) -> str:
        report = build_download_report(tally, time.time() - self._start, self._settings)
        path = FileSystems.join(self._run_dir, layout.REPORT)
        write_json_atomically(path, report)
        return path
