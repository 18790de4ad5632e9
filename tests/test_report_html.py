"""report.html: the run's report as a page; galleries from the one decode pass's pictures."""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.conftest import run_dir
from transforms.output.report_html import collect_gallery, pick, render, write_report_html

CHROMIUM = "/usr/bin/chromium"


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing")
def test_the_page_shows_what_was_dropped_and_why(built_dataset):
    from playwright.sync_api import sync_playwright

    out, report = built_dataset
    page_path = os.path.join(run_dir(out), "report.html")
    with open(os.path.join(out, "dataset.json")) as f:
        assert json.load(f)["report_html"] == page_path
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page()
        problems = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("requestfailed", lambda r: problems.append(f"failed load {r.url}"))
        page.goto(f"file://{page_path}")
        page.wait_for_load_state("load")
        # the near-duplicate pair: frames of the dropped and of the kept video, side by side
        dup = page.locator(".dup[data-video='megamind_bugy']")
        assert "duplicate of kept video megamind" in dup.inner_text()
        images = dup.locator("img")
        assert images.count() >= 4
        titles = images.evaluate_all("els => els.map(e => [e.title, e.naturalWidth])")
        assert all(width > 0 for _, width in titles)  # every picture loaded
        assert {t.split()[0] for t, _ in titles} == {"megamind_bugy", "megamind"}
        # the video without people: its scored frames with each shot's score and the threshold
        # (the offline detector's operating threshold)
        np_row = page.locator(".np[data-video='tree']")
        assert "threshold 0.3" in np_row.inner_text()
        scores = [float(s) for s in np_row.locator(".score").all_inner_texts()]
        assert scores and max(scores) < 0.3
        assert np_row.locator("img").count() >= 2
        assert all(float(t) < 0.3 for t in np_row.locator(".box-score").all_inner_texts())
        # kept videos: each scored frame shows the detector's best person box, drawn inside
        # the picture, a part of it, with the box's score
        kept = page.locator(".kept")
        geometry = kept.locator(".scored").evaluate_all("""els => els.map(e => {
            const i = e.querySelector('img').getBoundingClientRect();
            const b = e.querySelector('.box').getBoundingClientRect();
            return [i.left, i.top, i.right, i.bottom, b.left, b.top, b.right, b.bottom]; })""")
        assert len(geometry) >= 3
        shares = []
        for il, it, ir, ib, bl, bt, br, bb in geometry:
            assert il - 0.5 <= bl < br <= ir + 0.5 and it - 0.5 <= bt < bb <= ib + 0.5
            shares.append((br - bl) * (bb - bt) / ((ir - il) * (ib - it)))
        # a pedestrian of vtest.avi is a small part of its frame (a close-up of Megamind not)
        assert min(shares) < 0.1
        box_scores = [float(t) for t in kept.locator(".box-score").all_inner_texts()]
        assert len(box_scores) == len(geometry) and max(box_scores) >= 0.5
        # failures with their reasons and messages; the funnel chart
        failures = page.locator("#failures ~ table").first.inner_text()
        assert "failed/missing" in failures and "no such file" in failures
        assert page.locator("svg.bars").count() >= 2
        browser.close()
    assert problems == []
    assert report["videos"]["input"] == 8


def test_gallery_picks_are_deterministic_and_bounded():
    rows = [{"video_id": f"v{i}", "status": "dropped", "reason": "duplicate"}
            for i in range(100)]
    first = pick(rows, 5)
    again = pick(list(reversed(rows)), 5)
    assert first == again and len(first["dropped/duplicate"]) == 5


def test_a_100000_video_run_gives_a_small_page_quickly(tmp_path):
    reasons = [("kept", ""), ("dropped", "duplicate"), ("dropped", "no_person"),
               ("failed", "unreadable"), ("failed", "missing"), ("dropped", "too_short")]
    folder = tmp_path / "run"
    folder.mkdir()
    with open(folder / "videos.jsonl", "w") as f:
        for i in range(100_000):
            status, reason = reasons[i % len(reasons)]
            f.write(json.dumps({"video_id": f"video{i:06d}", "uri": f"/nowhere/{i}.mp4",
                                "status": status, "reason": reason,
                                "message": f"message {i}", "evidence": {}}) + "\n")
    report = {"run": "synthetic", "videos": {"input": 100_000, "kept": 16_667,
                                             "dropped": 50_000, "failed": 33_333},
              "reasons": {"dropped": {"duplicate": 16_667, "no_person": 16_667,
                                      "too_short": 16_666},
                          "failed": {"unreadable": 16_667, "missing": 16_666}},
              "funnel": [{"stage": "input", "remaining": 100_000}], "clips": 0,
              "bytes": {"input": 1, "output": 0}, "shards": [], "elapsed_seconds": 1.0}
    start = time.process_time()
    gallery = collect_gallery(str(folder), str(tmp_path / "work"), shards=[])
    path = write_report_html(str(folder), report, gallery)
    seconds = time.process_time() - start
    size = os.path.getsize(path)
    assert len(gallery["duplicates"]) == len(gallery["no_person"]) == 24
    # measured here: 1.5 CPU s, 9.6 kB (no pictures: the synthetic run has no work folder)
    assert seconds < 20 and size < 200_000, (seconds, size)
    assert "video" in render(report, gallery)


def test_the_page_is_rebuilt_from_the_run_files_alone(built_dataset, tmp_path):
    import shutil

    from pipelines.report_html import rebuild

    out, _ = built_dataset
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)  # work/ is long gone: only the run's own files
    page = os.path.join(run_dir(copy), "report.html")
    with open(page) as f:
        first = f.read()
    os.remove(page)
    assert rebuild(str(copy)) == page
    with open(page) as f:
        assert f.read() == first
