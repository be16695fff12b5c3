"""SQLite repository of photo records.

WAL so readers never block the one writer, busy_timeout so concurrent workers wait instead of
failing at once, versioned migrations in PRAGMA user_version, SQL parameters only. Results are
keyed by (photo_id, kind) and (photo_id, stage): a re-run overwrites, never duplicates.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from photolib.exceptions import InvalidCursor, TransientError
from photolib.models import Derivative, Orphan, Photo, PhotoStatus, utcnow

BUSY_TIMEOUT_MS = 10_000  # longer than any one write holds the lock, shorter than a Lambda timeout

MIGRATIONS: list[str] = [
    # 1: photos, their derivatives and per-stage results, and blobs that arrived with no row
    """
    CREATE TABLE photos (
        id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        filename TEXT NOT NULL,
        content_type TEXT NOT NULL,
        declared_size INTEGER NOT NULL,
        key TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL CHECK (status IN ('pending_upload','queued','processing','completed','failed')),
        stage TEXT,
        failure_reason TEXT,
        size INTEGER,
        width INTEGER,
        height INTEGER,
        format TEXT,
        placeholder TEXT,
        trace_id TEXT NOT NULL,
        session_id TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX photos_by_client ON photos (client_id, created_at DESC, id DESC);
    CREATE INDEX photos_by_status ON photos (status, updated_at);
    CREATE TABLE derivatives (
        photo_id TEXT NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        content_type TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        size INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (photo_id, kind)
    );
    CREATE TABLE stage_results (
        photo_id TEXT NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
        stage TEXT NOT NULL,
        result TEXT NOT NULL,
        completed_at TEXT NOT NULL,
        PRIMARY KEY (photo_id, stage)
    );
    CREATE TABLE orphans (
        key TEXT PRIMARY KEY,
        size INTEGER,
        reason TEXT NOT NULL,
        first_seen_at TEXT NOT NULL
    );
    """,
]

_PHOTO_COLUMNS = list(Photo.model_fields)
_UPDATABLE = set(_PHOTO_COLUMNS) - {"id", "client_id", "key", "created_at"}
_FINAL = (PhotoStatus.COMPLETED, PhotoStatus.FAILED)


def ts(value: datetime) -> str:
    """One fixed-width UTC text form, so ORDER BY and < on the column follow time."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (creating and migrating) the database. Autocommit; writes use `transaction()`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _use_wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; safe with WAL
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    """WAL is a property of the file: only its first opener switches it. The switch can answer
    "locked" at once, without the busy handler, while other connections open the same new file,
    so it is retried for the busy timeout and then reported as contention (TransientError)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise TransientError(f"database busy: {exc}") from exc
            time.sleep(0.02)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations newer than the file's user_version, each in its own transaction."""
    with _translate_errors():
        conn.execute("BEGIN IMMEDIATE")  # two processes starting at once must not both migrate
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in filter(str.strip, script.split(";")):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")  # PRAGMA takes no parameters
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)


@contextmanager
def _translate_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        # SQLITE_BUSY/LOCKED outlasting busy_timeout is contention, worth a retry; the rest are bugs.
        if "locked" in str(exc) or "busy" in str(exc):
            raise TransientError(f"database busy: {exc}") from exc
        raise


_local = threading.local()


def open_repository(path: str | Path) -> PhotoRepository:
    """One connection per thread and file, reused across invocations of a warm function; a file
    replaced since (deleted and created again at the same path) gets a new connection."""
    cache: dict[str, tuple[PhotoRepository, tuple[int, int]]] = _local.__dict__.setdefault("repos", {})
    key = str(Path(path).resolve())
    cached = cache.get(key)
    if cached is not None and cached[1] == _file_id(key):
        return cached[0]
    if cached is not None:
        cached[0].conn.close()
    repo = PhotoRepository(connect(key))
    cache[key] = (repo, _file_id(key))  # read again: connect() creates a file that was not there
    return repo


def _file_id(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return (0, 0)
    return (st.st_dev, st.st_ino)


def _encode_cursor(photo: Photo) -> str:
    raw = json.dumps([ts(photo.created_at), photo.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        created_at, photo_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return str(created_at), str(photo_id)
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("cursor is not one this API returned; pass next_cursor unchanged") from exc


class PhotoRepository:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so two writers never deadlock upgrading.
        with _translate_errors():
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with _translate_errors():
            return self.conn.execute(sql, params).fetchall()

    # --- photos

    def create(self, photo: Photo) -> None:
        values = [ts(v) if isinstance(v, datetime) else v for v in photo.model_dump().values()]
        marks = ", ".join("?" * len(_PHOTO_COLUMNS))
        with self.transaction() as conn:
            conn.execute(f"INSERT INTO photos ({', '.join(_PHOTO_COLUMNS)}) VALUES ({marks})", values)

    def get(self, photo_id: str, client_id: str | None = None) -> Photo | None:
        sql, params = "SELECT * FROM photos WHERE id = ?", [photo_id]
        if client_id is not None:
            sql, params = sql + " AND client_id = ?", [photo_id, client_id]
        rows = self._query(sql, tuple(params))
        return Photo.model_validate(dict(rows[0])) if rows else None

    def page(
        self, client_id: str, *, status: PhotoStatus | None = None, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[Photo], str | None]:
        """Newest first; keyset pagination so pages stay stable while photos are added."""
        where, params = ["client_id = ?"], [client_id]
        if status is not None:
            where.append("status = ?")
            params.append(status.value)
        if cursor:
            where.append("(created_at, id) < (?, ?)")
            params.extend(_decode_cursor(cursor))
        sql = f"SELECT * FROM photos WHERE {' AND '.join(where)} ORDER BY created_at DESC, id DESC LIMIT ?"
        rows = self._query(sql, (*params, limit + 1))
        photos = [Photo.model_validate(dict(r)) for r in rows[:limit]]
        return photos, (_encode_cursor(photos[-1]) if len(rows) > limit else None)

    def update(self, photo_id: str, *, only_if: tuple[PhotoStatus, ...] = (), unchanged_since: datetime | None = None,
               **fields: Any) -> bool:
        """Set fields; with only_if, only while the status is one of those (a compare-and-set), and
        with unchanged_since, only if the row was not updated after that (it did not move on and
        come back). Returns whether a row changed, which is how concurrent deliveries find out who won."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        fields["updated_at"] = utcnow()
        sets = ", ".join(f"{name} = ?" for name in fields)
        values = [ts(v) if isinstance(v, datetime) else v for v in fields.values()]
        sql = f"UPDATE photos SET {sets} WHERE id = ?"
        params: list[Any] = [*values, photo_id]
        if only_if:
            sql += f" AND status IN ({', '.join('?' * len(only_if))})"
            params.extend(s.value for s in only_if)
        if unchanged_since is not None:
            sql += " AND updated_at = ?"
            params.append(ts(unchanged_since))
        with self.transaction() as conn:
            return conn.execute(sql, params).rowcount == 1

    def transition(self, photo_id: str, from_: tuple[PhotoStatus, ...], to: PhotoStatus, **fields: Any) -> bool:
        return self.update(photo_id, only_if=from_, status=to, **fields)

    def fail(self, photo_id: str, stage: str, reason: str) -> bool:
        """Failed with stage and reason, unless already final (a late failure never undoes a result)."""
        active = tuple(s for s in PhotoStatus if s not in _FINAL)
        return self.transition(photo_id, active, PhotoStatus.FAILED, stage=stage, failure_reason=reason)

    def delete(self, photo_id: str) -> bool:
        with self.transaction() as conn:  # derivatives and stage results go with it (ON DELETE CASCADE)
            return conn.execute("DELETE FROM photos WHERE id = ?", (photo_id,)).rowcount == 1

    def stale(self, status: PhotoStatus, older_than: datetime, limit: int = 500) -> list[Photo]:
        rows = self._query(
            "SELECT * FROM photos WHERE status = ? AND updated_at < ? ORDER BY updated_at LIMIT ?",
            (status.value, ts(older_than), limit),
        )
        return [Photo.model_validate(dict(r)) for r in rows]

    # --- derivatives and stage results: upserts, and False when the photo is gone

    def put_derivative(self, d: Derivative) -> bool:
        with self.transaction() as conn:
            if not conn.execute("SELECT 1 FROM photos WHERE id = ?", (d.photo_id,)).fetchone():
                return False
            conn.execute(
                "INSERT INTO derivatives (photo_id, kind, key, content_type, width, height, size, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (photo_id, kind) DO UPDATE SET key = excluded.key,"
                " content_type = excluded.content_type, width = excluded.width, height = excluded.height,"
                " size = excluded.size, created_at = excluded.created_at",
                (d.photo_id, d.kind, d.key, d.content_type, d.width, d.height, d.size, ts(utcnow())),
            )
            return True

    def derivatives(self, photo_id: str) -> list[Derivative]:
        rows = self._query("SELECT * FROM derivatives WHERE photo_id = ? ORDER BY kind", (photo_id,))
        return [Derivative.model_validate(dict(r)) for r in rows]

    def put_stage_result(self, photo_id: str, stage: str, result: dict[str, Any]) -> bool:
        with self.transaction() as conn:
            if not conn.execute("SELECT 1 FROM photos WHERE id = ?", (photo_id,)).fetchone():
                return False
            conn.execute(
                "INSERT INTO stage_results (photo_id, stage, result, completed_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (photo_id, stage) DO UPDATE SET result = excluded.result,"
                " completed_at = excluded.completed_at",
                (photo_id, stage, json.dumps(result, default=str), ts(utcnow())),
            )
            return True

    def stage_results(self, photo_id: str) -> dict[str, dict[str, Any]]:
        rows = self._query("SELECT stage, result FROM stage_results WHERE photo_id = ?", (photo_id,))
        return {r["stage"]: json.loads(r["result"]) for r in rows}

    # --- orphans: objects that arrived with no row, recorded rather than processed

    def record_orphan(self, orphan: Orphan) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO orphans (key, size, reason, first_seen_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (key) DO NOTHING",
                (orphan.key, orphan.size, orphan.reason, ts(orphan.first_seen_at)),
            )

    def orphans(self) -> list[Orphan]:
        return [Orphan.model_validate(dict(r)) for r in self._query("SELECT * FROM orphans ORDER BY key")]

    def forget_orphan(self, key: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM orphans WHERE key = ?", (key,))
