"""Many processes opening one new database file at once, as gunicorn threads and worker
processes do when a stack starts: each must get a migrated WAL connection, not "locked"."""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.synchronize import Barrier
from pathlib import Path

from photolib import db

OPENERS = 12


def _open(path: Path, start: Barrier, results: mp.Queue) -> None:  # type: ignore[type-arg]
    start.wait()
    try:
        conn = db.connect(path)
        results.put(str(conn.execute("PRAGMA journal_mode").fetchone()[0]))
        conn.close()
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        results.put(f"{type(exc).__name__}: {exc}")


def test_many_first_openers_of_one_file_all_get_a_migrated_wal_connection(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    for round_ in range(5):
        path = tmp_path / f"photos-{round_}.db"
        start, results = ctx.Barrier(OPENERS), ctx.Queue()
        procs = [ctx.Process(target=_open, args=(path, start, results)) for _ in range(OPENERS)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=60)
        assert sorted(results.get(timeout=5) for _ in procs) == ["wal"] * OPENERS
        assert db.connect(path).execute("PRAGMA user_version").fetchone()[0] == len(db.MIGRATIONS)


def test_a_warm_repository_follows_its_file_when_the_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "photos.db"
    first = db.open_repository(path)
    assert db.open_repository(path) is first  # warm: the same connection
    first.conn.execute("CREATE TABLE marker (x)")
    for leftover in tmp_path.glob("photos.db*"):  # deleted and made again, as `rm` and a new stack do
        leftover.unlink()
    replaced = db.open_repository(path)
    assert replaced is not first
    assert replaced.conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'marker'").fetchone()[0] == 0
    assert replaced.conn.execute("PRAGMA user_version").fetchone()[0] == len(db.MIGRATIONS)
