"""The SQLite repository against a temporary file (SQLite is a library, not a server)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from photolib.db import MIGRATIONS, PhotoRepository, connect
from photolib.exceptions import InvalidCursor
from photolib.models import Derivative, Orphan, Photo, PhotoStatus, new_id, utcnow


@pytest.fixture
def repo(tmp_path: Path) -> PhotoRepository:
    return PhotoRepository(connect(tmp_path / "photos.db"))


def make(repo: PhotoRepository, client: str = "alice", **kw: object) -> Photo:
    pid = new_id()
    photo = Photo(id=pid, client_id=client, filename="x.jpg", content_type="image/jpeg", declared_size=10,
                  key=f"originals/{client}/{pid}", **kw)  # type: ignore[arg-type]
    repo.create(photo)
    return photo


def test_migrations_set_user_version_and_rerun_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "photos.db"
    connect(path).close()
    conn = connect(path)  # second open: nothing to apply, no error
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_round_trip(repo: PhotoRepository) -> None:
    photo = make(repo, session_id="s")
    got = repo.get(photo.id)
    assert got == photo
    assert repo.get(photo.id, client_id="bob") is None


def test_transition_is_compare_and_set(repo: PhotoRepository) -> None:
    photo = make(repo)
    assert repo.transition(photo.id, (PhotoStatus.PENDING_UPLOAD,), PhotoStatus.QUEUED, size=10)
    assert not repo.transition(photo.id, (PhotoStatus.PENDING_UPLOAD,), PhotoStatus.QUEUED)
    got = repo.get(photo.id)
    assert got is not None and got.status == PhotoStatus.QUEUED and got.size == 10


def test_fail_records_stage_and_reason_but_never_undoes_completion(repo: PhotoRepository) -> None:
    a, b = make(repo), make(repo, status=PhotoStatus.COMPLETED)
    assert repo.fail(a.id, "validate", "not an image")
    assert not repo.fail(b.id, "validate", "late")
    got = repo.get(a.id)
    assert got is not None and (got.status, got.stage, got.failure_reason) == ("failed", "validate", "not an image")
    assert repo.get(b.id).status == PhotoStatus.COMPLETED  # type: ignore[union-attr]


def test_results_are_keyed_so_reruns_overwrite(repo: PhotoRepository) -> None:
    photo = make(repo)
    for width in (100, 150):
        d = Derivative(photo_id=photo.id, kind="thumb_150", key="k", content_type="image/jpeg",
                       width=width, height=10, size=5)
        assert repo.put_derivative(d)
        assert repo.put_stage_result(photo.id, "thumbnails", {"width": width})
    assert [d.width for d in repo.derivatives(photo.id)] == [150]
    assert repo.stage_results(photo.id) == {"thumbnails": {"width": 150}}


def test_results_for_a_deleted_photo_are_refused_and_delete_cascades(repo: PhotoRepository) -> None:
    photo = make(repo)
    repo.put_stage_result(photo.id, "validate", {})
    assert repo.delete(photo.id)
    assert not repo.put_stage_result(photo.id, "metadata", {})
    d = Derivative(photo_id=photo.id, kind="web_jpeg", key="k", content_type="image/jpeg", width=1, height=1, size=1)
    assert not repo.put_derivative(d)
    count = repo.conn.execute("SELECT (SELECT COUNT(*) FROM stage_results) + (SELECT COUNT(*) FROM derivatives)")
    assert count.fetchone()[0] == 0


def test_pages_are_newest_first_filtered_and_stable(repo: PhotoRepository) -> None:
    base = utcnow()
    ids = [make(repo, created_at=base + timedelta(seconds=i)).id for i in range(5)]
    make(repo, client="bob")
    make(repo, created_at=base + timedelta(seconds=9), status=PhotoStatus.FAILED)
    seen, cursor = [], None
    while True:
        page, cursor = repo.page("alice", status=PhotoStatus.PENDING_UPLOAD, limit=2, cursor=cursor)
        seen += [p.id for p in page]
        if cursor is None:
            break
    assert seen == ids[::-1]
    with pytest.raises(InvalidCursor):
        repo.page("alice", cursor="not-a-cursor!")


def test_stale_rows_and_orphans(repo: PhotoRepository) -> None:
    old = make(repo, updated_at=utcnow() - timedelta(hours=2))
    make(repo)
    assert [p.id for p in repo.stale(PhotoStatus.PENDING_UPLOAD, utcnow() - timedelta(hours=1))] == [old.id]
    repo.record_orphan(Orphan(key="originals/x/y", size=3, reason="no row"))
    repo.record_orphan(Orphan(key="originals/x/y", size=3, reason="again"))  # duplicate event: one row
    assert [o.reason for o in repo.orphans()] == ["no row"]
    repo.forget_orphan("originals/x/y")
    assert repo.orphans() == []


def test_sql_is_parameterised(repo: PhotoRepository) -> None:
    make(repo, client="alice")
    page, _ = repo.page("alice' OR '1'='1")
    assert page == []
    with pytest.raises(sqlite3.IntegrityError):  # the status CHECK constraint holds
        repo.conn.execute("UPDATE photos SET status = 'weird'")
