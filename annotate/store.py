"""The annotation database: SQLite (WAL) tables for clips, segments, annotators and history.

Every write runs in one ``BEGIN IMMEDIATE`` transaction, so concurrent writers are serialized
by SQLite: nothing is lost, the later commit wins, and each write leaves a history row that
says who and when. Request problems raise :class:`ApiError` with an HTTP status *before*
anything is written (the transaction is rolled back), so a bad request changes nothing.

Times stored here are seconds (clip and segment spans) and ISO 8601 UTC strings (when).

Clips may be labelled by several annotators (``labels_per_clip``): every label given in the
clip tool is a row of ``clip_votes`` (one per clip and annotator), ``clips.reviewed`` counts
them, and ``clips.label`` is the majority (a tie is negative: the action was not shown to a
majority). A clip leaves the queue once it has ``labels_per_clip`` labels; the leases of open
pages (``clip_leases``, one per clip and annotator) count toward that number.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from annotate.formats import ClipVotes, Guideline
from transforms.hacs_files import (
    ClipLabel,
    FormatError,
    Segment,
    SegmentsFile,
    SegmentVideo,
    SourceNumber,
    check_span,
    default_taxonomy,
    dump_json,
    load_json,
)
from transforms.output.records import NEGATIVE, POSITIVE, ClipRecord, make_clip_id

DEFAULT_SEGMENTS_VERSION = "HACS Segments v1.1"
CLAIM_SECONDS = 30 * 60  # a segment task opened by one annotator is theirs for this long
# A clip page is leased to its annotator for this long; the page renews it while it is open
# (every third of the lease), so a closed tab gives its clips back after at most this.
DEFAULT_LEASE_SECONDS = 5 * 60
IMPORT_ANNOTATOR = "import"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS annotators (
  name TEXT PRIMARY KEY, token_sha256 TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS clip_media (
  clip_id TEXT PRIMARY KEY, shard TEXT NOT NULL, offset INTEGER NOT NULL,
  length INTEGER NOT NULL, num_frames INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS clips (
  id INTEGER PRIMARY KEY, classname TEXT NOT NULL, clip_id TEXT NOT NULL,
  video_id TEXT NOT NULL, subset TEXT NOT NULL, start REAL NOT NULL, "end" REAL NOT NULL,
  label INTEGER NOT NULL, labelled_by TEXT, labelled_at TEXT,
  reviewed INTEGER NOT NULL DEFAULT 0, guess INTEGER, UNIQUE (classname, clip_id));
CREATE TABLE IF NOT EXISTS clip_votes (
  classname TEXT NOT NULL, clip_id TEXT NOT NULL, annotator TEXT NOT NULL,
  label INTEGER NOT NULL, page TEXT NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (classname, clip_id, annotator));
CREATE TABLE IF NOT EXISTS clip_leases (
  classname TEXT NOT NULL, clip_id TEXT NOT NULL, annotator TEXT NOT NULL,
  page TEXT NOT NULL, until REAL NOT NULL, PRIMARY KEY (classname, clip_id, annotator));
CREATE TABLE IF NOT EXISTS clip_history (
  id INTEGER PRIMARY KEY, classname TEXT NOT NULL, clip_id TEXT NOT NULL,
  label INTEGER NOT NULL, annotator TEXT NOT NULL, at TEXT NOT NULL, source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
  id TEXT PRIMARY KEY, classname TEXT NOT NULL, annotator TEXT NOT NULL,
  clip_ids TEXT NOT NULL, created_at TEXT NOT NULL, submitted_at TEXT);
CREATE TABLE IF NOT EXISTS videos (
  video_id TEXT PRIMARY KEY, subset TEXT NOT NULL DEFAULT '', duration REAL,
  url TEXT NOT NULL DEFAULT '', path TEXT, extra TEXT NOT NULL DEFAULT '{}',
  imported_order INTEGER, entry_keys TEXT, duration_json TEXT);
CREATE TABLE IF NOT EXISTS segment_tasks (
  id INTEGER PRIMARY KEY, classname TEXT NOT NULL, video_id TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending', reason TEXT, version INTEGER NOT NULL DEFAULT 0,
  claimed_by TEXT, claimed_at TEXT, done_by TEXT, done_at TEXT, UNIQUE (classname, video_id));
CREATE TABLE IF NOT EXISTS segments (
  id INTEGER PRIMARY KEY, video_id TEXT NOT NULL, label TEXT NOT NULL, start REAL NOT NULL,
  "end" REAL NOT NULL, annotator TEXT NOT NULL, at TEXT NOT NULL, source TEXT);
CREATE TABLE IF NOT EXISTS segment_history (
  id INTEGER PRIMARY KEY, classname TEXT NOT NULL, video_id TEXT NOT NULL,
  action TEXT NOT NULL, detail TEXT NOT NULL, annotator TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS guidelines (
  classname TEXT PRIMARY KEY, definition TEXT NOT NULL, positives TEXT NOT NULL,
  hard_negatives TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS clips_queue ON clips (classname, reviewed, id);
CREATE INDEX IF NOT EXISTS clip_votes_annotator ON clip_votes (annotator);
CREATE INDEX IF NOT EXISTS segments_video ON segments (video_id, label);
"""
# Columns added since the first schema: (table, column definition), added to older databases.
# videos.entry_keys: the imported entry's keys in order (JSON list); videos.duration_json and
# segments.source: the imported duration / annotation object as the file wrote it (JSON).
# clips.guess: the starting label (the shard's annotation or the imported one), what every
# annotator's page starts from, so that no one sees another's label.
_ADDED_COLUMNS = (("videos", "entry_keys TEXT"), ("videos", "duration_json TEXT"),
                  ("segments", "source TEXT"), ("clips", "guess INTEGER"))


class ApiError(Exception):
    """A request the store refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def now() -> str:
    """The current UTC time as ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ClipItem:
    """A clip in a class's queue: span in seconds, current ``label`` (1 / -1), its frame
    count in a shard (0: no shard holds it) and whether its source video file is served.
    ``labelled_by``/``labelled_at``: the last label given (or the import)."""

    classname: str
    clip_id: str
    video_id: str
    subset: str
    start: float
    end: float
    label: int
    labelled_by: str | None
    labelled_at: str | None
    reviewed: bool  # it has all the labels the store asks for (labels_per_clip)
    num_frames: int
    has_video: bool
    votes: int  # labels given in the clip tool so far


@dataclass(frozen=True)
class SegmentTask:
    """One video in an action's segment queue, with that action's current segments."""

    classname: str
    video_id: str
    status: str
    version: int
    duration: float | None
    has_media: bool
    segments: tuple[Segment, ...]


class Store:
    """The annotation database at ``path`` (created on first use)."""

    def __init__(self, path: str, lease_seconds: float = DEFAULT_LEASE_SECONDS,
                 labels_per_clip: int = 1):
        """``lease_seconds``: how long a clip page stays reserved for its annotator without
        a renewal; ``labels_per_clip``: how many different annotators label each clip."""
        if not lease_seconds > 0:
            raise ValueError("lease_seconds must be > 0")
        if labels_per_clip < 1:
            raise ValueError("labels_per_clip must be >= 1")
        self.path = path
        self.lease_seconds = float(lease_seconds)
        self.labels_per_clip = int(labels_per_clip)
        # Held open for the store's life: when the last connection to a WAL database closes,
        # SQLite checkpoints and syncs, which would otherwise happen after every request.
        self._keeper = self._connect()
        tables = {r[0] for r in self._keeper.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        self._keeper.executescript(_SCHEMA)
        for table, column in _ADDED_COLUMNS:
            if column.split()[0] not in {r[1] for r in self._keeper.execute(
                    f"PRAGMA table_info({table})")}:
                self._keeper.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
        if "clips" in tables and "clip_votes" not in tables:
            # a database from before votes: each reviewed clip had one label, its annotator's
            self._keeper.execute(
                "INSERT OR IGNORE INTO clip_votes SELECT classname, clip_id, labelled_by, "
                "label, '', labelled_at FROM clips WHERE reviewed > 0 AND labelled_by IS NOT "
                "NULL")

    def close(self) -> None:
        self._keeper.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One immediate transaction: committed on success, rolled back on any error."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    # -- annotators ---------------------------------------------------------------------------

    def add_annotator(self, name: str, token: str | None = None) -> str:
        """Create (or re-key) annotator ``name``; return their token."""
        if not name.strip():
            raise ApiError(400, "annotator name must not be empty")
        token = token or secrets.token_urlsafe(16)
        with self._write() as conn:
            conn.execute("INSERT INTO annotators (name, token_sha256, created_at) "
                         "VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                         "token_sha256 = excluded.token_sha256",
                         (name, _sha256(token), now()))
        return token

    def _check(self, conn: sqlite3.Connection, name: str | None, token: str | None) -> str:
        if not name or not token:
            raise ApiError(401, "sign in: annotator name and token are required")
        row = conn.execute("SELECT token_sha256 FROM annotators WHERE name = ?",
                           (name,)).fetchone()
        if row is None or not hmac.compare_digest(row["token_sha256"], _sha256(token)):
            raise ApiError(403, "unknown annotator or wrong token")
        return name

    def session_key(self, name: str) -> str:
        """What a session cookie holds besides the name: a digest of the token's hash, so a
        new token (``add-annotator`` again) ends the annotator's sessions."""
        with self._read() as conn:
            row = conn.execute("SELECT token_sha256 FROM annotators WHERE name = ?",
                               (name,)).fetchone()
        return "" if row is None else _sha256("session:" + row["token_sha256"])

    def check_session(self, name: str, key: str) -> str:
        """Return ``name`` if ``key`` is their current :meth:`session_key`, else 403."""
        current = self.session_key(name)
        if not current or not hmac.compare_digest(current, str(key)):
            raise ApiError(403, "the session has ended (a new token?): sign in again")
        return name

    def check_annotator(self, name: str | None, token: str | None) -> str:
        """Return ``name`` if the token is right, else raise ApiError 401/403."""
        with self._read() as conn:
            return self._check(conn, name, token)

    # -- clips: catalogue and imports ---------------------------------------------------------

    def add_shard_clips(self, located: Iterable[tuple[ClipRecord, str, int, int]]) -> int:
        """Register clips read from shards: ``(record, shard path, offset, length)``.

        A clip joins the queue of its ``label_name`` (records without one only get their
        media registered); its starting label is the record's annotation, or positive when
        the record is not annotated yet. Existing queue entries keep their labels. Returns the
        number of new queue entries."""
        added = 0
        with self._write() as conn:
            for rec, shard, offset, length in located:
                conn.execute("INSERT INTO clip_media VALUES (?, ?, ?, ?, ?) ON CONFLICT "
                             "(clip_id) DO UPDATE SET shard = excluded.shard, "
                             "offset = excluded.offset, length = excluded.length, "
                             "num_frames = excluded.num_frames",
                             (rec.clip_id, shard, offset, length, rec.num_frames))
                conn.execute("INSERT INTO videos (video_id, subset, url) VALUES (?, ?, ?) "
                             "ON CONFLICT (video_id) DO NOTHING",
                             (rec.video_id, rec.subset, rec.source_uri))
                if not rec.label_name:
                    continue
                label = rec.annotation if rec.annotation in (POSITIVE, NEGATIVE) else POSITIVE
                cur = conn.execute(
                    'INSERT INTO clips (classname, clip_id, video_id, subset, start, "end", '
                    "label, guess) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (rec.label_name, rec.clip_id, rec.video_id, rec.subset, rec.start,
                     rec.end, label, label))
                added += cur.rowcount
                conn.execute("INSERT INTO segment_tasks (classname, video_id) VALUES (?, ?) "
                             "ON CONFLICT DO NOTHING", (rec.label_name, rec.video_id))
        return added

    def import_clips(self, rows: Sequence[ClipLabel], source: str) -> int:
        """Load Clips CSV rows: each becomes (or updates) a queue entry with that label,
        recorded as set by ``import`` (history source ``source``). Returns the row count."""
        at = now()
        with self._write() as conn:
            for r in rows:
                clip_id = make_clip_id(r.video_id, r.start, r.end)
                conn.execute(
                    'INSERT INTO clips (classname, clip_id, video_id, subset, start, "end", '
                    "label, labelled_by, labelled_at, guess) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                    "?) ON CONFLICT (classname, clip_id) DO UPDATE SET subset = excluded.subset, "
                    'start = excluded.start, "end" = excluded."end", label = excluded.label, '
                    "labelled_by = excluded.labelled_by, labelled_at = excluded.labelled_at, "
                    "guess = excluded.guess",
                    (r.classname, clip_id, r.video_id, r.subset, r.start, r.end, r.label,
                     IMPORT_ANNOTATOR, at, r.label))
                conn.execute("INSERT INTO clip_history (classname, clip_id, label, annotator, "
                             "at, source) VALUES (?, ?, ?, ?, ?, ?)",
                             (r.classname, clip_id, r.label, IMPORT_ANNOTATOR, at, source))
        return len(rows)

    def export_clip_votes(self) -> list[ClipVotes]:
        """Every clip with a decided label (imported or submitted), in queue order, with the
        labels given to it in the clip tool (annotator, label), in the order they came."""
        with self._read() as conn:
            conn.execute("BEGIN")  # one snapshot for the clips and their votes
            rows = conn.execute('SELECT classname, clip_id, video_id, subset, start, "end", '
                                "label FROM clips WHERE labelled_by IS NOT NULL ORDER BY id"
                                ).fetchall()
            votes: dict[tuple[str, str], list[tuple[str, int]]] = {}
            for v in conn.execute("SELECT classname, clip_id, annotator, label FROM clip_votes "
                                  "ORDER BY at, rowid"):
                votes.setdefault((v[0], v[1]), []).append((v[2], v[3]))
        return [ClipVotes(ClipLabel(r[0], r[2], r[3], r[4], r[5], r[6]),
                          tuple(votes.get((r[0], r[1]), ()))) for r in rows]

    def clip_media(self, clip_id: str) -> tuple[str, int, int, int] | None:
        """``(shard, offset, length, frame count)`` of a clip's record (offset and length in
        bytes), None if no shard holds it."""
        with self._read() as conn:
            row = conn.execute("SELECT shard, offset, length, num_frames FROM clip_media "
                               "WHERE clip_id = ?", (clip_id,)).fetchone()
        return None if row is None else (row[0], row[1], row[2], row[3])

    # -- clips: the labelling tool ------------------------------------------------------------

    def clip_classes(self) -> list[dict[str, Any]]:
        """Per class: clips in the queue and how many were reviewed (have all their
        labels)."""
        with self._read() as conn:
            rows = conn.execute("SELECT classname, COUNT(*), SUM(reviewed >= ?) FROM clips "
                                "GROUP BY classname ORDER BY classname",
                                (self.labels_per_clip,)).fetchall()
        return [{"classname": r[0], "total": r[1], "reviewed": r[2] or 0} for r in rows]

    def clip_progress(self, classname: str) -> dict[str, int]:
        """``{"total": clips of the class, "reviewed": those with all their labels}``."""
        with self._read() as conn:
            row = conn.execute("SELECT COUNT(*), COALESCE(SUM(reviewed >= ?), 0) FROM clips "
                               "WHERE classname = ?",
                               (self.labels_per_clip, classname)).fetchone()
        return {"total": row[0], "reviewed": row[1]}

    def _items(self, conn: sqlite3.Connection, where: str, args: tuple, limit: int = -1,
               label: str = "c.label") -> list[ClipItem]:
        """Clips matching ``where``; ``label``: the column they are shown with."""
        rows = conn.execute(
            'SELECT c.classname, c.clip_id, c.video_id, c.subset, c.start, c."end", '
            f"{label}, c.labelled_by, c.labelled_at, c.reviewed, COALESCE(m.num_frames, 0), "
            "v.path IS NOT NULL FROM clips c LEFT JOIN clip_media m ON m.clip_id = c.clip_id "
            f"LEFT JOIN videos v ON v.video_id = c.video_id WHERE {where} ORDER BY c.id "
            "LIMIT ?", (*args, limit)).fetchall()
        return [ClipItem(*r[:9], r[9] >= self.labels_per_clip, r[10], bool(r[11]), r[9])
                for r in rows]

    def clip(self, classname: str, clip_id: str) -> ClipItem:
        with self._read() as conn:
            items = self._items(conn, "c.classname = ? AND c.clip_id = ?", (classname, clip_id))
        if not items:
            raise ApiError(404, f"unknown clip {clip_id!r} in class {classname!r}")
        return items[0]

    def clip_history(self, classname: str, clip_id: str) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute("SELECT label, annotator, at, source FROM clip_history WHERE "
                                "classname = ? AND clip_id = ? ORDER BY id",
                                (classname, clip_id)).fetchall()
        return [dict(r) for r in rows]

    def open_page(self, classname: str, annotator: str, token: str | None,
                  size: int) -> tuple[str | None, list[ClipItem]]:
        """Issue the next page (up to ``size`` clips) of ``classname`` to an annotator and
        lease its clips to them for ``lease_seconds``; returns ``(page id, clips)``,
        ``(None, [])`` when no clip is free for them.

        A clip is free for an annotator who has not labelled it yet while its labels plus
        the live leases of other annotators are fewer than ``labels_per_clip``: with one
        label per clip, pages are disjoint; with N, a clip goes to N different annotators.
        Clips the annotator already holds (an open page they reloaded) move to the new page;
        clips whose lease expired are free again."""
        if size < 1 or size > 500:
            raise ApiError(400, "page size must be between 1 and 500")
        with self._write() as conn:
            self._check(conn, annotator, token)
            if not conn.execute("SELECT 1 FROM clips WHERE classname = ? LIMIT 1",
                                (classname,)).fetchone():
                raise ApiError(404, f"unknown class {classname!r}")
            clock = time.time()
            conn.execute("DELETE FROM clip_leases WHERE until < ?", (clock,))
            n = self.labels_per_clip
            items = self._items(
                conn, "c.classname = ? AND c.reviewed < ? AND NOT EXISTS (SELECT 1 FROM "
                "clip_votes v WHERE v.classname = c.classname AND v.clip_id = c.clip_id AND "
                "v.annotator = ?) AND c.reviewed + (SELECT COUNT(*) FROM clip_leases l WHERE "
                "l.classname = c.classname AND l.clip_id = c.clip_id AND l.annotator != ?) < ?",
                (classname, n, annotator, annotator, n), size,
                # every annotator starts from the starting guess, not from others' labels
                label="COALESCE(c.guess, c.label)")
            if not items:
                return None, []
            page_id = uuid.uuid4().hex
            conn.execute("INSERT INTO pages VALUES (?, ?, ?, ?, ?, NULL)",
                         (page_id, classname, annotator,
                          json.dumps([i.clip_id for i in items]), now()))
            self._lease(conn, classname, [i.clip_id for i in items], annotator, page_id,
                        clock + self.lease_seconds)
        return page_id, items

    @staticmethod
    def _lease(conn: sqlite3.Connection, classname: str, clip_ids: Sequence[str],
               annotator: str, page_id: str, until: float) -> None:
        conn.executemany("INSERT INTO clip_leases VALUES (?, ?, ?, ?, ?) ON CONFLICT "
                         "(classname, clip_id, annotator) DO UPDATE SET page = excluded.page, "
                         "until = excluded.until",
                         [(classname, c, annotator, page_id, until) for c in clip_ids])

    def _own_page(self, conn: sqlite3.Connection, page_id: str,
                  annotator: str) -> sqlite3.Row:
        page = conn.execute("SELECT * FROM pages WHERE id = ?", (page_id,)).fetchone()
        if page is None:
            raise ApiError(404, f"unknown page {page_id!r}")
        if page["annotator"] != annotator:
            raise ApiError(403, "this page was given to another annotator")
        if page["submitted_at"] is not None:
            raise ApiError(409, f"page {page_id} was already submitted at "
                                f"{page['submitted_at']}")
        return page

    def _check_lease(self, conn: sqlite3.Connection, page: sqlite3.Row,
                     clock: float) -> None:
        """Refuse (409) a page with clips the annotator already labelled, clips that have
        all their labels, or clips whose free places live leases of others now fill.
        A lapsed lease nobody took over still counts as the page's."""
        lost: dict[str, list[str]] = {}
        me, classname = page["annotator"], page["classname"]
        for clip_id in json.loads(page["clip_ids"]):
            voters = [r[0] for r in conn.execute(
                "SELECT annotator FROM clip_votes WHERE classname = ? AND clip_id = ? "
                "ORDER BY at, rowid", (classname, clip_id))]
            leases = conn.execute("SELECT annotator, page FROM clip_leases WHERE classname = ? "
                                  "AND clip_id = ? AND until >= ? ORDER BY until",
                                  (classname, clip_id, clock)).fetchall()
            mine = [lease["page"] for lease in leases if lease["annotator"] == me]
            others = [lease["annotator"] for lease in leases if lease["annotator"] != me]
            if me in voters or len(voters) >= self.labels_per_clip:
                lost.setdefault(f"already labelled by {', '.join(voters)}", []).append(clip_id)
            elif mine and mine[0] != page["id"]:
                lost.setdefault("leased to you, on a newer page", []).append(clip_id)
            elif not mine and len(voters) + len(others) >= self.labels_per_clip:
                lost.setdefault(f"leased to {', '.join(others)}", []).append(clip_id)
        if lost:
            detail = "; ".join(f"{why}: {', '.join(ids)}" for why, ids in lost.items())
            raise ApiError(409, f"this page's lease expired and its clips were handed out "
                                f"again ({detail}); open a new page")

    def renew_page(self, page_id: str, annotator: str | None, token: str | None) -> float:
        """Extend the lease of an open page by ``lease_seconds`` from now; returns the
        lease length in seconds. 409 when its clips went to someone else meanwhile."""
        with self._write() as conn:
            self._check(conn, annotator, token)
            page = self._own_page(conn, page_id, annotator)
            clock = time.time()
            self._check_lease(conn, page, clock)
            self._lease(conn, page["classname"], json.loads(page["clip_ids"]), annotator,
                        page_id, clock + self.lease_seconds)
        return self.lease_seconds

    def submit_page(self, page_id: str, annotator: str | None, token: str | None,
                    labels: Any) -> int:
        """Save the labels (``{clip_id: 1 or -1}`` for every clip of the page) of a page the
        annotator was given. A page is submitted once (409 the second time), and only while
        its clips' places are not taken by others (409). Each label is the annotator's vote;
        a clip's ``label`` becomes the majority of its votes. Returns the clips saved."""
        with self._write() as conn:
            self._check(conn, annotator, token)
            page = self._own_page(conn, page_id, annotator)
            if not isinstance(labels, dict):
                raise ApiError(400, "'labels' must be an object {clip_id: 1 or -1}")
            expected = json.loads(page["clip_ids"])
            unknown = sorted(set(labels) - set(expected))
            if unknown:
                raise ApiError(400, f"unknown clip ids for this page: {', '.join(unknown)}")
            missing = [c for c in expected if c not in labels]
            if missing:
                raise ApiError(400, f"labels missing for clips: {', '.join(missing)}")
            bad = [c for c, v in labels.items()
                   if isinstance(v, bool) or v not in (POSITIVE, NEGATIVE)]
            if bad:
                raise ApiError(400, f"labels must be 1 or -1; bad for: {', '.join(bad)}")
            self._check_lease(conn, page, time.time())
            at, classname = now(), page["classname"]
            for clip_id in expected:
                conn.execute("INSERT INTO clip_votes VALUES (?, ?, ?, ?, ?, ?)",
                             (classname, clip_id, annotator, labels[clip_id], page_id, at))
                conn.execute(
                    "UPDATE clips SET label = (SELECT CASE WHEN SUM(label) > 0 THEN 1 ELSE -1 "
                    "END FROM clip_votes v WHERE v.classname = clips.classname AND "
                    "v.clip_id = clips.clip_id), labelled_by = ?, labelled_at = ?, "
                    "reviewed = reviewed + 1 WHERE classname = ? AND clip_id = ?",
                    (annotator, at, classname, clip_id))
                conn.execute("DELETE FROM clip_leases WHERE classname = ? AND clip_id = ? AND "
                             "annotator = ?", (classname, clip_id, annotator))
                conn.execute("INSERT INTO clip_history (classname, clip_id, label, annotator, "
                             "at, source) VALUES (?, ?, ?, ?, ?, ?)",
                             (classname, clip_id, labels[clip_id], annotator, at,
                              f"page:{page_id}"))
            conn.execute("UPDATE pages SET submitted_at = ? WHERE id = ?", (at, page_id))
        return len(expected)

    def overview(self) -> dict[str, Any]:
        """Progress of the team, for the overview page.

        ``classes``: per clip class, clips, clips with all their labels (``done``), labels
        given and needed, clips whose label is positive among the labelled ones, and among
        the clips labelled by several annotators how many agree unanimously; segment tasks
        of the same name are under ``segments``. ``annotators``: per annotator, clip labels
        given (positive among them), pages submitted, how often they agree with the
        majority of a clip labelled by several, segment videos done / rejected and their
        last activity. ``by_class``: ``{annotator: {class: clip labels}}``."""
        n = self.labels_per_clip
        with self._read() as conn:
            classes = {r[0]: {"classname": r[0], "total": r[1], "done": r[2] or 0,
                              "labels": r[3] or 0, "needed": r[1] * n,
                              "labelled": r[4] or 0, "positive": r[5] or 0,
                              "several": 0, "unanimous": 0}
                       for r in conn.execute(
                           "SELECT classname, COUNT(*), SUM(reviewed >= ?), SUM(reviewed), "
                           "SUM(labelled_by IS NOT NULL), SUM(labelled_by IS NOT NULL AND "
                           "label = 1) FROM clips GROUP BY classname ORDER BY classname", (n,))}
            for r in conn.execute(
                    "SELECT classname, COUNT(*), SUM(pos = 0 OR neg = 0) FROM (SELECT "
                    "classname, SUM(label = 1) AS pos, SUM(label = -1) AS neg FROM clip_votes "
                    "GROUP BY classname, clip_id HAVING COUNT(*) > 1) GROUP BY classname"):
                if r[0] in classes:
                    classes[r[0]].update(several=r[1], unanimous=r[2])
            segments = {c["classname"]: c for c in self.segment_classes()}
            annotators = []
            for r in conn.execute(
                    "SELECT a.name, (SELECT COUNT(*) FROM clip_votes v WHERE v.annotator = "
                    "a.name), (SELECT COUNT(*) FROM clip_votes v WHERE v.annotator = a.name AND "
                    "v.label = 1), (SELECT COUNT(*) FROM pages p WHERE p.annotator = a.name AND "
                    "p.submitted_at IS NOT NULL), (SELECT COUNT(*) FROM clip_votes v JOIN clips "
                    "c ON c.classname = v.classname AND c.clip_id = v.clip_id WHERE "
                    "v.annotator = a.name AND c.reviewed > 1), (SELECT COUNT(*) FROM clip_votes "
                    "v JOIN clips c ON c.classname = v.classname AND c.clip_id = v.clip_id "
                    "WHERE v.annotator = a.name AND c.reviewed > 1 AND v.label = c.label), "
                    "(SELECT COUNT(*) FROM segment_tasks t WHERE t.done_by = a.name AND "
                    "t.status = 'done'), (SELECT COUNT(*) FROM segment_tasks t WHERE "
                    "t.done_by = a.name AND t.status = 'rejected'), MAX(COALESCE((SELECT "
                    "MAX(at) FROM clip_votes v WHERE v.annotator = a.name), ''), COALESCE(("
                    "SELECT MAX(at) FROM segment_history h WHERE h.annotator = a.name), '')) "
                    "FROM annotators a ORDER BY a.name"):
                annotators.append({"name": r[0], "labels": r[1], "positive": r[2],
                                   "pages": r[3], "shared": r[4], "with_majority": r[5],
                                   "segments_done": r[6], "rejected": r[7],
                                   "last": r[8] or None})
            by_class: dict[str, dict[str, int]] = {}
            for r in conn.execute("SELECT annotator, classname, COUNT(*) FROM clip_votes "
                                  "GROUP BY annotator, classname"):
                by_class.setdefault(r[0], {})[r[1]] = r[2]
        return {"labels_per_clip": n, "classes": list(classes.values()),
                "segments": list(segments.values()), "annotators": annotators,
                "by_class": by_class}

    # -- guidelines ---------------------------------------------------------------------------

    def import_guidelines(self, guidelines: Sequence[Guideline]) -> int:
        with self._write() as conn:
            for g in guidelines:
                conn.execute("INSERT OR REPLACE INTO guidelines VALUES (?, ?, ?, ?)",
                             (g.classname, g.definition, json.dumps(list(g.positives)),
                              json.dumps(list(g.hard_negatives))))
        return len(guidelines)

    def guideline(self, classname: str) -> Guideline | None:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM guidelines WHERE classname = ?",
                               (classname,)).fetchone()
        if row is None:
            return None
        return Guideline(classname, row["definition"], tuple(json.loads(row["positives"])),
                         tuple(json.loads(row["hard_negatives"])))

    # -- videos and segments ------------------------------------------------------------------

    def set_video_paths(self, paths: dict[str, str]) -> None:
        """Record where each video's file is (``{video_id: path relative to the videos
        root}``); videos not in ``paths`` lose their file."""
        with self._write() as conn:
            conn.execute("UPDATE videos SET path = NULL")
            for video_id, path in paths.items():
                conn.execute("INSERT INTO videos (video_id, path) VALUES (?, ?) ON CONFLICT "
                             "(video_id) DO UPDATE SET path = excluded.path", (video_id, path))

    def videos_without_duration(self) -> list[str]:
        """Ids of the videos with a file but no known duration."""
        with self._read() as conn:
            return [r[0] for r in conn.execute("SELECT video_id FROM videos WHERE path IS NOT "
                                               "NULL AND duration IS NULL ORDER BY video_id")]

    def set_video_durations(self, durations: dict[str, float]) -> None:
        """Record durations (seconds) read from the video files."""
        with self._write() as conn:
            conn.executemany("UPDATE videos SET duration = ? WHERE video_id = ?",
                             [(d, v) for v, d in durations.items()])

    def video_path(self, video_id: str) -> str | None:
        with self._read() as conn:
            row = conn.execute("SELECT path FROM videos WHERE video_id = ?",
                               (video_id,)).fetchone()
        return None if row is None else row[0]

    def import_segments(self, data: SegmentsFile, source: str) -> int:
        """Load a Segments file: videos (subset, duration, url, other keys), their segments
        (replacing those of the same labels) and one pending task per (label, video)."""
        at = now()
        with self._write() as conn:
            if data.version is None:  # the file's keys (segments_keys) say it had none
                conn.execute("DELETE FROM meta WHERE key = 'segments_version'")
            else:
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('segments_version', ?)",
                             (data.version,))
            for key, value in (("segments_taxonomy", dump_json(data.taxonomy)),
                               ("segments_keys", json.dumps(data.keys and list(data.keys))),
                               ("segments_extra", dump_json(data.extra))):
                conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
            order = conn.execute("SELECT COALESCE(MAX(imported_order), 0) FROM videos"
                                 ).fetchone()[0]
            for v in data.videos:
                order += 1
                conn.execute(
                    "INSERT INTO videos (video_id, subset, duration, url, extra, imported_order, "
                    "entry_keys, duration_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                    "(video_id) DO UPDATE SET subset = excluded.subset, "
                    "duration = excluded.duration, url = excluded.url, extra = excluded.extra, "
                    "imported_order = COALESCE(videos.imported_order, excluded.imported_order), "
                    "entry_keys = excluded.entry_keys, duration_json = excluded.duration_json",
                    (v.video_id, v.subset, v.duration, v.url, dump_json(v.extra), order,
                     json.dumps(v.keys and list(v.keys)), _duration_json(v)))
                labels = list(dict.fromkeys(s.label for s in v.segments))
                for label in labels:
                    conn.execute("DELETE FROM segments WHERE video_id = ? AND label = ?",
                                 (v.video_id, label))
                    conn.execute("INSERT INTO segment_tasks (classname, video_id) VALUES (?, ?)"
                                 " ON CONFLICT DO NOTHING", (label, v.video_id))
                for s in v.segments:
                    conn.execute('INSERT INTO segments (video_id, label, start, "end", '
                                 "annotator, at, source) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 (v.video_id, s.label, s.start, s.end, IMPORT_ANNOTATOR, at,
                                  None if s.source is None else dump_json(s.source)))
                for label in labels:
                    spans = [[s.start, s.end] for s in v.segments if s.label == label]
                    conn.execute("INSERT INTO segment_history (classname, video_id, action, "
                                 "detail, annotator, at) VALUES (?, ?, 'import', ?, ?, ?)",
                                 (label, v.video_id, json.dumps({"segments": spans,
                                                                 "source": source}),
                                  IMPORT_ANNOTATOR, at))
        return len(data.videos)

    def export_segments(self) -> SegmentsFile:
        """Imported videos and videos with a submitted task, with all their segments."""
        with self._read() as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            videos = conn.execute(
                "SELECT * FROM videos v WHERE imported_order IS NOT NULL OR EXISTS (SELECT 1 "
                "FROM segment_tasks t WHERE t.video_id = v.video_id AND t.status = 'done') "
                "ORDER BY imported_order IS NULL, imported_order, rowid").fetchall()
            result = []
            for v in videos:
                segs = conn.execute('SELECT label, start, "end", source FROM segments WHERE '
                                    "video_id = ? ORDER BY id", (v["video_id"],)).fetchall()
                duration, text = _stored_duration(v["duration"], v["duration_json"])
                keys = json.loads(v["entry_keys"]) if v["entry_keys"] else None
                result.append(SegmentVideo(
                    v["video_id"], v["subset"], duration, v["url"],
                    tuple(Segment(s[0], s[1], s[2], None if s[3] is None else load_json(s[3]))
                          for s in segs),
                    load_json(v["extra"]), text, None if keys is None else tuple(keys)))
            if "segments_taxonomy" in meta:
                taxonomy = load_json(meta["segments_taxonomy"])
            else:
                classes = [r[0] for r in conn.execute(
                    "SELECT DISTINCT classname FROM segment_tasks")]
                taxonomy = default_taxonomy(classes)
        keys = json.loads(meta.get("segments_keys", "null"))
        return SegmentsFile(meta.get("segments_version", DEFAULT_SEGMENTS_VERSION), taxonomy,
                            tuple(result), None if keys is None else tuple(keys),
                            load_json(meta.get("segments_extra", "{}")))

    def segment_classes(self) -> list[dict[str, Any]]:
        """Per action: tasks pending / done / rejected, and pending ones without a file."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT t.classname, SUM(t.status = 'pending' AND v.path IS NOT NULL), "
                "SUM(t.status = 'done'), SUM(t.status = 'rejected'), "
                "SUM(t.status = 'pending' AND v.path IS NULL) FROM segment_tasks t "
                "LEFT JOIN videos v ON v.video_id = t.video_id GROUP BY t.classname "
                "ORDER BY t.classname").fetchall()
        return [{"classname": r[0], "pending": r[1] or 0, "done": r[2] or 0,
                 "rejected": r[3] or 0, "no_media": r[4] or 0} for r in rows]

    def _task(self, conn: sqlite3.Connection, classname: str, video_id: str) -> SegmentTask:
        row = conn.execute(
            "SELECT t.status, t.version, v.duration, v.path FROM segment_tasks t LEFT JOIN "
            "videos v ON v.video_id = t.video_id WHERE t.classname = ? AND t.video_id = ?",
            (classname, video_id)).fetchone()
        if row is None:
            raise ApiError(404, f"unknown video {video_id!r} for action {classname!r}")
        segs = conn.execute('SELECT label, start, "end" FROM segments WHERE video_id = ? AND '
                            "label = ? ORDER BY start, id", (video_id, classname)).fetchall()
        return SegmentTask(classname, video_id, row[0], row[1], row[2], row[3] is not None,
                           tuple(Segment(*s) for s in segs))

    def task(self, classname: str, video_id: str) -> SegmentTask:
        with self._read() as conn:
            return self._task(conn, classname, video_id)

    def next_task(self, classname: str, annotator: str | None,
                  token: str | None) -> SegmentTask | None:
        """The annotator's next video for ``classname``: the one they opened and did not
        finish, else the first pending one nobody holds (claims expire after
        CLAIM_SECONDS). Only videos with a file under the videos root are handed out."""
        with self._write() as conn:
            self._check(conn, annotator, token)
            base = ("SELECT t.video_id FROM segment_tasks t JOIN videos v ON "
                    "v.video_id = t.video_id WHERE t.classname = ? AND t.status = 'pending' "
                    "AND v.path IS NOT NULL AND ")
            row = conn.execute(base + "t.claimed_by = ? ORDER BY t.id LIMIT 1",
                               (classname, annotator)).fetchone()
            if row is None:
                cutoff = datetime.fromtimestamp(datetime.now(UTC).timestamp() - CLAIM_SECONDS,
                                                UTC).isoformat(timespec="milliseconds")
                row = conn.execute(base + "(t.claimed_by IS NULL OR t.claimed_at < ?) "
                                   "ORDER BY t.id LIMIT 1", (classname, cutoff)).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE segment_tasks SET claimed_by = ?, claimed_at = ? WHERE "
                         "classname = ? AND video_id = ?", (annotator, now(), classname, row[0]))
            return self._task(conn, classname, row[0])

    def _open_task(self, conn: sqlite3.Connection, classname: str, video_id: str,
                   version: Any) -> SegmentTask:
        task = self._task(conn, classname, video_id)
        if not isinstance(version, int) or isinstance(version, bool):
            raise ApiError(400, "'version' must be the integer the task was handed out with")
        if task.status != "pending" or version != task.version:
            raise ApiError(409, f"video {video_id!r} for {classname!r} was already "
                                f"{'submitted' if task.status == 'done' else task.status} "
                                "(reload to see the current state)")
        return task

    def submit_segments(self, classname: str, video_id: str, annotator: str | None,
                        token: str | None, version: Any, spans: Any,
                        duration: Any = None) -> int:
        """Replace ``classname``'s segments of a video with ``spans`` (``[[start, end], ...]``
        in seconds), mark the task done. ``duration`` (seconds, from the player) fills in an
        unknown video duration. Returns the number of segments saved."""
        with self._write() as conn:
            self._check(conn, annotator, token)
            task = self._open_task(conn, classname, video_id, version)
            known = duration if task.duration is None else task.duration
            if not _is_seconds(known):
                raise ApiError(400, f"the duration of video {video_id!r} is unknown: send "
                                    "'duration' (seconds, from the player)")
            parsed = _spans(spans, known)
            at = now()
            # a segment submitted unchanged keeps its row (its place in the export and the
            # text the imported file wrote); the others are replaced
            kept: dict[tuple[float, float], list[int]] = {}
            for row in conn.execute('SELECT id, start, "end" FROM segments WHERE video_id = ? '
                                    "AND label = ? ORDER BY id", (video_id, classname)):
                kept.setdefault((row[1], row[2]), []).append(row[0])
            keep = []
            for start, end in parsed:
                ids = kept.get((start, end))
                if ids:
                    keep.append(ids.pop(0))
                    continue
                cur = conn.execute('INSERT INTO segments (video_id, label, start, "end", '
                                   "annotator, at) VALUES (?, ?, ?, ?, ?, ?)",
                                   (video_id, classname, start, end, annotator, at))
                keep.append(cur.lastrowid)
            conn.execute("DELETE FROM segments WHERE video_id = ? AND label = ? AND id NOT IN "
                         f"({', '.join('?' * len(keep))})" if keep else
                         "DELETE FROM segments WHERE video_id = ? AND label = ?",
                         (video_id, classname, *keep))
            if task.duration is None and _is_seconds(duration):
                conn.execute("UPDATE videos SET duration = ? WHERE video_id = ?",
                             (float(duration), video_id))
            conn.execute("UPDATE segment_tasks SET status = 'done', version = version + 1, "
                         "done_by = ?, done_at = ? WHERE classname = ? AND video_id = ?",
                         (annotator, at, classname, video_id))
            conn.execute("INSERT INTO segment_history (classname, video_id, action, detail, "
                         "annotator, at) VALUES (?, ?, 'submit', ?, ?, ?)",
                         (classname, video_id, json.dumps({"segments": parsed}), annotator, at))
        return len(parsed)

    def reject_video(self, classname: str, video_id: str, annotator: str | None,
                     token: str | None, version: Any, reason: Any) -> None:
        """Take a video out of ``classname``'s queue with a reason (blurred, dark, ...)."""
        with self._write() as conn:
            self._check(conn, annotator, token)
            self._open_task(conn, classname, video_id, version)
            if not isinstance(reason, str) or not reason.strip():
                raise ApiError(400, "a reject needs a reason")
            at = now()
            conn.execute("UPDATE segment_tasks SET status = 'rejected', reason = ?, "
                         "version = version + 1, done_by = ?, done_at = ? WHERE "
                         "classname = ? AND video_id = ?",
                         (reason.strip(), annotator, at, classname, video_id))
            conn.execute("INSERT INTO segment_history (classname, video_id, action, detail, "
                         "annotator, at) VALUES (?, ?, 'reject', ?, ?, ?)",
                         (classname, video_id, json.dumps({"reason": reason.strip()}),
                          annotator, at))

    def segment_history(self, classname: str, video_id: str) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute("SELECT action, detail, annotator, at FROM segment_history "
                                "WHERE classname = ? AND video_id = ? ORDER BY id",
                                (classname, video_id)).fetchall()
        return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]

    def task_state(self, classname: str, video_id: str) -> dict[str, Any]:
        with self._read() as conn:
            row = conn.execute("SELECT status, reason, done_by, done_at FROM segment_tasks "
                               "WHERE classname = ? AND video_id = ?",
                               (classname, video_id)).fetchone()
        if row is None:
            raise ApiError(404, f"unknown video {video_id!r} for action {classname!r}")
        return dict(row)


def _duration_json(video: SegmentVideo) -> str | None:
    """The JSON text of a video's duration as its file wrote it (None: it had none)."""
    if video.duration_text is not None:
        return json.dumps(video.duration_text, ensure_ascii=False)
    return None if video.duration is None else dump_json(video.duration)


def _stored_duration(seconds: float | None,
                     source: str | None) -> tuple[float | None, str | None]:
    """``(duration, string text)`` for :class:`SegmentVideo` from the stored seconds and the
    imported JSON text: the imported number (with its text) or string while it still says
    the same seconds."""
    value = None if source is None else load_json(source)
    if isinstance(value, str):
        return seconds, value
    if (isinstance(value, int | float) and not isinstance(value, bool)
            and seconds is not None and float(value) == seconds):
        return SourceNumber(value.text if isinstance(value, SourceNumber) else str(value)), None
    return seconds, None


def _is_seconds(value: Any) -> bool:
    """A JSON number that can be a time in seconds: finite and not negative."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and value >= 0)


def _spans(spans: Any, duration: Any) -> list[list[float]]:
    """Validate ``[[start, end], ...]`` (seconds) against the video's duration."""
    if not isinstance(spans, list):
        raise ApiError(400, "'segments' must be a list of [start, end] pairs in seconds")
    limit = float(duration) + 0.5 if _is_seconds(duration) else None  # player rounding slack
    result = []
    for i, span in enumerate(spans):
        if (not isinstance(span, list) or len(span) != 2
                or not all(_is_seconds(x) for x in span)):
            raise ApiError(400, f"segment {i}: must be [start, end] in seconds")
        try:
            check_span(float(span[0]), float(span[1]), f"segment {i}")
        except FormatError as exc:
            raise ApiError(400, str(exc)) from None
        if limit is not None and span[1] > limit:
            raise ApiError(400, f"segment {i}: ends at {span[1]} s, after the video's end "
                                f"({duration} s)")
        result.append([float(span[0]), float(span[1])])
    return sorted(result)
