"""The declarative base, the session, and the one transaction boundary per request.

PAX uses plain SQLAlchemy 2.x: one engine per application, one scoped session per request
(or CLI command). Writes are committed once, by ``PaxFlask.dispatch_request`` after the view
returns, or by the CLI command; anything that raises is rolled back when the scope ends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from flask import Flask

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
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False},
            **({} if pooled else {"poolclass": NullPool}),
        )
        event.listen(engine, "connect", _sqlite_pragmas)
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
    """Holds the application's engine and its scoped session."""

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
