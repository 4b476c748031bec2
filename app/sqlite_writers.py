"""SQLite's writers wait in a queue the kernel keeps, not in SQLite's busy loop.

SQLite lets one connection write at a time. A connection that finds the write lock taken
sleeps and retries on a fixed back-off (1, 2, 5 ... up to 100 ms between tries, its busy
handler), so under a few concurrent writers a write that needed 2 ms of waiting can wait 100 ms
or more, and the tail of every writing request grows (``bench/slow_upload.py``). Python's
``sqlite3`` offers no other busy handler.

So each pooled connection of a file database takes an exclusive ``flock`` on a lock file beside
the database before its first write statement of a transaction, and gives it up when that
transaction ends (commit, rollback, or the pool resetting or closing the connection). A waiter
tries the lock every half millisecond, so the next writer starts within that of the release,
across threads and processes alike (``flock`` locks belong to each open file, not to the
process). A process that does not take part (an operator's ``sqlite3`` shell) is still met by
SQLite's own busy timeout. Waiting is bounded by the same timeout, after which the statement
goes ahead and SQLite's own locking decides, so a stuck holder slows writers but never stops them.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

#: The statements that make a transaction a writer (``sqlite3`` opens it with a BEGIN of its own).
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
#: How long a writer waits in the queue before it leaves the decision to SQLite (its busy timeout).
QUEUE_TIMEOUT_SECONDS = 5.0
_HELD = "pax_writer_lock"


def queue_writers(engine: Engine, database: Path) -> None:
    """Make the pooled connections of ``engine`` (a file database) queue for writing."""
    lock_path = str(database) + ".writers"

    @event.listens_for(engine, "before_cursor_execute")
    def take_turn(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        info = conn.connection.info
        if _HELD not in info and statement.lstrip()[:7].upper().startswith(WRITES):
            info[_HELD] = _acquire(lock_path)

    @event.listens_for(engine, "commit")
    def after_commit(conn: Any) -> None:
        _release(conn.connection.info)

    @event.listens_for(engine, "rollback")
    def after_rollback(conn: Any) -> None:
        _release(conn.connection.info)

    # A connection going back to the pool (or away) without an explicit end of its transaction.
    @event.listens_for(engine, "reset")
    def on_reset(dbapi_connection: Any, connection_record: Any, reset_state: Any) -> None:
        _release(connection_record.info)

    @event.listens_for(engine, "close")
    def on_close(_dbapi_connection: Any, record: Any) -> None:
        _release(record.info)


def _acquire(lock_path: str) -> int | None:
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + QUEUE_TIMEOUT_SECONDS
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return descriptor
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(descriptor)
                return None
            time.sleep(0.0005)


def _release(info: dict[str, Any]) -> None:
    descriptor = info.pop(_HELD, None)
    if descriptor is not None:
        os.close(descriptor)  # closing the file gives up its flock
