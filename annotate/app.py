"""The annotation web app (Flask): clip tool, segment tool, their JSON API and media.

API calls need the headers ``X-Annotator`` and ``X-Token``, or the signed session cookie
that a successful ``/api/whoami`` sets (so ``<video>`` and ``<img>`` can load media, and the
HTML pages open: without it they redirect to ``/signin``, the one page without data); every
answer to a bad request is a 4xx with ``{"error": "<what is wrong>"}`` and leaves the
database unchanged. Requests must name an allowed ``Host`` (against DNS rebinding), bodies
are at most ``MAX_BODY_BYTES`` of JSON at most ``MAX_JSON_DEPTH`` deep.
"""

from __future__ import annotations

import json
import mimetypes
import secrets
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import asdict
from threading import Lock
from typing import Any

from flask import (
    Flask,
    Response,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_range_header

from annotate.media import PREVIEW_MAX_FRAMES, preview_strip, read_record, resolve_inside
from annotate.store import ApiError, ClipItem, SegmentTask, Store

DEFAULT_PAGE_SIZE = 12
PREVIEW_CACHE = 512  # preview strips kept in memory (about 70 kB each: 16 frames, 112 px high)
MAX_BODY_BYTES = 1 << 20  # a page of 500 clips' labels is about 25 kB
MAX_JSON_DEPTH = 8  # the deepest body the API takes is {"segments": [[s, e]]}: 3
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
PAGES = ("index", "clips_tool", "segments_tool", "overview")  # HTML behind the sign-in
OPEN_ENDPOINTS = ("whoami", "signout")  # API calls that do not need a signed-in reader
# Scripts and styles only from our static files (no inline script); media and previews
# only from this server; the tools may not be framed by another site.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "media-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


class _PreviewCache:
    """A small thread-safe LRU of ``clip_id -> (jpeg, frames)``."""

    def __init__(self, size: int):
        self.size, self._items, self._lock = size, OrderedDict(), Lock()

    def get(self, key: str) -> tuple[bytes, int] | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: str, value: tuple[bytes, int]) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar is 0)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in (item.values() if isinstance(item, dict)
                                                  else item))
    return deepest


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _body() -> dict[str, Any]:
    """The request's JSON object body; 400 for anything else (not JSON, not an object,
    NaN/Infinity, nested deeper than MAX_JSON_DEPTH), 413 above MAX_BODY_BYTES."""
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise ApiError(400, f"the JSON body nests too deeply (at most {MAX_JSON_DEPTH} "
                            "levels)") from None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object "
                            "(Content-Type: application/json)")
    if _depth(data) > MAX_JSON_DEPTH:
        raise ApiError(400, f"the JSON body nests too deeply (at most {MAX_JSON_DEPTH} levels)")
    return data


def _who() -> tuple[str | None, str | None]:
    return request.headers.get("X-Annotator"), request.headers.get("X-Token")


def _host_name(host: str) -> str:
    """``Host`` header without its port; IPv6 literals without brackets."""
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _local_path(target: str | None) -> str:
    """``target`` if it is a path on this server (``/...``, not ``//host``), else ``/``:
    where the sign-in page may send the browser back to."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _clip_json(item: ClipItem) -> dict[str, Any]:
    return {"clip_id": item.clip_id, "video_id": item.video_id, "start": item.start,
            "end": item.end, "label": item.label,
            "preview_frames": min(item.num_frames, PREVIEW_MAX_FRAMES),
            "has_video": item.has_video,
            "labelled_by": item.labelled_by}


def _task_json(task: SegmentTask) -> dict[str, Any]:
    return {"classname": task.classname, "video_id": task.video_id, "version": task.version,
            "duration": task.duration, "status": task.status,
            "segments": [[s.start, s.end] for s in task.segments]}


def create_app(store: Store, videos_root: str, page_size: int = DEFAULT_PAGE_SIZE,
               allowed_hosts: Iterable[str] = LOCAL_HOSTS) -> Flask:
    """The app over ``store``; videos are served only from ``videos_root``; requests whose
    ``Host`` (without port) is not in ``allowed_hosts`` are refused (400)."""
    app = Flask(__name__)
    app.json.sort_keys = False
    # Session cookies are signed with a key of this process: a restart signs everyone out
    # of media, and the pages sign in again from the token they keep.
    app.config.update(SECRET_KEY=secrets.token_bytes(32), MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
                      SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_HTTPONLY=True)
    hosts = {h.lower().strip("[]") for h in allowed_hosts}
    previews = _PreviewCache(PREVIEW_CACHE)

    def reader() -> str:
        """The annotator of this read: from the headers, else from the session cookie."""
        name, token = _who()
        if name or token or "annotator" not in session:
            return store.check_annotator(name, token)
        return store.check_session(session["annotator"], session.get("key", ""))

    @app.before_request
    def check_request():
        host = _host_name(request.headers.get("Host", "")).lower()
        if host not in hosts:
            raise ApiError(400, f"Host {host!r} is not served here (allowed: "
                                f"{', '.join(sorted(hosts))}; see --allowed-host)")
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise ApiError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
        if request.endpoint in PAGES:
            try:
                reader()
            except ApiError:
                target = request.full_path if request.query_string else request.path
                return redirect(url_for("signin", next=target))
        elif (request.path.startswith(("/api/", "/media/"))
              and request.endpoint not in OPEN_ENDPOINTS):
            reader()
        return None

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return jsonify(error=exc.message), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith("/api/") or exc.code == 413:
            return jsonify(error=exc.description), exc.code
        return exc

    # -- pages --------------------------------------------------------------------------------

    @app.get("/signin")
    def signin():
        return render_template("signin.html", next=_local_path(request.args.get("next")))

    @app.get("/overview")
    def overview():
        return render_template("overview.html", **store.overview())

    @app.get("/")
    def index():
        return render_template("index.html", clip_classes=store.clip_classes(),
                               segment_classes=store.segment_classes())

    @app.get("/clips/<classname>")
    def clips_tool(classname: str):
        progress = store.clip_progress(classname)
        if progress["total"] == 0:
            raise ApiError(404, f"no clips for class {classname!r}")
        return render_template("clips.html", classname=classname, page_size=page_size,
                               progress=progress)

    @app.get("/segments/<classname>")
    def segments_tool(classname: str):
        return render_template("segments.html", classname=classname)

    # -- API: annotators ----------------------------------------------------------------------

    @app.post("/api/whoami")
    def whoami():
        name, token = _who()
        store.check_annotator(name, token)
        session["annotator"], session["key"] = name, store.session_key(name)
        return jsonify(annotator=name)

    @app.post("/api/signout")
    def signout():
        session.clear()
        return jsonify(signed_out=True)

    # -- API: clips ---------------------------------------------------------------------------

    @app.post("/api/clips/<classname>/pages")
    def open_page(classname: str):
        size = _body().get("size", page_size)
        if not isinstance(size, int) or isinstance(size, bool):
            raise ApiError(400, "'size' must be an integer")
        name, token = _who()
        page_id, items = store.open_page(classname, name, token, size)
        return jsonify(page_id=page_id, clips=[_clip_json(i) for i in items],
                       progress=store.clip_progress(classname),
                       lease_seconds=store.lease_seconds)

    @app.post("/api/pages/<page_id>/renew")
    def renew_page(page_id: str):
        _body()
        return jsonify(lease_seconds=store.renew_page(page_id, *_who()))

    @app.post("/api/pages/<page_id>/submit")
    def submit_page(page_id: str):
        labels = _body().get("labels")
        name, token = _who()
        saved = store.submit_page(page_id, name, token, labels)
        return jsonify(saved=saved)

    @app.get("/api/clips/<classname>/<clip_id>")
    def clip_info(classname: str, clip_id: str):
        item = store.clip(classname, clip_id)
        return jsonify(**asdict(item), history=store.clip_history(classname, clip_id))

    @app.get("/api/guidelines/<classname>")
    def guideline(classname: str):
        g = store.guideline(classname)
        if g is None:
            raise ApiError(404, f"no guideline for class {classname!r}")
        def examples(clip_ids: tuple[str, ...]) -> list[dict[str, Any]]:
            media = [store.clip_media(c) for c in clip_ids]
            return [{"clip_id": c, "preview_frames": min(m[3], PREVIEW_MAX_FRAMES) if m else 0}
                    for c, m in zip(clip_ids, media, strict=True)]

        return jsonify(classname=g.classname, definition=g.definition,
                       positives=examples(g.positives),
                       hard_negatives=examples(g.hard_negatives))

    @app.get("/media/clips/<clip_id>/preview.jpg")
    def clip_preview(clip_id: str):
        cached = previews.get(clip_id)
        if cached is None:
            where = store.clip_media(clip_id)
            if where is None:
                raise ApiError(404, f"no shard holds clip {clip_id!r}")
            cached = preview_strip(read_record(*where[:3]))
            previews.put(clip_id, cached)
        response = Response(cached[0], mimetype="image/jpeg")
        response.headers["X-Preview-Frames"] = str(cached[1])
        response.headers["Cache-Control"] = "max-age=3600"
        return response

    # -- API: segments ------------------------------------------------------------------------

    @app.post("/api/segments/<classname>/next")
    def next_task(classname: str):
        task = store.next_task(classname, *_who())
        if task is None:
            return jsonify(done=True, classes=store.segment_classes())
        progress = next(c for c in store.segment_classes() if c["classname"] == classname)
        return jsonify(done=False, task=_task_json(task), progress=progress)

    @app.post("/api/segments/<classname>/<video_id>/submit")
    def submit_segments(classname: str, video_id: str):
        body = _body()
        name, token = _who()
        saved = store.submit_segments(classname, video_id, name, token, body.get("version"),
                                      body.get("segments"), body.get("duration"))
        return jsonify(saved=saved)

    @app.post("/api/segments/<classname>/<video_id>/reject")
    def reject_video(classname: str, video_id: str):
        body = _body()
        name, token = _who()
        store.reject_video(classname, video_id, name, token, body.get("version"),
                           body.get("reason"))
        return jsonify(rejected=True)

    @app.get("/media/videos/<video_id>")
    def video(video_id: str):
        relative = store.video_path(video_id)
        path = resolve_inside(videos_root, relative) if relative else None
        if path is None:
            raise ApiError(404, f"no video file for {video_id!r}")
        mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        ranges = request.headers.get("Range")
        if ranges is not None:
            parsed = parse_range_header(ranges)
            if parsed is None or parsed.units != "bytes" or len(parsed.ranges) != 1:
                # RFC 9110 14.2: a server may ignore Range; we answer invalid, multi-range or
                # non-byte ranges with the whole file (200), not 416
                request.environ.pop("HTTP_RANGE", None)
        return send_file(path, mimetype=mimetype, conditional=True, max_age=0)

    return app
