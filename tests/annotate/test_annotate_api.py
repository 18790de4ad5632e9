"""The annotation API against a real server: bad input changes nothing, concurrent submits
lose nothing, media serving (range requests, never outside the videos root)."""

from __future__ import annotations

import csv
import http.client
import io
import json
import os
import shutil
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs, quote, urlparse

import cv2
import numpy as np
import pytest
from conftest import run_server
from tests_annotate_helpers import FRAME_SECONDS, as_written

from annotate.app import create_app
from annotate.cli import build_parser, main, prepare
from annotate.media import scan_videos
from annotate.store import Store
from transforms.hacs_files import ClipLabel, parse_clips_csv
from transforms.output.records import make_clip_id

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
    status, answer = call(server, "/api/clips/Walking/nope_1", headers=ANN, method="GET")
    assert status == 404 and "unknown clip 'nope_1'" in answer["error"]
    status, answer = call(server, "/api/clips/Walking/pages", {"size": 0}, ANN)
    assert status == 400 and "page size" in answer["error"]


@pytest.mark.parametrize("n", [1, 2], ids=["one-label", "two-labels"])
def test_team_of_four_gets_disjoint_pages_and_labels_every_clip_n_times(dataset, tmp_path, n):
    """4 annotators at once over HTTP opening and submitting pages of 4, on a queue of
    400 / N clips with --labels-per-clip N: with one label, 25 pages each, full and
    disjoint; with N, until the queue is done for them, each annotator's pages are disjoint (nobody
    gets a clip twice) and every clip is labelled exactly N times by N different
    annotators; the export keeps the majority and states agreement."""
    team, pages_each, size = ["t0", "t1", "t2", "t3"], 25, 4
    clips = [ClipLabel("Team", f"v{i // 50}", "training", 2.0 * (i % 50),
                       2.0 * (i % 50) + 2.0, 1)
             for i in range(len(team) * pages_each * size // n)]
    barrier, got, errors = threading.Barrier(len(team)), {}, []

    def vote(name, clip_id):  # t0 and t1 say positive, t2 and t3 negative
        return 1 if name in ("t0", "t1") else -1

    def annotate(server, name):
        who = {"X-Annotator": name, "X-Token": name + "-token"}
        barrier.wait()
        got[name] = []
        # one label per clip: exactly 25 pages each; N: until the queue is done for them
        while n > 1 or len(got[name]) < pages_each:
            page = open_page(server, who, size, "Team")
            if page["page_id"] is None:
                break
            ids = [c["clip_id"] for c in page["clips"]]
            got[name].append(ids)
            status, answer = call(server, f"/api/pages/{page['page_id']}/submit",
                                  {"labels": {c: vote(name, c) for c in ids}}, who)
            if status != 200:
                errors.append((name, status, answer))

    with run_server(dataset, str(tmp_path / "team.sqlite"), labels_per_clip=n) as server:
        server.store.import_clips(clips, "team.csv")
        for name in team:
            server.store.add_annotator(name, name + "-token")
        threads = [threading.Thread(target=annotate, args=(server, t)) for t in team]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        pages = [len(got[name]) for name in team]
        assert sum(len(ids) for name in team for ids in got[name]) == len(clips) * n
        if n == 1:  # 25 full pages each, on a queue of 100 pages
            assert pages == [pages_each] * 4
            assert all(len(ids) == size for name in team for ids in got[name])
        by_clip = {}
        for name in team:
            mine = [c for ids in got[name] for c in ids]
            assert len(mine) == len(set(mine))  # disjoint pages for each annotator
            for c in mine:
                by_clip.setdefault(c, []).append(name)
        assert len(by_clip) == len(clips) and {len(v) for v in by_clip.values()} == {n}
        if n == 1:  # and across annotators: no clip on two pages
            handed = [c for name in team for ids in got[name] for c in ids]
            assert len(handed) == len(set(handed)) == len(clips)
        conn = sqlite3.connect(server.db)
        counts = conn.execute("SELECT clip_id, COUNT(*), COUNT(DISTINCT annotator) FROM "
                              "clip_history WHERE classname = 'Team' AND source LIKE 'page:%' "
                              "GROUP BY clip_id").fetchall()
        conn.close()
        assert len(counts) == len(clips) and {(k, d) for _, k, d in counts} == {(n, n)}
        assert server.store.clip_progress("Team") == {"total": len(clips),
                                                      "reviewed": len(clips)}
        assert open_page(server, ANN, size, "Team")["page_id"] is None
        for name in team:  # everyone has labelled all they could: nothing left for them
            assert open_page(server, {"X-Annotator": name, "X-Token": name + "-token"},
                             size, "Team")["page_id"] is None
        out, sidecar = tmp_path / "team.csv", tmp_path / "team.agreement.csv"
        assert main(["export-clips", "--db", server.db, str(out)]) == 0
    rows = {make_clip_id(r.video_id, r.start, r.end): r
            for r in parse_clips_csv(out.read_text()) if r.classname == "Team"}
    assert len(rows) == len(clips)
    if n == 1:
        assert not sidecar.exists()  # one label per clip: the plain HACS Clips CSV alone
        assert all(r.label == vote(by_clip[c][0], c) for c, r in rows.items())
        return
    lines = list(csv.DictReader(io.StringIO(sidecar.read_text())))
    assert len(lines) == len(parse_clips_csv(out.read_text()))  # one line per CSV row
    checked = 0
    for line in lines:
        if line["classname"] != "Team":
            continue
        clip_id = make_clip_id(line["youtube_id"], float(line["start"]), float(line["end"]))
        votes = sorted(vote(a, clip_id) for a in by_clip[clip_id])
        majority = 1 if sum(votes) > 0 else -1
        assert rows[clip_id].label == majority == int(line["label"])
        assert (int(line["labels"]), int(line["positive"]), int(line["negative"])) == (
            2, votes.count(1), votes.count(-1))
        assert line["agreement"] == ("1.000" if votes[0] == votes[1] else "0.500")
        assert sorted(line["annotators"].split(";")) == sorted(
            f"{a}:{vote(a, clip_id)}" for a in by_clip[clip_id])
        checked += 1
    assert checked == len(clips)


def test_leases_count_toward_the_labels_per_clip(dataset, tmp_path):
    """With two labels per clip a clip goes to two annotators at most at once (a live
    lease holds a place), never twice to one, and a late submit whose places were taken
    is refused naming who holds them."""
    with run_server(dataset, str(tmp_path / "two.sqlite"), lease_seconds=1.0,
                    labels_per_clip=2) as srv:
        srv.store.add_annotator("cat", "cat-token")
        cat = {"X-Annotator": "cat", "X-Token": "cat-token"}
        ids_a = [c["clip_id"] for c in open_page(srv, ANN)["clips"]]
        pb = open_page(srv, BOB)
        assert [c["clip_id"] for c in pb["clips"]] == ids_a  # the second place of each
        pc = open_page(srv, cat, size=10)
        ids_c = [c["clip_id"] for c in pc["clips"]]
        assert len(ids_c) == 2 and not set(ids_c) & set(ids_a)
        assert call(srv, f"/api/pages/{pb['page_id']}/submit",
                    {"labels": {c: -1 for c in ids_a}}, BOB) == (200, {"saved": 4})
        # bob labelled those four: he only gets the two others now, never his own again
        assert [c["clip_id"] for c in open_page(srv, BOB, size=10)["clips"]] == ids_c
        assert open_page(srv, cat)["clips"][0]["clip_id"] == ids_c[0]  # cat's, again
        time.sleep(1.1)  # every lease lapses; cat takes ann's places
        pa = srv.store.open_page("Walking", "ann", "ann-token", 4)  # ann's old page, renewed
        # bob said negative; ann's page starts from the clips' starting guess, not from him
        assert [i.label for i in pa[1]] == [1, 1, 1, 1]
        pc2 = open_page(srv, cat, size=10)
        assert [c["clip_id"] for c in pc2["clips"]] == ids_c  # ann holds the first four
        item = srv.store.clip("Walking", ids_a[0])
        assert (item.votes, item.reviewed, item.label, item.labelled_by) == (1, False, -1,
                                                                           "bob")
        assert call(srv, f"/api/pages/{pa[0]}/submit",
                    {"labels": {c: 1 for c in ids_a}}, ANN) == (200, {"saved": 4})
        item = srv.store.clip("Walking", ids_a[0])
        assert (item.votes, item.reviewed, item.label) == (2, True, -1)  # a tie is negative
        assert srv.store.clip_progress("Walking") == {"total": 6, "reviewed": 4}
        # cat's lease lapses; ann and bob take both places of cat's clips; cat is refused
        time.sleep(1.1)
        for who in (ANN, BOB):
            page = open_page(srv, who, size=10)
            assert [c["clip_id"] for c in page["clips"]] == ids_c
        status, answer = call(srv, f"/api/pages/{pc2['page_id']}/submit",
                              {"labels": {c: 1 for c in ids_c}}, cat)
        assert status == 409 and "leased to ann, bob" in answer["error"]


def test_a_database_from_before_votes_keeps_its_labels(server, tmp_path):
    """A database written before votes and lease rows (leases as columns of clips, one
    label per reviewed clip) opens: its labels become votes and the queue goes on."""
    page = open_page(server)
    ids = [c["clip_id"] for c in page["clips"]]
    call(server, f"/api/pages/{page['page_id']}/submit", {"labels": {c: -1 for c in ids}}, ANN)
    conn = sqlite3.connect(server.db)
    conn.executescript("DROP TABLE clip_votes; DROP TABLE clip_leases; "
                       "ALTER TABLE clips DROP COLUMN guess; "
                       "ALTER TABLE clips ADD COLUMN leased_page TEXT; "
                       "ALTER TABLE clips ADD COLUMN leased_by TEXT; "
                       "ALTER TABLE clips ADD COLUMN leased_until REAL;")
    conn.close()
    old = Store(server.db, labels_per_clip=2)
    try:
        item = old.clip("Walking", ids[0])
        assert (item.votes, item.label, item.labelled_by, item.reviewed) == (1, -1, "ann", False)
        _, items = old.open_page("Walking", "bob", "bob-token", 10)
        assert [i.clip_id for i in items][:4] == ids  # bob's turn for the second labels
        _, items = old.open_page("Walking", "ann", "ann-token", 10)
        assert not set(ids) & {i.clip_id for i in items}  # never twice to ann
    finally:
        old.close()


def test_lease_expiry_returns_clips_and_refuses_the_late_submit(dataset, tmp_path):
    with run_server(dataset, str(tmp_path / "lease.sqlite"), lease_seconds=0.6) as srv:
        pa = open_page(srv, ANN)
        assert pa["lease_seconds"] == 0.6
        ids_a = [c["clip_id"] for c in pa["clips"]]
        pb = open_page(srv, BOB)  # the other annotator gets the other clips of the queue
        ids_b = [c["clip_id"] for c in pb["clips"]]
        assert len(ids_b) == 2 and not set(ids_a) & set(ids_b)
        assert open_page(srv, BOB)["clips"][0]["clip_id"] == ids_b[0]  # bob's own, again
        # a renewal keeps ann's page: bob still gets nothing of it
        time.sleep(0.4)
        assert call(srv, f"/api/pages/{pa['page_id']}/renew", {}, ANN) == (
            200, {"lease_seconds": 0.6})
        time.sleep(0.4)
        assert {c["clip_id"] for c in open_page(srv, BOB, size=10)["clips"]} == set(ids_b)
        # no renewal: ann's lease expires and bob gets her clips
        time.sleep(0.7)
        pb2 = open_page(srv, BOB, size=10)
        assert [c["clip_id"] for c in pb2["clips"]] == ids_a + ids_b
        before = snapshot(srv.db)
        status, answer = call(srv, f"/api/pages/{pa['page_id']}/submit",
                              {"labels": {c: 1 for c in ids_a}}, ANN)
        assert status == 409
        assert answer["error"].startswith("this page's lease expired") and "leased to bob" in \
            answer["error"] and ids_a[0] in answer["error"]
        assert call(srv, f"/api/pages/{pa['page_id']}/renew", {}, ANN)[0] == 409
        assert snapshot(srv.db) == before
        assert call(srv, f"/api/pages/{pb2['page_id']}/submit",
                    {"labels": {c: -1 for c in ids_a + ids_b}}, BOB) == (200, {"saved": 6})
        status, answer = call(srv, f"/api/pages/{pa['page_id']}/submit",
                              {"labels": {c: 1 for c in ids_a}}, ANN)
        assert status == 409 and "already labelled by bob" in answer["error"]


def test_an_expired_lease_nobody_took_still_submits(dataset, tmp_path):
    with run_server(dataset, str(tmp_path / "lapsed.sqlite"), lease_seconds=0.2) as srv:
        page = open_page(srv, ANN)
        time.sleep(0.3)
        assert call(srv, f"/api/pages/{page['page_id']}/submit",
                    {"labels": {c["clip_id"]: 1 for c in page["clips"]}}, ANN) == (
            200, {"saved": 4})


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


def raw_get(server, path, headers=None, auth=ANN):
    """GET ``path`` exactly as written (no client-side normalisation of ``..``), signed in
    with the ``auth`` headers."""
    u = urlparse(server.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request("GET", path, headers={**auth, **(headers or {})})
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


SEGMENTS_AS_PUBLISHED = """{"database": {
 "vtest_a": {"annotations": [{"label": "Walking", "segment": [1e0, 2.50]},
                             {"label": "Waving", "segment": [0, 1]}],
             "duration": "8.000000", "subset": "training", "url": "https://x/vtest_a",
             "resolution": "176x144"},
 "nodur": {"subset": "testing", "url": "", "annotations": []},
 "other": {"annotations": [{"label": "Archery", "segment": [3.0E1, 45]}], "duration": 92.10,
           "subset": "validation", "url": "https://x/other"}},
 "version": "HACS Segments v1.1", "taxonomy": [{"nodeId": 1, "nodeName": "Walking"}]}"""


def test_segments_round_trip_through_the_database_as_written(server, tmp_path):
    """Imported and exported with no edit: the same keys in the same order, the same types
    and the same number text. Submitted segments are written fresh (an unchanged one keeps
    its text); a learned duration is added only with --add-duration."""
    source, out = tmp_path / "in.json", tmp_path / "out.json"
    source.write_text(SEGMENTS_AS_PUBLISHED)
    assert main(["import-segments", "--db", server.db, str(source)]) == 0
    assert main(["export-segments", "--db", server.db, str(out)]) == 0
    assert as_written(out.read_text()) == as_written(SEGMENTS_AS_PUBLISHED)
    # edits: Walking of vtest_a keeps [1e0, 2.50] and gets [4, 6]; vtest_b (from the shards
    # only) gets one segment; nodur's duration becomes known
    task = call(server, "/api/segments/Walking/next", {}, ANN)[1]["task"]
    assert task["video_id"] == "vtest_a" and task["segments"] == [[1.0, 2.5]]
    assert call(server, "/api/segments/Walking/vtest_a/submit",
                {"version": task["version"], "segments": [[4, 6], [1.0, 2.5]]}, ANN)[0] == 200
    assert call(server, "/api/segments/Walking/vtest_b/submit",
                {"version": 0, "segments": [[0.5, 1.25]]}, BOB)[0] == 200
    server.store.set_video_durations({"nodur": 12.5})
    assert main(["export-segments", "--db", server.db, str(out)]) == 0
    written = dict(as_written(out.read_text()))
    database = dict(written["database"])
    expected = dict(dict(as_written(SEGMENTS_AS_PUBLISHED))["database"])
    assert list(database) == ["vtest_a", "nodur", "other", "vtest_b"]
    assert database["other"] == expected["other"] and database["nodur"] == expected["nodur"]
    vtest_a = dict(database["vtest_a"])
    assert [k for k, _ in database["vtest_a"]] == [k for k, _ in expected["vtest_a"]]
    assert vtest_a["duration"] == "8.000000"
    assert vtest_a["annotations"] == [
        [("label", "Walking"), ("segment", [("number", "1e0"), ("number", "2.50")])],
        [("label", "Waving"), ("segment", [("number", "0"), ("number", "1")])],
        [("label", "Walking"), ("segment", [("number", "4.0"), ("number", "6.0")])]]
    fresh = dict(database["vtest_b"])
    assert list(fresh) == ["subset", "duration", "url", "annotations"]
    assert fresh["annotations"] == [[("label", "Walking"),
                                     ("segment", [("number", "0.5"), ("number", "1.25")])]]
    assert main(["export-segments", "--db", server.db, str(out), "--add-duration"]) == 0
    nodur = json.loads(out.read_text())["database"]["nodur"]
    assert list(nodur) == ["subset", "url", "annotations", "duration"]
    assert nodur["duration"] == 12.5


def test_guideline_api(server, dataset, tmp_path):
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"Walking": {"definition": "A person walks upright.",
                                            "positives": [dataset.clips[0].clip_id],
                                            "hard_negatives": ["not_in_shards"]}}))
    assert main(["import-guidelines", "--db", server.db, str(path)]) == 0
    status, g = call(server, "/api/guidelines/Walking", headers=ANN, method="GET")
    assert status == 200 and g["definition"] == "A person walks upright."
    assert g["positives"] == [{"clip_id": dataset.clips[0].clip_id, "preview_frames": 16}]
    assert g["hard_negatives"] == [{"clip_id": "not_in_shards", "preview_frames": 0}]
    assert call(server, "/api/guidelines/Running", headers=ANN, method="GET")[0] == 404


def raw_request(server, method, path, body=b"", headers=None):
    """(status, headers, body) of a request sent as written, Host header included."""
    u = urlparse(server.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for k, v in {"Host": f"127.0.0.1:{u.port}", "Content-Type": "application/json",
                 "Content-Length": str(len(body)), **ANN, **(headers or {})}.items():
        conn.putheader(k, v)
    conn.endheaders()
    try:
        conn.send(body)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered (413) before reading the whole body
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), data


@pytest.mark.parametrize("case", ["too-large", "deep", "nan", "version-string", "size-float"])
def test_hostile_bodies_are_refused_never_500(server, case):
    task = call(server, "/api/segments/Walking/next", {}, ANN)[1]["task"]
    path, body = "/api/clips/Walking/pages", json.dumps({"size": 4}).encode()
    expected = {"too-large": (413, "larger than 1048576 bytes"),
                "deep": (400, "nests too deeply"), "nan": (400, "must be a JSON object"),
                "version-string": (400, "'version' must be the integer"),
                "size-float": (400, "'size' must be an integer")}[case]
    if case == "too-large":
        body = b'{"labels": "' + b"x" * (10 << 20) + b'"}'
    elif case == "deep":
        body = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    elif case == "nan":
        body = b'{"size": NaN}'
    elif case == "version-string":
        path = "/api/segments/Walking/vtest_a/submit"
        body = json.dumps({"version": str(task["version"]), "segments": []}).encode()
    elif case == "size-float":
        body = b'{"size": 4.5}'
    before = snapshot(server.db)
    status, _, data = raw_request(server, "POST", path, body)
    assert (status, expected[1] in json.loads(data)["error"]) == (expected[0], True)
    assert snapshot(server.db) == before
    # a body nested 9 deep (one more than the limit) is refused, 8 deep is read
    nine = b'{"size": 4, "x": ' + b"[" * 8 + b"]" * 8 + b"}"
    assert raw_request(server, "POST", "/api/clips/Walking/pages", nine)[0] == 400
    eight = b'{"size": 4, "x": ' + b"[" * 7 + b"]" * 7 + b"}"
    assert raw_request(server, "POST", "/api/clips/Walking/pages", eight)[0] == 200


def test_host_header_and_security_headers(server, dataset, tmp_path):
    for host in ("evil.example.com", "evil.example.com:80", "127.0.0.1.evil.example.com"):
        status, _, data = raw_request(server, "POST", "/api/whoami", b"{}", {"Host": host})
        assert status == 400 and "is not served here" in json.loads(data)["error"], host
        assert raw_request(server, "GET", "/", headers={"Host": host})[0] == 400
    port = urlparse(server.url).port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
        status, headers, _ = raw_request(server, "GET", "/", headers={"Host": host})
        assert status == 200, host
        assert headers["X-Frame-Options"] == "DENY"
        assert "script-src 'self';" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
    # no inline script anywhere in the pages: every <script> has a src
    for path in ("/", "/clips/Walking", "/segments/Walking", "/overview", "/signin"):
        html = raw_request(server, "GET", path)[2].decode()
        assert html.count("<script") == html.count("<script src=") >= 1, path
    app = create_app(server.store, dataset.videos_root, allowed_hosts=["labels.lan"])
    client = app.test_client()
    assert client.get("/signin", headers={"Host": "labels.lan:8765"}).status_code == 200
    assert client.get("/signin", headers={"Host": "127.0.0.1:8765"}).status_code == 400


def test_reads_need_the_token_or_the_session_cookie(server, dataset):
    clip = dataset.clips[0].clip_id
    reads = [f"/api/clips/Walking/{clip}", "/api/guidelines/Walking",
             f"/media/clips/{clip}/preview.jpg", "/media/videos/vtest_a"]
    for path in reads:
        status, _, data = raw_get(server, path, auth={})
        assert status == 401 and "token are required" in json.loads(data)["error"], path
        assert raw_get(server, path, auth={"X-Annotator": "ann", "X-Token": "guess"})[0] == 403
    # whoami sets a signed HttpOnly cookie that media requests (img, video) carry instead
    status, headers, _ = raw_request(server, "POST", "/api/whoami", b"{}")
    cookie = headers["Set-Cookie"]
    assert status == 200 and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    jar = {"Cookie": cookie.split(";", 1)[0]}
    for path in reads[2:]:
        assert raw_get(server, path, jar, auth={})[0] == 200, path
    assert raw_get(server, reads[0], jar, auth={})[0] == 200
    # a new token ends the sessions made with the old one
    server.store.add_annotator("ann", "new-token")
    status, _, data = raw_get(server, reads[3], jar, auth={})
    assert status == 403 and "sign in again" in json.loads(data)["error"]
    forged = {"Cookie": "session=eyJhbm5vdGF0b3IiOiJhbm4ifQ.forged.sig"}
    assert raw_get(server, reads[3], forged, auth={})[0] == 401


def test_pages_need_the_token_or_the_session_cookie(server):
    """Every HTML page but the sign-in page redirects to it without a token or a session
    cookie, showing nothing of the queues; with the cookie the pages open; signing out
    ends the cookie."""
    pages = ["/", "/clips/Walking", "/segments/Running", "/overview", "/overview?x=1"]
    for path in pages:
        for auth in ({}, {"X-Annotator": "ann", "X-Token": "guess"}):
            status, headers, body = raw_get(server, path, auth=auth)
            assert status == 302, path
            where = urlparse(headers["Location"])
            assert (where.path, parse_qs(where.query)["next"]) == ("/signin", [path]), path
            # nothing of the queues, only the way back (which repeats the path)
            assert all(name in path for name in ("Walking", "Running")
                       if name.encode() in body), (path, body)
    status, _, body = raw_get(server, "/signin?next=/clips/Walking", auth={})
    assert status == 200 and b'data-next="/clips/Walking"' in body and b"Walking</a>" not in body
    for hostile in ("//evil.example.com/x", "https://evil.example.com/", "/\\evil.example.com"):
        body = raw_get(server, "/signin?next=" + quote(hostile, safe=""), auth={})[2]
        assert b'data-next="/"' in body, hostile
    assert raw_get(server, "/static/common.js", auth={})[0] == 200  # code, no data
    cookie = raw_request(server, "POST", "/api/whoami", b"{}")[1]["Set-Cookie"]
    jar = {"Cookie": cookie.split(";", 1)[0]}
    for path in pages:
        status, _, body = raw_get(server, path, jar, auth={})
        assert status == 200 and b"</main>" in body, path
    status, headers, _ = raw_request(server, "POST", "/api/signout", b"{}", jar)
    assert status == 200
    ended = {"Cookie": headers["Set-Cookie"].split(";", 1)[0]}
    assert raw_get(server, "/overview", ended, auth={})[0] == 302


def table_rows(html: str, table_id: str) -> dict[str, list[str]]:
    """The data rows of the table ``table_id`` of a page: first cell -> the other cells."""
    from html.parser import HTMLParser

    rows, state = {}, {"in": False, "row": None, "cell": None}

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "table":
                state["in"] = dict(attrs).get("id") == table_id
            elif state["in"] and tag == "tr":
                state["row"] = []
            elif state["in"] and tag == "td":
                state["cell"] = ""

        def handle_data(self, data):
            if state["cell"] is not None:
                state["cell"] += data

        def handle_endtag(self, tag):
            if tag == "td" and state["cell"] is not None:
                state["row"].append(state["cell"].strip())
                state["cell"] = None
            elif tag == "tr" and state["row"]:
                rows[state["row"][0]] = state["row"][1:]
                state["row"] = None
            elif tag == "table":
                state["in"] = False

    Parser().feed(html)
    return rows


def test_overview_counts_per_annotator_and_per_class(dataset, tmp_path):
    with run_server(dataset, str(tmp_path / "overview.sqlite"), labels_per_clip=2) as srv:
        pa, pb = open_page(srv, ANN), open_page(srv, BOB, size=2)
        ids = [c["clip_id"] for c in pa["clips"]]
        call(srv, f"/api/pages/{pa['page_id']}/submit",
             {"labels": {c: 1 for c in ids}}, ANN)
        call(srv, f"/api/pages/{pb['page_id']}/submit",
             {"labels": {ids[0]: 1, ids[1]: -1}}, BOB)
        running = open_page(srv, BOB, classname="Running")
        call(srv, f"/api/pages/{running['page_id']}/submit",
             {"labels": {c["clip_id"]: -1 for c in running["clips"]}}, BOB)
        task = call(srv, "/api/segments/Walking/next", {}, ANN)[1]["task"]
        call(srv, "/api/segments/Walking/vtest_a/submit",
             {"version": task["version"], "segments": [[1, 2]]}, ANN)
        call(srv, "/api/segments/Walking/vtest_b/reject", {"version": 0, "reason": "blurred"},
             BOB)
        status, _, body = raw_get(srv, "/overview")
    html = body.decode()
    assert status == 200 and "labelled by 2 annotators" in html
    # class: done, clips, labels given, needed, (bar), positive, labelled, unanimous, several
    assert table_rows(html, "classes") == {
        "Running": ["0", "2", "2", "4", "", "0", "2", "0", "0"],
        "Walking": ["2", "6", "6", "12", "", "3", "4", "1", "2"]}
    # ids[1]: ann +1, bob -1, a tie: negative; ids[0] both +1; ids[2], ids[3] ann only
    assert table_rows(html, "segment-classes")["Walking"] == ["1", "1", "0", "0", ""]
    # annotator: labels, positive, pages, with the majority, on shared clips, videos done,
    # rejected, last activity
    annotators = table_rows(html, "annotators")
    assert [v[:7] for v in annotators.values()] == [["4", "4", "1", "1", "2", "1", "0"],
                                                    ["4", "1", "2", "2", "2", "0", "1"]]
    assert list(annotators) == ["ann", "bob"] and annotators["ann"][7].startswith("20")
    assert table_rows(html, "by-class") == {"ann": ["0", "4"], "bob": ["2", "2"]}


@pytest.mark.parametrize("header", ["bytes=abc", "bytes=5-1", "items=0-10",
                                    "bytes=0-10,20-30", "bytes=0-1,-5"])
def test_invalid_and_multi_ranges_are_ignored(server, dataset, header):
    data = open(os.path.join(dataset.videos_root, "vtest_a.webm"), "rb").read()
    status, headers, body = raw_get(server, "/media/videos/vtest_a", {"Range": header})
    assert (status, body == data) == (200, True)
    assert "Content-Range" not in headers


def test_segments_are_bounded_by_the_duration_read_from_the_file(server, tmp_path):
    task = call(server, "/api/segments/Walking/next", {}, ANN)[1]["task"]
    # the test WebM is 8 s at 10 frames/s: known from the file, not from the player
    assert task["video_id"] == "vtest_a"
    assert task["duration"] == pytest.approx(8.0, abs=FRAME_SECONDS)
    path = "/api/segments/Walking/vtest_a/submit"
    before = snapshot(server.db)
    for spans in ([[1, 1e308]], [[1, 9.0]], [[-1, 2]]):
        status, answer = call(server, path, {"version": 0, "segments": spans}, ANN)
        assert status == 400, (spans, answer)
    # a player claiming a longer video does not widen the bound
    status, _ = call(server, path, {"version": 0, "segments": [[1, 20]], "duration": 30}, ANN)
    assert status == 400 and snapshot(server.db) == before
    assert call(server, path, {"version": 0, "segments": [[1, 7.5]]}, ANN) == (
        200, {"saved": 1})
    out = tmp_path / "segments.json"
    assert main(["export-segments", "--db", server.db, str(out)]) == 0
    entry = json.loads(out.read_text())["database"]["vtest_a"]
    assert entry["duration"] == pytest.approx(8.0, abs=FRAME_SECONDS)
    assert entry["annotations"] == [{"label": "Walking", "segment": [1.0, 7.5]}]


def test_videos_root_reads_the_download_layout(tmp_path):
    """ROOT/<classname>/v_<id>.mp4, as the HACS download tools save it: ids without v_, one
    entry for a video under two classes, and --keep-v-prefix keeps the prefix."""
    sample = os.path.join(os.path.dirname(__file__), "..", "data", "videos", "vtest_a.mp4")
    root = tmp_path / "videos"
    for relative in ("Running/v_aaa.mp4", "Walking/v_aaa.mp4", "Walking/v_bbb.mp4"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sample, root / relative)
    assert scan_videos(str(root)) == {"aaa": os.path.join("Running", "v_aaa.mp4"),
                                      "bbb": os.path.join("Walking", "v_bbb.mp4")}
    assert sorted(scan_videos(str(root), strip_v_prefix=False)) == ["v_aaa", "v_bbb"]
    store = Store(str(tmp_path / "a.sqlite"))
    try:
        assert prepare(store, None, str(root)) == (0, 2)
        assert store.video_path("aaa") == os.path.join("Running", "v_aaa.mp4")
        assert store.video_path("v_aaa") is None
        assert store.videos_without_duration() == []  # durations read from the files
    finally:
        store.close()
    assert build_parser().parse_args(["serve", "--db", "x", "--videos-root", str(root),
                                 "--keep-v-prefix"]).keep_v_prefix
