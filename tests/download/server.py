"""The internet of the download tests: an HTTP server on 127.0.0.1 that serves the sample
videos (tests/data/videos/) and misbehaves on purpose, route by route.

    /v/<name>                 the video, with Content-Type and Content-Length
    /status/<code>            that status (404, 403, 410, ...)
    /flaky/<n>/<name>         500 for the first n requests of the path, then the video
    /busy/<seconds>/<name>    429 with Retry-After: <seconds> the first time, then the video
    /hop/<k>/<name>           a chain of k redirects, then the video
    /loop                     a redirect to itself
    /stall/<name>             headers and 1 kB, then silence
    /cut/<name>               announces the whole video, sends half, closes
    /cutonce/<name>           /cut the first time, then the video
    /html                     an HTML page (text/html)
    /fake.mp4                 an HTML page sent as video/mp4
    /endless                  video/mp4 without a length, bytes until the client stops
    /page/<name>[/<name>...]  an HTML page with a <video> of /v/<name> for each name (yt-dlp)
    /slow/<seconds>/<name>[/<tag>]  the video after a pause (a tag makes the path distinct)
    /trickle/<name>           the video, 16 kB every 0.1 s

``hits`` counts requests per path (query strings ignored), ``sent`` the body bytes sent,
``cookies`` holds the last Cookie header per path.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VIDEOS = os.path.join(os.path.dirname(__file__), "..", "data", "videos")
TYPES = {".mp4": "video/mp4", ".avi": "video/x-msvideo"}
HTML = (b"<!DOCTYPE html><html><head><title>Not a video</title></head>"
        b"<body><p>Sign in to continue.</p></body></html>")


class _Handler(BaseHTTPRequestHandler):
    server: TestServer

    def log_message(self, *args) -> None:
        pass

    def do_HEAD(self) -> None:
        self._route(body=False)

    def do_GET(self) -> None:
        self._route(body=True)

    def _send(self, status: int, data: bytes = b"", ctype: str = "text/plain",
              length: int | None = -1, headers: dict | None = None, body: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length is not None:
            self.send_header("Content-Length", str(len(data) if length == -1 else length))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if body and data:
            self._write(data)

    def _write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
            self.wfile.flush()
            self.server.add_sent(self.path, len(data))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _video(self, name: str, body: bool) -> None:
        with open(os.path.join(VIDEOS, name), "rb") as f:
            data = f.read()
        self._send(200, data, TYPES[os.path.splitext(name)[1]], body=body)

    def _route(self, body: bool) -> None:
        path = self.path.split("?")[0]
        hits = self.server.hit(path)
        self.server.cookies[path] = self.headers.get("Cookie")
        parts = path.strip("/").split("/")
        kind, args = parts[0], parts[1:]
        if kind == "v":
            self._video(args[0], body)
        elif kind == "status":
            self._send(int(args[0]), b"no", body=body)
        elif kind == "flaky":
            if hits <= int(args[0]):
                self._send(500, b"oops", body=body)
            else:
                self._video(args[1], body)
        elif kind == "busy":
            if hits == 1:
                self._send(429, b"slow down", headers={"Retry-After": args[0]}, body=body)
            else:
                self._video(args[1], body)
        elif kind == "hop":
            k = int(args[0])
            target = f"/hop/{k - 1}/{args[1]}" if k > 1 else f"/v/{args[1]}"
            self._send(302, headers={"Location": target}, body=body)
        elif kind == "loop":
            self._send(302, headers={"Location": "/loop"}, body=body)
        elif kind in ("stall", "cut", "cutonce"):
            with open(os.path.join(VIDEOS, args[0]), "rb") as f:
                data = f.read()
            if kind == "cutonce" and hits > 1:
                self._video(args[0], body)
                return
            self._send(200, ctype="video/mp4", length=len(data), body=body)
            if body:
                if kind == "stall":
                    self._write(data[:1024])
                    self.server.stop.wait(30)
                else:
                    self._write(data[:len(data) // 2])
        elif kind == "html":
            self._send(200, HTML, "text/html; charset=utf-8", body=body)
        elif kind == "fake.mp4":
            self._send(200, HTML, "video/mp4", body=body)
        elif kind == "endless":
            self._send(200, ctype="video/mp4", length=None, body=body)
            chunk = b"\0" * (64 << 10)
            while body and not self.server.stop.is_set():
                try:
                    self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    return
                self.server.add_sent(path, len(chunk))
                if self.server.sent[path] > (256 << 20):
                    return
        elif kind == "page":
            videos = "".join(f'<video src="/v/{name}" type="{TYPES[os.path.splitext(name)[1]]}">'
                             "</video>" for name in args)
            page = (f"<!DOCTYPE html><html><head><title>{args[0]}</title></head><body>"
                    f"{videos}</body></html>").encode()
            self._send(200, page, "text/html; charset=utf-8", body=body)
        elif kind == "trickle":
            with open(os.path.join(VIDEOS, args[0]), "rb") as f:
                data = f.read()
            self._send(200, ctype="video/mp4", length=len(data), body=body)
            for start in range(0, len(data) if body else 0, 16 << 10):
                if self.server.stop.wait(0.1):
                    return
                self._write(data[start:start + (16 << 10)])
        elif kind == "slow":
            time.sleep(float(args[0]))
            self._video(args[1], body)
        else:
            self._send(404, b"no such route", body=body)


class TestServer(ThreadingHTTPServer):
    """The server on 127.0.0.1 (a free port); ``start()`` serves from a thread, ``close()``
    ends every request it holds (a stalled one too) and the thread."""

    daemon_threads = True
    __test__ = False  # not a pytest class

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: Counter = Counter()
        self.sent: Counter = Counter()
        self.cookies: dict[str, str | None] = {}  # the Cookie header last sent, per path
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def hit(self, path: str) -> int:
        with self._lock:
            self.hits[path] += 1
            return self.hits[path]

    def add_sent(self, path: str, n: int) -> None:
        with self._lock:
            self.sent[path.split("?")[0]] += n

    def start(self) -> TestServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.shutdown()
        self.server_close()
        self._thread.join(5)
