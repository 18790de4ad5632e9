"""Annotation tools: label throughput, preview cost, and labels-back-into-shards speed, each
against a baseline measured in the same run.

    .venv/bin/python -m benchmarks.bench_annotate [--pages 40] [--clients 4] [--records 400]

1. Clip pages (12 clips each) opened and submitted: straight through the Store (baseline),
   over HTTP with one annotator, and over HTTP with --clients annotators at once on the same
   queue, every page leased: with one label per clip, and with two (--labels-per-clip 2:
   each clip to two different annotators). Checked: every clip is labelled exactly that
   many times, by different annotators. Best of --repeat runs; CPU seconds are this
   process's (server and clients).
2. Clip previews: building a film strip from the record in its shard (baseline) vs serving
   it from the server's cache over HTTP.
3. pipelines.apply_labels on the DirectRunner vs a plain Python loop doing the same work
   (read records, match, set the annotation, write TFRecords).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import tempfile
import threading
import time
import urllib.request

from werkzeug.serving import make_server

from annotate.app import create_app
from annotate.media import preview_strip, read_record, scan_shards
from annotate.store import Store
from benchmarks.common import TEST_VIDEOS, timed
from pipelines.apply_labels import matching_rows, run
from tests.media import iter_frames
from transforms.hacs_files import ClipLabel, format_clips_csv, parse_clips_csv
from transforms.jpeg import encode_jpeg
from transforms.output.records import (
    ClipRecord,
    from_example,
    make_clip_id,
    to_example,
    with_annotation,
)
from transforms.output.shards import iter_records, write_records

VIDEO = os.path.join(TEST_VIDEOS, "vtest_a.mp4")
PAGE = 12


def write_shard(path: str, payloads: list[bytes]) -> None:
    write_records(path, payloads)


def post(url: str, body: dict, who: str) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Content-Type": "application/json", "X-Annotator": who, "X-Token": who + "-token"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def get(url: str, who: str) -> bytes:
    req = urllib.request.Request(url, headers={"X-Annotator": who, "X-Token": who + "-token"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read()


def serve(store: Store, root: str):
    httpd = make_server("127.0.0.1", 0, create_app(store, root), threaded=True)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_port}"


def fresh_store(tmp: str, name: str, clips: int, annotators: int,
                labels_per_clip: int = 1) -> Store:
    store = Store(os.path.join(tmp, name), labels_per_clip=labels_per_clip)
    store.import_clips([ClipLabel("Bench", f"v{i // 50}", "training", 2.0 * (i % 50),
                                  2.0 * (i % 50) + 2.0, 1) for i in range(clips)], "bench")
    for k in range(annotators):
        store.add_annotator(f"a{k}", f"a{k}-token")
    return store


def pages_direct(tmp: str, pages: int) -> tuple[float, float]:
    """(wall, CPU) seconds of ``pages`` pages opened and submitted through the Store."""
    store = fresh_store(tmp, f"direct-{time.time_ns()}.sqlite", PAGE * pages, 1)
    with timed() as t:
        for _ in range(pages):
            page_id, items = store.open_page("Bench", "a0", "a0-token", PAGE)
            store.submit_page(page_id, "a0", "a0-token", {i.clip_id: -1 for i in items})
    return t.wall, t.cpu


def pages_http(tmp: str, pages: int, clients: int,
               labels_per_clip: int = 1) -> tuple[float, float, int]:
    """``clients`` annotators at once over HTTP on a queue of ``pages`` pages' worth of
    labels (``PAGE * pages / labels_per_clip`` clips), each opening and submitting leased
    pages until the queue is done for them. Returns (wall, CPU seconds, pages submitted);
    checks that every clip got exactly ``labels_per_clip`` labels from as many annotators."""
    clips = PAGE * pages // labels_per_clip
    store = fresh_store(tmp, f"http-{time.time_ns()}.sqlite", clips, clients, labels_per_clip)
    httpd, url = serve(store, tmp)
    submitted = [0] * clients

    def worker(k: int) -> None:
        while True:
            page = post(f"{url}/api/clips/Bench/pages", {"size": PAGE}, f"a{k}")
            if page["page_id"] is None:
                return
            post(f"{url}/api/pages/{page['page_id']}/submit",
                 {"labels": {c["clip_id"]: 1 for c in page["clips"]}}, f"a{k}")
            submitted[k] += 1

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    with timed() as t:
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    httpd.shutdown()
    conn = sqlite3.connect(store.path)
    per_clip = conn.execute("SELECT COUNT(*), COUNT(DISTINCT annotator) FROM clip_history "
                            "WHERE source LIKE 'page:%' GROUP BY clip_id").fetchall()
    conn.close()
    store.close()
    assert len(per_clip) == clips and set(per_clip) == {(labels_per_clip, labels_per_clip)}, \
        "a clip was not labelled exactly labels_per_clip times by different annotators"
    return t.wall, t.cpu, sum(submitted)


def bench_pages(tmp: str, pages: int, clients: int, repeat: int) -> None:
    direct = min(pages_direct(tmp, pages) for _ in range(repeat))
    http1 = min(pages_http(tmp, pages, 1) for _ in range(repeat))
    httpn = min(pages_http(tmp, pages, clients) for _ in range(repeat))
    http2 = min(pages_http(tmp, pages, clients, 2) for _ in range(repeat))

    def line(what: str, run: tuple) -> str:
        wall, cpu, done = run[0], run[1], run[2] if len(run) > 2 else pages
        return (f"   {what:<38} {done / wall:7.1f} pages/s  {1000 * cpu / done:6.2f} ms CPU/page"
                f"   ratio to baseline {(done / wall) / (pages / direct[0]):.2f}")

    print(f"\n1. clip pages of {PAGE} (open + submit), {pages} pages' worth of labels, "
          f"best of {repeat}, leases on")
    print(line("store only (baseline)", direct))
    print(line("HTTP, 1 annotator", http1))
    print(line(f"HTTP, {clients} annotators at once", httpn))
    print(line(f"HTTP, {clients} at once, 2 labels per clip", http2))
    print(f"   every clip labelled exactly once ({PAGE * pages} clips), or twice by two "
          f"annotators ({PAGE * pages // 2} clips), in every run")


def real_clips(n: int) -> list[ClipRecord]:
    frames = [(f.time, encode_jpeg(f.image)) for f in iter_frames(VIDEO, fps=8, short_side=128)
              if f.time < 2.0 * n]
    clips = []
    for k in range(n):
        picked = [(t, j) for t, j in frames if 2.0 * k <= t < 2.0 * k + 2.0]
        clips.append(ClipRecord("vtest_a", make_clip_id("vtest_a", 2.0 * k, 2.0 * k + 2.0),
                                VIDEO, 2.0 * k, 2.0 * k + 2.0, 8.0, 128, 171,
                                tuple(j for _, j in picked), tuple(t for t, _ in picked),
                                label_name="Walking", subset="training"))
    return clips


def bench_previews(tmp: str, clips: list[ClipRecord]) -> None:
    shard = os.path.join(tmp, "preview.tfrecord")
    write_shard(shard, [to_example(c) for c in clips])
    located = list(scan_shards(shard))
    with timed() as t:
        for _, path, offset, length in located:
            preview_strip(read_record(path, offset, length))
    build = t.wall / len(located)
    store = Store(os.path.join(tmp, "preview.sqlite"))
    store.add_shard_clips(located)
    store.add_annotator("a0", "a0-token")
    httpd, url = serve(store, tmp)
    for c in clips:  # fill the cache
        get(f"{url}/media/clips/{c.clip_id}/preview.jpg", "a0")
    with timed() as t:
        for _ in range(5):
            for c in clips:
                get(f"{url}/media/clips/{c.clip_id}/preview.jpg", "a0")
    cached = t.wall / (5 * len(clips))
    httpd.shutdown()
    print(f"\n2. clip previews ({len(clips)} clips of {clips[0].num_frames} frames)")
    print(f"   build strip from shard (baseline) {1000 * build:7.2f} ms/clip")
    print(f"   cached, over HTTP                 {1000 * cached:7.2f} ms/clip   "
          f"ratio to baseline {cached / build:.2f}")


def plain_loop(src: str, csv_path: str, output: str) -> None:
    """What apply_labels does, as a plain Python loop: read the shards in ``src``, set the
    annotation of every record a row of the CSV matches, write one shard to ``output``."""
    parsed = parse_clips_csv(open(csv_path).read())
    by_video: dict[str, list] = {}
    for i, r in enumerate(parsed):
        by_video.setdefault(r.video_id, []).append((i, r))
    out = []
    for s in sorted(os.listdir(src)):
        for data in iter_records(os.path.join(src, s)):
            rec = from_example(data)
            m = matching_rows(rec, by_video.get(rec.video_id, []), 0.001)
            out.append(with_annotation(data, m[-1][1].label) if m else data)
    write_shard(output, out)


def bench_apply_labels(tmp: str, clips: list[ClipRecord], records: int) -> None:
    src = os.path.join(tmp, "in")
    os.makedirs(src)
    recs = [ClipRecord(f"v{i // 8}", make_clip_id(f"v{i // 8}", 2.0 * (i % 8),
                                                  2.0 * (i % 8) + 2.0),
                       c.source_uri, 2.0 * (i % 8), 2.0 * (i % 8) + 2.0, c.fps, c.height,
                       c.width, c.frames, c.timestamps, label_name="Walking", subset="training")
            for i, c in zip(range(records), clips * (records // len(clips) + 1), strict=False)]
    per = len(recs) // 4
    for s in range(4):
        write_shard(os.path.join(src, f"c-{s:05d}-of-00004.tfrecord"),
                    [to_example(r) for r in recs[s * per:(s + 1) * per]])
    rows = [ClipLabel("Walking", r.video_id, "training", r.start, r.end, 1 if k % 3 else -1)
            for k, r in enumerate(recs) if k % 2 == 0]
    csv_path = os.path.join(tmp, "labels.csv")
    with open(csv_path, "w") as f:
        f.write(format_clips_csv(rows))

    with timed() as t:
        plain_loop(src, csv_path, os.path.join(tmp, "plain.tfrecord"))
    plain = t.wall

    with timed() as t:
        run([f"--shards={src}/*.tfrecord", f"--labels_csv={csv_path}",
             f"--output_prefix={tmp}/labelled/c", "--output_shards=4"], save_main_session=False)
    beam_s = t.wall
    report = json.load(open(f"{tmp}/labelled/c-report.json"))
    assert report["records_labelled"] == len(rows) and report["rows_unmatched"] == 0
    print(f"\n3. apply_labels, {len(recs)} records x {clips[0].num_frames} JPEG frames, "
          f"{len(rows)} CSV rows")
    print(f"   plain Python loop (baseline) {len(recs) / plain:8.1f} records/s")
    print(f"   Beam DirectRunner job        {len(recs) / beam_s:8.1f} records/s   "
          f"ratio to baseline {plain / beam_s:.2f}  (includes pipeline start-up)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--records", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()


    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        bench_pages(tmp, args.pages, args.clients, args.repeat)
        clips = real_clips(8)
        bench_previews(tmp, clips)
        bench_apply_labels(tmp, clips, args.records)


if __name__ == "__main__":
    main()
