"""The audit chain against someone who can write to the database but does not hold the keyring.

Each tampering is done with plain SQL, as such an attacker would; on PostgreSQL they must first
switch triggers off (``session_replication_role = replica``, which takes a superuser), because
the append-only trigger refuses every UPDATE, DELETE and TRUNCATE. ``audit verify`` must then
exit non-zero naming the first bad record. ``db grant-app-role`` gives the portal's own role
no right to change or remove records at all.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.audit.chain import chain_records, head_mac
from app.audit.models import AuditChainHead, AuditEvent
from app.audit.services import record
from app.extensions import db
from tests.support.databases import backend

EVENTS = AuditEvent.__table__
HEAD = AuditChainHead.__table__
postgresql_only = pytest.mark.skipif(backend() != "postgresql", reason="roles and triggers are PostgreSQL's")
sqlite_only = pytest.mark.skipif(backend() != "sqlite", reason="the SQLite refusal")
# ``audit verify``, the triggers' refusals and the app role read and write on connections of their own.
pytestmark = pytest.mark.committed_db


@contextlib.contextmanager
def attacker() -> Iterator[Connection]:
    """A raw connection to the database, with PostgreSQL's triggers off, as a superuser can."""
    db.session.commit()
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        yield connection


def five_events() -> None:
    for n in range(1, 6):
        record("test.event", target=("thing", n), n=n)
    db.session.commit()


def verify(runner) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["audit", "verify"])
    return result.exit_code, result.output.strip()


def _edit_details(conn: Connection) -> None:
    conn.execute(sa.update(EVENTS).where(EVENTS.c.seq == 3).values(details={"n": 99}))


def _change_action(conn: Connection) -> None:
    conn.execute(sa.update(EVENTS).where(EVENTS.c.seq == 3).values(action="test.harmless"))


def _delete_middle(conn: Connection) -> None:
    conn.execute(sa.delete(EVENTS).where(EVENTS.c.seq == 3))


def _delete_last(conn: Connection) -> None:
    conn.execute(sa.delete(EVENTS).where(EVENTS.c.seq == 5))


def _swap(conn: Connection) -> None:
    conn.execute(sa.update(EVENTS).where(EVENTS.c.seq == 2).values(seq=-2))
    conn.execute(sa.update(EVENTS).where(EVENTS.c.seq == 4).values(seq=2))
    conn.execute(sa.update(EVENTS).where(EVENTS.c.seq == -2).values(seq=4))


def _rechain_with_another_key(conn: Connection) -> None:
    """Remove record 3 and rebuild every MAC and the head, consistently, under a key of one's own."""
    from app.audit.chain import _as_record

    conn.execute(sa.delete(EVENTS).where(EVENTS.c.seq == 3))
    rows = conn.execute(sa.select(EVENTS).order_by(EVENTS.c.seq)).all()
    records = []
    for seq, row in enumerate(rows, start=1):
        conn.execute(sa.update(EVENTS).where(EVENTS.c.id == row.id).values(seq=seq))
        records.append(_as_record({**row._mapping, "seq": seq}))
    key = secrets.token_bytes(32)
    last = chain_records(key, records)
    for row, rebuilt in zip(rows, records, strict=True):
        conn.execute(sa.update(EVENTS).where(EVENTS.c.id == row.id).values(mac=rebuilt.mac))
    conn.execute(sa.update(HEAD).values(seq=len(records), mac=last, head_mac=head_mac(key, len(records), last)))


def _forge_head(conn: Connection) -> None:
    """Cut the last record off and point the head at the one before (its MAC is in the table)."""
    fourth = conn.scalar(sa.select(EVENTS.c.mac).where(EVENTS.c.seq == 4))
    conn.execute(sa.delete(EVENTS).where(EVENTS.c.seq == 5))
    conn.execute(sa.update(HEAD).values(seq=4, mac=fourth, head_mac="0" * 64))


@pytest.mark.parametrize(
    ("tamper", "first_bad", "problem"),
    [
        (_edit_details, 3, "record 3 does not match its MAC"),
        (_change_action, 3, "record 3 does not match its MAC"),
        (_delete_middle, 3, "record 3 is missing"),
        (_delete_last, 5, "the chain head names record 5, the log ends at 4"),
        (_swap, 2, "record 2 does not match its MAC"),
        (_rechain_with_another_key, 1, "record 1 does not match its MAC"),
        (_forge_head, 4, "the chain head does not match its MAC"),
    ],
    ids=["edit", "action", "delete-middle", "delete-last", "reorder", "rechain-wrong-key", "forged-head"],
)
def test_tampering_is_detected_naming_the_first_bad_record(
    app, runner, tamper: Callable[[Connection], None], first_bad: int, problem: str
):
    five_events()
    code, output = verify(runner)
    head = db.session.get(AuditChainHead, 1)
    assert (code, output) == (0, f"audit chain OK: 5 records, head at seq 5 (mac {head.mac})")
    assert runner.invoke(args=["audit", "head"]).output.strip() == f"audit head: seq 5 mac {head.mac}"

    with attacker() as conn:
        tamper(conn)
    code, output = verify(runner)
    assert code == 1
    assert output == f"audit chain BROKEN at record {first_bad}: {problem}"


def test_records_written_apart_and_after_a_rollback_keep_the_chain_gapless(app, runner):
    from app.audit.services import record_apart

    record("test.kept")
    db.session.commit()
    record("test.rolled_back")
    db.session.flush()
    db.session.rollback()
    record_apart("test.apart", outcome="error")
    record("test.kept_again")
    db.session.commit()
    rows = db.session.execute(sa.select(AuditEvent.seq, AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert [tuple(r) for r in rows] == [(1, "test.kept"), (2, "test.apart"), (3, "test.kept_again")]
    assert verify(runner)[0] == 0


@postgresql_only
@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events", "TRUNCATE audit_events"],
)
def test_postgresql_refuses_to_change_or_remove_records_even_for_the_owner(app, statement):
    record("test.event")
    db.session.commit()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.exec_driver_sql(statement)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 1


@sqlite_only
def test_grant_app_role_is_refused_on_sqlite_in_one_line(app, runner):
    result = runner.invoke(args=["db", "grant-app-role", "pax_app"])
    assert result.exit_code == 2
    assert result.output.strip() == "Error: grant-app-role needs PostgreSQL: SQLite has no roles to grant to"


@postgresql_only
def test_the_app_role_appends_audit_records_and_can_change_none(app, runner):
    from sqlalchemy.pool import NullPool

    from app.audit.chain import bind_keyring

    role = f"pax_app_{secrets.token_hex(4)}"
    owner = db.engine
    with owner.begin() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
    role_engine = sa.create_engine(owner.url.set(username=role, password=None), poolclass=NullPool)
    try:
        assert runner.invoke(args=["db", "grant-app-role", "no_such_role_here"]).exit_code == 2
        result = runner.invoke(args=["db", "grant-app-role", role])
        assert result.exit_code == 0, result.output
        bind_keyring(role_engine, app.extensions["pax_keyring"])
        # The portal's own session, connected as the app role.
        db.session.remove()
        db.session.configure(bind=role_engine)
        record("test.as_app_role", target=("thing", 1))
        db.session.execute(sa.update(sa.table("users", sa.column("name"))).values(name="x"))  # other tables: full use
        db.session.commit()
        assert db.session.scalar(sa.select(AuditEvent.seq).where(AuditEvent.action == "test.as_app_role")) == 1
        for statement in (
            "UPDATE audit_events SET action = 'x'",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
            "SET session_replication_role = replica",
        ):
            with pytest.raises(sa.exc.DBAPIError, match="permission denied"):
                db.session.execute(sa.text(statement))
            db.session.rollback()
    finally:
        db.session.remove()
        db.session.configure(bind=owner)
        role_engine.dispose()
        with owner.begin() as conn:
            conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
            conn.exec_driver_sql(f'DROP ROLE "{role}"')
    assert verify(runner)[0] == 0
