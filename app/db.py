"""The declarative base, the session, and the transactions PAX uses.

PAX uses plain SQLAlchemy 2.x: one engine per application, one scoped session per request
(or CLI command). A request's writes are committed once, by the request boundary
(``PaxFlask.dispatch_request``) when the view answers with a status below 400; an exception or
an error status rolls them back. A CLI command commits or rolls back its own.

The only other transactions are named ones, ``Database.independent_transaction``: a short
write that must be kept although the request is refused (a failed sign-in's count, the audit
event of a refused attempt).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, MetaData, create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from app.sqlite_writers import queue_writers

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger("pax.db")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware now in UTC; the callable default of every timestamp column."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are aware UTC in Python on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str, echo: bool = False, pooled: bool = True) -> Engine:
    """An engine with the connection settings PAX relies on for each backend."""
    if url.startswith("sqlite"):
        on_disk = url.startswith("sqlite:///") and url != "sqlite:///:memory:"
        if on_disk:
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False},
            **({} if pooled else {"poolclass": NullPool}),
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        if on_disk:
            queue_writers(engine, Path(url.removeprefix("sqlite:///")))
        return engine
    if not pooled:
        return create_engine(url, echo=echo, poolclass=NullPool)
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _app_context_scope() -> object:
    """One session per Flask application context (a request, a CLI command, a test block)."""
    from flask.globals import _cv_app

    return _cv_app.get(None)


#: Full-text search lives outside the models: SQLite's FTS5 table (and its shadow tables) and
#: PostgreSQL's generated tsvector column and GIN index, all made by migrations.
SEARCH_OBJECTS_PREFIXES = ("posts_fts", "search_vector", "ix_posts_search")


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's filter: leave the search machinery out of model/migration comparisons."""
    return not (reflected and name is not None and name.startswith(SEARCH_OBJECTS_PREFIXES))


class Database:
    """Holds the application's engine, its scoped session and the named transactions beside it."""

    def __init__(self) -> None:
        self._factory = sessionmaker(expire_on_commit=False)
        self.session: scoped_session[Session] = scoped_session(self._factory, scopefunc=_app_context_scope)
        self.engine: Engine | None = None

    def init_app(self, app: Flask) -> None:
        url = app.config["DATABASE_URL"]
        echo = app.config.get("SQLALCHEMY_ECHO", False)
        self.session.remove()
        if self.engine is not None and self.engine.url == make_url(url) and self.engine.echo == echo:
            # Another application in the same process on the same database (tests, tools) keeps
            # the pool and, with it, SQLAlchemy's cache of compiled statements.
            self._configure(app)
            return
        if self.engine is not None:
            self.engine.dispose()
        self.engine = make_engine(url, echo=echo)
        self._configure(app)

    def _configure(self, app: Flask) -> None:
        assert self.engine is not None
        self._factory.configure(bind=self.engine)
        app.extensions["pax_db"] = self

        @app.teardown_appcontext
        def remove_session(_exc: BaseException | None) -> None:
            self.session.remove()

    def discard(self) -> None:
        """Roll back what the current session has not committed; the session stays usable.

        The request boundary's own step (``PaxFlask``), also used by a page that shows a refused
        form again, so that it shows what is stored. A broken connection must not hide the error
        being answered, so a failing rollback is only logged.
        """
        try:
            self.session.rollback()
        except Exception:
            log.exception("rollback failed")

    @contextmanager
    def independent_transaction(self) -> Iterator[Session]:
        """A short transaction of its own, committed when the block ends without an exception:
        for a write that must be kept although the request is refused and rolled back (the
        failed sign-in count, the audit event of a refused attempt). Name each use for what it keeps.

        The request's uncommitted changes are discarded first: the request is being refused, and
        its locks (a row it updated, the audit chain head, SQLite's one write lock) would make this
        transaction wait for a commit that never comes. Inside the block ``db.session`` is the new
        session, so services (``record``...) write into it; objects loaded before belong to the
        request's session: read what you need from them before the block, and load what you change
        through the new session. Afterwards the request's session, started afresh, sees the write.

        The session comes from the same sessionmaker as the request's (same bind), so a test that
        binds it to one connection in SAVEPOINT mode gets a savepoint that is released here.
        """
        if self.session.registry.has():
            self.discard()
            outer: Session | None = self.session.registry()
        else:
            outer = None
        session = self._factory()
        self.session.registry.set(session)
        try:
            with session.begin():
                if session.get_bind().dialect.name == "postgresql":
                    # Never wait forever on a lock that someone else holds.
                    session.execute(text("SET LOCAL lock_timeout = '5s'"))
                yield session
        finally:
            session.close()
            if outer is not None:
                self.session.registry.set(outer)
                outer.expire_all()  # what it loaded before is read again, as written now
            else:
                self.session.registry.clear()
        if outer is not None and outer.in_transaction():
            # A test bound to one connection in SAVEPOINT mode would lose the write when the
            # request rolls back its savepoint, opened before this one: fail there, loudly.
            from flask import current_app, has_app_context

            if has_app_context() and current_app.testing:
                raise RuntimeError("the request's session was used inside an independent transaction")
            log.warning("the request's session was used inside an independent transaction")
