"""SQLite's writers queue on a lock file (``app.sqlite_writers``): the turn is taken at the first
write of a transaction and given back however the transaction ends, so no writer is left waiting
on a connection that finished; a holder that never gives it back slows writers, never stops them."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support import databases

pytestmark = pytest.mark.skipif(databases.backend() != "sqlite", reason="about SQLite: runs in the SQLite half")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    from app.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (n INTEGER)"))
    yield engine
    engine.dispose()


def _turn_is_free(database: Path) -> bool:
    descriptor = os.open(str(database) + ".writers", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)


def test_the_turn_is_held_from_the_first_write_to_the_end_of_the_transaction(engine, tmp_path):
    database = tmp_path / "w.db"
    for end in ("commit", "rollback", "pool"):
        conn = engine.connect()
        conn.execute(sa.text("SELECT count(*) FROM t"))
        assert _turn_is_free(database), "a reading transaction took the writers' turn"
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        assert not _turn_is_free(database), end
        if end == "commit":
            conn.commit()
        elif end == "rollback":
            conn.rollback()
        conn.close()  # "pool": back to the pool with the transaction open; the pool resets it
        assert _turn_is_free(database), f"the turn outlived a transaction ended by {end}"


def test_concurrent_writers_all_write(engine):
    def write(n: int) -> None:
        for _ in range(20):
            with engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO t VALUES (:n)"), {"n": n})

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar() == 120


def test_a_holder_that_never_gives_the_turn_back_slows_writers_but_never_stops_them(engine, tmp_path, monkeypatch):
    from app import sqlite_writers

    monkeypatch.setattr(sqlite_writers, "QUEUE_TIMEOUT_SECONDS", 0.2)
    stuck = os.open(str(tmp_path / "w.db") + ".writers", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(stuck, fcntl.LOCK_EX)
    try:
        started = time.monotonic()
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO t VALUES (7)"))
        assert 0.2 <= time.monotonic() - started < 5
    finally:
        os.close(stuck)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT n FROM t")).scalars().all() == [7]
