"""The annotation API against a real server: bad input changes nothing, concurrent submits
lose nothing, media serving (range requests, never outside the videos root)."""

from __future__ import annotations

import http.client
import json
import os
import sqlite3
import threading
import urllib.error
import urllib.request
from urllib.parse import quote, urlparse

import cv2
import numpy as np
import pytest

from annotate.cli import main
from annotate.media import scan_videos
from transforms.output.hacs_files import parse_clips_csv

ANN = {"X-Annotator": "ann", "X-Token": "ann-token"}
BOB = {"X-Annotator": "bob", "X-Token": "bob-token"}


def call(server, path, body=None, headers=None, raw=None, method="POST"):
    """(status, parsed JSON) of a request; ``raw`` sends bytes as the body unchanged."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(server.url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def snapshot(db):
    """Everything the tools write, to compare before/after a refused request."""
    conn = sqlite3.connect(db)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall()
                for t in ("clips", "clip_history", "pages", "segment_tasks", "segments",
                          "segment_history", "videos")}
    finally:
        conn.close()


def open_page(server, headers=ANN, size=4, classname="Walking"):
    status, page = call(server, f"/api/clips/{classname}/pages", {"size": size}, headers)
    assert status == 200, page
    return page


def test_page_order_and_starting_labels(server, dataset):
    page = open_page(server)
    walking = [c for c in dataset.clips if c.label_name == "Walking"]
    assert [c["clip_id"] for c in page["clips"]] == [c.clip_id for c in walking[:4]]
    # the record annotated negative in the shard starts red; the others start green
    assert [c["label"] for c in page["clips"]] == [1, 1, 1, 1]
    rest = open_page(server, size=10)["clips"]
    assert [c["label"] for c in rest] == [1, 1, 1, 1, -1, 1]  # same queue, nothing reviewed
    assert page["progress"] == {"total": 6, "reviewed": 0}
    assert all(c["preview_frames"] == 16 and c["has_video"] for c in page["clips"])


def test_submit_saves_labels_with_who_and_when(server):
    page = open_page(server)
    ids = [c["clip_id"] for c in page["clips"]]
    labels = {ids[0]: -1, ids[1]: 1, ids[2]: -1, ids[3]: 1}
    status, result = call(server, f"/api/pages/{page['page_id']}/submit", {"labels": labels}, ANN)
    assert (status, result) == (200, {"saved": 4})
    item = server.store.clip("Walking", ids[0])
    assert (item.label, item.labelled_by, item.reviewed) == (-1, "ann", True)
    assert item.labelled_at.endswith("+00:00")
    nxt = open_page(server)
    assert [c["clip_id"] for c in nxt["clips"]] != ids and len(nxt["clips"]) == 2
    assert nxt["progress"] == {"total": 6, "reviewed": 4}


@pytest.mark.parametrize("case", ["unknown-clip", "missing-clip", "bad-label", "bool-label",
                                  "labels-not-object", "wrong-token", "no-auth",
                                  "other-annotator", "unknown-page", "malformed-json"])
def test_bad_submits_change_nothing(server, case):
    page = open_page(server)
    ids = [c["clip_id"] for c in page["clips"]]
    good = {i: -1 for i in ids}
    path, body, headers, raw = f"/api/pages/{page['page_id']}/submit", {"labels": good}, ANN, None
    expected = {"unknown-clip": (400, "unknown clip ids for this page: nope_1"),
                "missing-clip": (400, f"labels missing for clips: {ids[3]}"),
                "bad-label": (400, "labels must be 1 or -1"),
                "bool-label": (400, "labels must be 1 or -1"),
                "labels-not-object": (400, "'labels' must be an object"),
                "wrong-token": (403, "wrong token"),
                "no-auth": (401, "annotator name and token are required"),
                "other-annotator": (403, "given to another annotator"),
                "unknown-page": (404, "unknown page"),
                "malformed-json": (400, "must be a JSON object")}[case]
    if case == "unknown-clip":
        body = {"labels": {**good, "nope_1": 1}}
    elif case == "missing-clip":
        body = {"labels": {i: 1 for i in ids[:3]}}
    elif case == "bad-label":
        body = {"labels": {**good, ids[0]: 0}}
    elif case == "bool-label":
        body = {"labels": {**good, ids[0]: True}}
    elif case == "labels-not-object":
        body = {"labels": [1, -1]}
    elif case == "wrong-token":
        headers = {"X-Annotator": "ann", "X-Token": "guess"}
    elif case == "no-auth":
        headers = {}
    elif case == "other-annotator":
        headers = BOB
    elif case == "unknown-page":
        path = "/api/pages/0123abc/submit"
    elif case == "malformed-json":
        raw = b'{"labels": {'
    before = snapshot(server.db)
    status, answer = call(server, path, body, headers, raw)
    assert status == expected[0]
    assert expected[1] in answer["error"]
    assert snapshot(server.db) == before


def test_double_submit_is_refused(server):
    page = open_page(server)
    labels = {c["clip_id"]: -1 for c in page["clips"]}
    path = f"/api/pages/{page['page_id']}/submit"
    assert call(server, path, {"labels": labels}, ANN)[0] == 200
    before = snapshot(server.db)
    status, answer = call(server, path, {"labels": {k: 1 for k in labels}}, ANN)
    assert status == 409 and "already submitted" in answer["error"]
    assert snapshot(server.db) == before


def test_unknown_class_and_clip(server):
    status, answer = call(server, "/api/clips/Swimming/pages", {}, ANN)
    assert status == 404 and "unknown class 'Swimming'" in answer["error"]
    status, answer = call(server, "/api/clips/Walking/nope_1", method="GET")
    assert status == 404 and "unknown clip 'nope_1'" in answer["error"]
    status, answer = call(server, "/api/clips/Walking/pages", {"size": 0}, ANN)
    assert status == 400 and "page size" in answer["error"]


def test_concurrent_submits_of_the_same_page_lose_nothing(server):
    """Two annotators hold the same clips; their submits race. Both are stored in the
    history, and each clip ends with the label of whichever submit committed last."""
    rounds = 5
    for r in range(rounds):
        pa, pb = open_page(server, ANN), open_page(server, BOB)
        ids = [c["clip_id"] for c in pa["clips"]]
        assert ids == [c["clip_id"] for c in pb["clips"]]
        la = {i: (1 if (k + r) % 2 else -1) for k, i in enumerate(ids)}
        lb = {i: -la[i] for i in ids}
        barrier, results = threading.Barrier(2), {}

        def submit(who, page, labels, headers, barrier=barrier, results=results):
            barrier.wait()
            results[who] = call(server, f"/api/pages/{page['page_id']}/submit",
                                {"labels": labels}, headers)

        threads = [threading.Thread(target=submit, args=("ann", pa, la, ANN)),
                   threading.Thread(target=submit, args=("bob", pb, lb, BOB))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results["ann"] == (200, {"saved": 4}) and results["bob"] == (200, {"saved": 4})
        for clip_id in ids:
            history = server.store.clip_history("Walking", clip_id)[-2:]
            assert sorted(h["annotator"] for h in history) == ["ann", "bob"]
            winner = history[-1]
            assert winner["label"] == (la if winner["annotator"] == "ann" else lb)[clip_id]
            item = server.store.clip("Walking", clip_id)
            assert (item.label, item.labelled_by) == (winner["label"], winner["annotator"])
        # both pages were the whole unreviewed head of the queue; reopen it for the next round
        conn = sqlite3.connect(server.db)
        conn.execute("UPDATE clips SET reviewed = 0")
        conn.commit()
        conn.close()
    assert len(server.store.clip_history("Walking", ids[0])) == 2 * rounds


def test_segment_queue_submit_reject_and_bad_input(server):
    status, nxt = call(server, "/api/segments/Walking/next", {}, ANN)
    assert status == 200 and nxt["task"]["video_id"] == "vtest_a"
    task = nxt["task"]
    base = "/api/segments/Walking/vtest_a"
    # the same annotator resumes the same video; another annotator gets the next one
    assert call(server, "/api/segments/Walking/next", {}, ANN)[1]["task"]["video_id"] == "vtest_a"
    assert call(server, "/api/segments/Walking/next", {}, BOB)[1]["task"]["video_id"] == "vtest_b"
    before = snapshot(server.db)
    for path, body, code, message in [
        ("/api/segments/Walking/nope/submit", {"version": 0, "segments": []}, 404,
         "unknown video 'nope'"),
        (base + "/submit", {"version": 0, "segments": [[3.0, 1.0]]}, 400, "start < end"),
        (base + "/submit", {"version": 0, "segments": [[-1, 1.0]]}, 400, "in seconds"),
        (base + "/submit", {"version": 0, "segments": [[1.0, 99.0]], "duration": 8.0}, 400,
         "after the video's end (8.0 s)"),
        (base + "/submit", {"version": 0, "segments": "1-2"}, 400, "must be a list"),
        (base + "/submit", {"version": 7, "segments": []}, 409, "already"),
        (base + "/reject", {"version": 0, "reason": "  "}, 400, "needs a reason"),
    ]:
        status, answer = call(server, path, body, ANN)
        assert (status, message in answer["error"]) == (code, True), (path, body, answer)
    assert snapshot(server.db) == before
    body = {"version": task["version"], "segments": [[4.0, 6.5], [1.0, 2.0]], "duration": 8.0}
    assert call(server, base + "/submit", body, ANN) == (200, {"saved": 2})
    status, answer = call(server, base + "/submit", body, ANN)
    assert status == 409 and "already submitted" in answer["error"]
    assert call(server, "/api/segments/Walking/vtest_b/reject",
                {"version": 0, "reason": "too dark"}, BOB) == (200, {"rejected": True})
    assert server.store.task_state("Walking", "vtest_b")["reason"] == "too dark"
    assert call(server, "/api/segments/Walking/next", {}, ANN)[1]["done"] is True
    exported = server.store.export_segments()
    [video] = [v for v in exported.videos if v.video_id == "vtest_a"]
    assert [(s.start, s.end) for s in video.segments] == [(1.0, 2.0), (4.0, 6.5)]
    assert video.duration == 8.0 and video.url == "https://example.org/vtest_a.mp4"
    assert "vtest_b" not in [v.video_id for v in exported.videos]
    history = server.store.segment_history("Walking", "vtest_a")
    assert [(h["action"], h["annotator"]) for h in history] == [("submit", "ann")]


def raw_get(server, path, headers=None):
    """GET ``path`` exactly as written (no client-side normalisation of ``..``)."""
    u = urlparse(server.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), body


def test_video_range_requests(server, dataset):
    data = open(os.path.join(dataset.videos_root, "vtest_a.webm"), "rb").read()
    status, headers, body = raw_get(server, "/media/videos/vtest_a", {"Range": "bytes=100-1099"})
    assert status == 206 and body == data[100:1100]
    assert headers["Content-Range"] == f"bytes 100-1099/{len(data)}"
    assert headers["Content-Type"] == "video/webm"
    status, _, body = raw_get(server, "/media/videos/vtest_a",
                              {"Range": f"bytes={len(data) - 10}-"})
    assert status == 206 and body == data[-10:]
    status, headers, body = raw_get(server, "/media/videos/vtest_a")
    assert status == 200 and body == data and headers["Accept-Ranges"] == "bytes"
    status, _, _ = raw_get(server, "/media/videos/vtest_a", {"Range": f"bytes={len(data) + 5}-"})
    assert status == 416


def test_media_never_leaves_the_videos_root(server, dataset, tmp_path):
    secret = open(dataset.outside_file, "rb").read()
    outside_name = os.path.basename(dataset.outside_file)
    link = os.path.join(dataset.videos_root, "link.webm")
    os.symlink(dataset.outside_file, link)
    try:
        assert scan_videos(dataset.videos_root) == {"vtest_a": "vtest_a.webm",
                                                    "vtest_b": "vtest_b.webm"}
        check_traversal(server, dataset, secret, outside_name)
    finally:
        os.remove(link)


def check_traversal(server, dataset, secret, outside_name):
    server.store.set_video_paths({"vtest_a": "vtest_a.webm", "dots": f"../{outside_name}",
                                  "absolute": dataset.outside_file, "link": "link.webm"})
    for path in ["/media/videos/dots", "/media/videos/absolute", "/media/videos/link",
                 f"/media/videos/..%2F{outside_name}", f"/media/videos/../../{outside_name}",
                 f"/media/videos/{quote('../' + outside_name, safe='')}",
                 f"/static/../../{outside_name}", f"/static/..%2F..%2F{outside_name}",
                 f"/static/%2e%2e/%2e%2e/{outside_name}", "/media/videos/%00",
                 f"/media/clips/..%2F..%2F{outside_name}/preview.jpg"]:
        status, _, body = raw_get(server, path)
        assert status in (400, 404), path
        assert secret not in body, path
    assert raw_get(server, "/media/videos/vtest_a")[0] == 200


def test_clip_preview_is_a_film_strip(server, dataset):
    clip = dataset.clips[0]
    status, headers, body = raw_get(server, f"/media/clips/{clip.clip_id}/preview.jpg")
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    frames = int(headers["X-Preview-Frames"])
    assert frames == min(16, clip.num_frames) == 16
    tile = round(clip.width * 112 / clip.height)
    assert image.shape == (112, frames * tile, 3)
    assert raw_get(server, "/media/clips/nope_1/preview.jpg")[0] == 404


def test_cli_import_export_round_trips(server, tmp_path):
    csv_in = tmp_path / "in.csv"
    csv_in.write_text("classname,youtube_id,subset,start,end,label\n"
                      "Walking,vtest_a,training,0.0,2.0,-1\n"
                      "Jumping,xyz,validation,10.5,12.5,1\n")
    assert main(["import-clips", "--db", server.db, str(csv_in)]) == 0
    # the imported row for an existing shard clip updates it (and keeps its preview)
    item = server.store.clip("Walking", "vtest_a_000000000_000002000")
    assert (item.label, item.labelled_by, item.num_frames) == (-1, "import", 16)
    csv_out = tmp_path / "out.csv"
    assert main(["export-clips", "--db", server.db, str(csv_out)]) == 0
    assert csv_out.read_text() == csv_in.read_text()
    # a submitted page shows up in the export, in queue order, with the annotator's labels
    page = open_page(server, size=2)
    call(server, f"/api/pages/{page['page_id']}/submit",
         {"labels": {c["clip_id"]: 1 for c in page["clips"]}}, ANN)
    assert main(["export-clips", "--db", server.db, str(csv_out)]) == 0
    rows = parse_clips_csv(csv_out.read_text())
    assert [(r.video_id, r.start, r.label) for r in rows] == [
        ("vtest_a", 0.0, 1), ("vtest_a", 2.0, 1), ("xyz", 10.5, 1)]

    seg_in = tmp_path / "in.json"
    doc = {"version": "HACS Segments v1.1", "taxonomy": [{"nodeId": 1, "nodeName": "Walking"}],
           "database": {"vtest_a": {"subset": "training", "duration": 20.0, "url": "u",
                                    "annotations": [{"label": "Walking", "segment": [1.5, 3.25]},
                                                    {"label": "Waving", "segment": [0.0, 1.0]}]},
                        "empty": {"subset": "testing", "duration": 5.0, "url": "",
                                  "annotations": []}}}
    seg_in.write_text(json.dumps(doc))
    assert main(["import-segments", "--db", server.db, str(seg_in)]) == 0
    seg_out = tmp_path / "out.json"
    assert main(["export-segments", "--db", server.db, str(seg_out)]) == 0
    assert json.loads(seg_out.read_text()) == doc
    # imported segments pre-fill the segment tool
    assert call(server, "/api/segments/Walking/next", {}, ANN)[1]["task"]["segments"] == [
        [1.5, 3.25]]
    bad = tmp_path / "bad.json"
    bad.write_text('{"database": {"v": {"annotations": [{"label": "A", "segment": [2, 1]}]}}}')
    before = snapshot(server.db)
    assert main(["import-segments", "--db", server.db, str(bad)]) == 2
    assert snapshot(server.db) == before


def test_guideline_api(server, dataset, tmp_path):
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"Walking": {"definition": "A person walks upright.",
                                            "positives": [dataset.clips[0].clip_id],
                                            "hard_negatives": ["not_in_shards"]}}))
    assert main(["import-guidelines", "--db", server.db, str(path)]) == 0
    status, g = call(server, "/api/guidelines/Walking", method="GET")
    assert status == 200 and g["definition"] == "A person walks upright."
    assert g["positives"] == [{"clip_id": dataset.clips[0].clip_id, "preview_frames": 16}]
    assert g["hard_negatives"] == [{"clip_id": "not_in_shards", "preview_frames": 0}]
    assert call(server, "/api/guidelines/Running", method="GET")[0] == 404
