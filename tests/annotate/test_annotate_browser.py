"""End to end in headless Chromium (Debian's /usr/bin/chromium driven by Playwright): the
clip tool and the segment tool against a real server, checked in the database and in the
exported HACS files. Screenshots go to the test's tmp output."""

from __future__ import annotations

import json
import os

import pytest
from tests_annotate_helpers import CHROMIUM, FRAME_SECONDS

from annotate.cli import main
from transforms.hacs_files import parse_clips_csv

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"{CHROMIUM} is missing: run scripts/setup-browser.sh")

SIGN_IN = ("localStorage.setItem('annotator', 'ann');"
           "localStorage.setItem('annotatorToken', 'ann-token');")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    # Playwright's wait_for_function evaluates its predicate with eval(), which the tools'
    # CSP forbids; test_csp_previews_and_videos_with_protected_reads runs under the CSP.
    context = browser.new_context(viewport={"width": 1100, "height": 760}, bypass_csp=True)
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert errors == [], errors


def test_csp_previews_and_videos_with_protected_reads(server, browser):
    """Under the server's CSP (no bypass), signed in from the stored token: the clip tool's
    previews and the segment tool's video load through the session cookie, nothing
    violates the CSP; the same media without the cookie are refused."""
    context = browser.new_context()
    pg = context.new_page()
    problems = []
    pg.on("pageerror", lambda exc: problems.append(str(exc)))
    # CSP violations are console errors; failed loads are checked by status instead
    pg.on("console", lambda m: m.type == "error" and "Failed to load" not in m.text
          and problems.append(m.text))
    pg.on("response", lambda r: r.status >= 400 and not r.url.endswith("/favicon.ico")
          and problems.append(f"{r.status} {r.url}"))
    pg.add_init_script(SIGN_IN)
    with pg.expect_response(lambda r: r.url.endswith("preview.jpg")) as preview:
        # no cookie yet: the page sends the browser to /signin, which signs in from the
        # stored token and comes back
        first = pg.goto(f"{server.url}/clips/Walking")
    assert first.url.startswith(f"{server.url}/signin?next=")
    assert pg.url == f"{server.url}/clips/Walking"
    assert preview.value.status == 200
    assert preview.value.headers["content-type"] == "image/jpeg"
    assert pg.locator("#grid .clip").count() == 4
    pg.goto(f"{server.url}/segments/Walking")
    pg.wait_for_url(f"{server.url}/segments/Walking")
    for _ in range(100):
        if pg.evaluate("document.getElementById('player').readyState") >= 2:
            break
        pg.wait_for_timeout(100)
    assert pg.evaluate("document.getElementById('player').duration") == pytest.approx(
        8.0, abs=FRAME_SECONDS)
    response = context.request.get(f"{server.url}/media/videos/vtest_a")  # the page's cookies
    assert response.status == 200 and response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    pg.goto(f"{server.url}/overview")  # the progress page renders under the CSP too
    assert pg.locator("#annotators tr[data-annotator='ann']").count() == 1
    context.clear_cookies()
    response = context.request.get(f"{server.url}/media/videos/vtest_a")
    assert response.status == 401 and "sign in" in response.json()["error"]
    context.close()
    assert problems == []


def test_clip_tool_flip_three_and_submit(server, dataset, page, tmp_path):
    guideline = tmp_path / "guidelines.json"
    guideline.write_text(json.dumps({"Walking": {
        "definition": "A person moves on foot at a normal pace, upright, legs alternating.",
        "positives": [dataset.clips[1].clip_id], "hard_negatives": [dataset.clips[6].clip_id]}}))
    assert main(["import-guidelines", "--db", server.db, str(guideline)]) == 0
    # a clip no shard holds: its tile loops that span of the source video instead
    extra = tmp_path / "extra.csv"
    extra.write_text("classname,youtube_id,subset,start,end,label\n"
                     "Walking,vtest_b,training,6.0,8.0,1\n")
    assert main(["import-clips", "--db", server.db, str(extra)]) == 0

    page.goto(f"{server.url}/clips/Walking")
    assert page.url.startswith(f"{server.url}/signin?next=")  # nothing shown before sign-in
    assert page.locator("#grid").count() == 0
    page.fill("#signin-name", "ann")
    page.fill("#signin-token", "wrong")
    page.click("#signin-button")
    page.wait_for_selector("#message.error:has-text('wrong token')")
    page.fill("#signin-name", "ann")
    page.fill("#signin-token", "ann-token")
    with page.expect_response(lambda r: r.url.endswith("preview.jpg") and r.status == 200):
        page.click("#signin-button")
    assert page.url == f"{server.url}/clips/Walking"
    tiles = page.locator("#grid .clip")
    tiles.nth(3).wait_for()
    assert tiles.count() == 4
    ids = [tiles.nth(i).get_attribute("data-clip-id") for i in range(4)]
    assert ids == [c.clip_id for c in dataset.clips[:4]]
    assert all("pos" in tiles.nth(i).get_attribute("class") for i in range(4))

    tiles.nth(0).click()
    tiles.nth(2).click()
    tiles.nth(1).focus()
    page.keyboard.press("Space")
    classes = [tiles.nth(i).get_attribute("class") for i in range(4)]
    assert ["neg" in c for c in classes] == [True, True, True, False]
    border = page.eval_on_selector("#grid .clip", "e => getComputedStyle(e).borderTopColor")
    assert border == "rgb(211, 47, 47)"  # red

    page.click("#guideline-button")
    page.wait_for_selector("#guideline-pos .preview")
    assert "moves on foot" in page.text_content("#guideline-text")
    page.wait_for_timeout(300)  # let the previews animate a few frames
    page.screenshot(path=str(tmp_path / "annotate-clips.png"))

    page.click("#submit")
    page.wait_for_function("document.querySelectorAll('#grid .clip').length === 3")
    assert page.text_content("#reviewed") == "4"
    assert page.text_content("#total") == "7"
    page.wait_for_function("""(v => v && v.readyState >= 2 && !v.seeking
                               && v.currentTime >= 6.0 && v.currentTime <= 8.0)
                              (document.querySelector('#grid .clip:nth-child(3) video'))""")
    labels = [server.store.clip("Walking", i) for i in ids]
    assert [(c.label, c.labelled_by, c.reviewed) for c in labels] == [
        (-1, "ann", True), (-1, "ann", True), (-1, "ann", True), (1, "ann", True)]
    out = tmp_path / "clips.csv"
    assert main(["export-clips", "--db", server.db, str(out)]) == 0
    rows = parse_clips_csv(out.read_text())
    assert [(r.classname, r.video_id, r.start, r.end, r.label) for r in rows] == [
        ("Walking", "vtest_a", 0.0, 2.0, -1), ("Walking", "vtest_a", 2.0, 4.0, -1),
        ("Walking", "vtest_a", 4.0, 6.0, -1), ("Walking", "vtest_a", 6.0, 8.0, 1),
        ("Walking", "vtest_b", 6.0, 8.0, 1)]
    # sign out: back on the sign-in page, token forgotten, the pages closed again
    page.click("#signout-button")
    page.wait_for_url(f"{server.url}/signin")
    assert page.evaluate("localStorage.getItem('annotator')") is None
    page.goto(f"{server.url}/overview")
    assert page.url.startswith(f"{server.url}/signin?next=")


def seek(page, t: float) -> float:
    """Seek the player to ``t`` seconds; return its currentTime once the seek finished."""
    return page.evaluate("""t => new Promise(resolve => {
        const v = document.getElementById('player');
        v.addEventListener('seeked', () => resolve(v.currentTime), {once: true});
        v.currentTime = t;
    })""", t)


def test_segment_tool_mark_delete_submit_reject(server, page, tmp_path):
    page.add_init_script(SIGN_IN)
    video_statuses = []
    page.on("response", lambda r: "/media/videos/" in r.url and video_statuses.append(r.status))
    page.goto(f"{server.url}/segments/Walking")
    page.wait_for_url(f"{server.url}/segments/Walking")  # back from the sign-in page
    page.wait_for_function("document.getElementById('player').readyState >= 2")
    assert page.text_content("#video-id") == "vtest_a"
    duration = page.evaluate("document.getElementById('player').duration")
    assert duration == pytest.approx(8.0, abs=FRAME_SECONDS)

    assert seek(page, 2.0) == pytest.approx(2.0, abs=1e-3)
    page.keyboard.press("z")
    assert page.locator("#zoom .pending").count() == 1
    assert page.eval_on_selector("#zoom .pending", "e => getComputedStyle(e).borderLeftStyle") \
        == "dashed"
    assert seek(page, 5.5) == pytest.approx(5.5, abs=1e-3)
    page.keyboard.press("z")
    assert page.locator("#zoom .pending").count() == 0
    seg = page.locator("#overview .seg")
    assert seg.count() == 1
    assert page.eval_on_selector("#overview .seg", "e => getComputedStyle(e).borderLeftStyle") \
        == "solid"

    # a second segment, selected in the zoomed view and deleted
    seek(page, 6.5)
    page.keyboard.press("z")
    seek(page, 7.5)
    page.keyboard.press("z")
    assert page.locator("#seglist li").count() == 2
    seek(page, 7.0)
    page.locator("#zoom .seg").last.click()
    page.wait_for_function("!document.getElementById('player').seeking")
    assert page.evaluate("document.getElementById('player').currentTime") == pytest.approx(6.5)
    assert page.is_visible("#delete")
    assert "selected" in page.locator("#seglist li").last.get_attribute("class")
    # a started segment (dashed) in a 5-second zoomed window around t = 3 s
    seek(page, 0.8)
    page.keyboard.press("z")
    seek(page, 3.0)
    page.click("#zoom-in")
    assert page.text_content("#window-info") == "0.500–5.500 s"
    page.wait_for_function("(v => v.readyState === 4 && v.networkState !== 2)"
                           "(document.getElementById('player'))")
    page.wait_for_timeout(1200)  # the player's seek spinner fades out
    page.screenshot(path=str(tmp_path / "annotate-segments.png"))
    page.keyboard.press("Escape")
    assert page.locator("#zoom .pending").count() == 0
    page.click("#delete")
    assert page.locator("#seglist li").count() == 1
    assert not page.is_visible("#delete")

    page.click("#submit")
    page.wait_for_function("document.getElementById('video-id').textContent === 'vtest_b'")
    out = tmp_path / "segments.json"
    assert main(["export-segments", "--db", server.db, str(out)]) == 0
    entry = json.loads(out.read_text())["database"]["vtest_a"]
    [annotation] = entry["annotations"]
    assert annotation["label"] == "Walking"
    assert annotation["segment"][0] == pytest.approx(2.0, abs=FRAME_SECONDS)
    assert annotation["segment"][1] == pytest.approx(5.5, abs=FRAME_SECONDS)
    assert entry["duration"] == pytest.approx(8.0, abs=FRAME_SECONDS)
    assert server.store.segment_history("Walking", "vtest_a")[-1]["annotator"] == "ann"

    page.wait_for_function("document.getElementById('player').readyState >= 2")
    page.click("#reject")
    assert "Choose a reason" in page.text_content("#message")
    page.select_option("#reject-reason", "too dark")
    page.click("#reject")
    page.wait_for_selector("#empty", state="visible")
    assert 206 in video_statuses  # the player seeks with HTTP range requests
    state = server.store.task_state("Walking", "vtest_b")
    assert (state["status"], state["reason"], state["done_by"]) == ("rejected", "too dark", "ann")
