"""``audit verify`` and ``audit head``: prove the audit log unchanged; ``db grant-app-role``: the
PostgreSQL role the portal connects as, which may only insert and read audit records.

``audit verify`` recomputes the whole HMAC chain with the keyring's audit key (``app.audit.chain``)
and exits 0 when every record and the chain head match, 1 naming the first bad record otherwise.
``audit head`` prints where the chain ends, for operators to write down elsewhere (a ticket, a
signed mail): a later head that does not extend it shows that records were cut off and re-chained.
"""

from __future__ import annotations

import re

import click
import sqlalchemy as sa

from app.audit.chain import audit_key, verify
from app.audit.models import ACCESS_ACTIONS, AuditChainHead, AuditEvent
from app.cli.base import OneLineUsageError, PaxGroup
from app.cli.schema import db_group
from app.extensions import db
from app.keys.backend import KeyUnavailable

audit_group = PaxGroup("audit", help="The tamper-evident audit log.")

#: What the portal's role may do where it may not do everything: audit records are appended and
#: read, never changed or removed; the chain head is moved forward by every writer.
APP_ROLE_PRIVILEGES = {"audit_events": "SELECT, INSERT", "audit_chain_head": "SELECT, INSERT, UPDATE"}
#: PostgreSQL role names PAX accepts (no quoting games).
_ROLE = re.compile(r"[A-Za-z_][A-Za-z0-9_$-]{0,62}")


@audit_group.command("verify")
def verify_command() -> None:
    """Recompute the audit chain; exit 1 naming the first record that does not verify."""
    engine = db.engine
    assert engine is not None
    key = audit_key(engine)
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # One snapshot: records committed while we read cannot look like a broken head.
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        try:
            verdict = verify(connection, key)
        except KeyUnavailable as exc:
            raise OneLineUsageError(f"the audit key is unavailable, nothing was checked: {exc}") from exc
    if verdict.ok:
        click.echo(
            f"audit chain OK: {verdict.checked} records, head at seq {verdict.head_seq} (mac {verdict.head_mac})"
        )
        return
    click.echo(f"audit chain BROKEN at record {verdict.bad_seq}: {verdict.problem}")
    raise SystemExit(1)


@audit_group.command("head")
def head_command() -> None:
    """Print the chain head (sequence number and MAC) to record outside PAX."""
    head = db.session.scalar(sa.select(AuditChainHead).where(AuditChainHead.id == 1))
    if head is None:
        raise OneLineUsageError("the audit chain has no head: run 'db upgrade' first")
    click.echo(f"audit head: seq {head.seq} mac {head.mac}")


@db_group.command("grant-app-role")
@click.argument("role")
def grant_app_role(role: str) -> None:
    """Grant ROLE what the portal needs (PostgreSQL): every table, but audit_events only SELECT and INSERT.

    Run it as the owner after every ``db upgrade``; the portal then connects as ROLE.
    """
    engine = db.engine
    assert engine is not None
    if engine.dialect.name != "postgresql":
        raise OneLineUsageError("grant-app-role needs PostgreSQL: SQLite has no roles to grant to")
    if not _ROLE.fullmatch(role):
        raise OneLineUsageError(f"{role!r} is not a role name PAX accepts (letters, digits, _ and $)")
    with engine.begin() as connection:
        if connection.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}) is None:
            raise OneLineUsageError(f"there is no PostgreSQL role {role!r}: create it first (CREATE ROLE ... LOGIN)")
        quote = connection.dialect.identifier_preparer.quote
        who, schema = quote(role), quote(connection.scalar(sa.text("SELECT current_schema()")))
        tables = connection.scalars(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")
        ).all()
        sequences = connection.scalars(
            sa.text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() ORDER BY 1")
        ).all()
        connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {who}")
        for table in tables:
            # Revoke first, so running it again also takes back what was granted by hand.
            connection.exec_driver_sql(f"REVOKE ALL ON {quote(table)} FROM {who}")
            privileges = APP_ROLE_PRIVILEGES.get(table, "SELECT, INSERT, UPDATE, DELETE")
            connection.exec_driver_sql(f"GRANT {privileges} ON {quote(table)} TO {who}")
        for sequence in sequences:
            connection.exec_driver_sql(f"GRANT USAGE, SELECT ON SEQUENCE {quote(sequence)} TO {who}")
    click.echo(
        f"{role} may now read and write {len(tables) - 1} tables and only read and append audit_events "
        f"({len(sequences)} sequences)."
    )


#: A watermark reference as printed on a stamped page (``app.files.watermark.new_reference``).
_REFERENCE = re.compile(r"[0-9A-Z]{4}-?[0-9A-Z]{4}-?[0-9A-Z]{4}")


@audit_group.command("trace")
@click.argument("reference")
def trace_command(reference: str) -> None:
    """Print the download whose stamped copy carries REFERENCE (from a leaked PDF's pages)."""
    from app.auth.models import User
    from app.directory.models import Organisation

    wanted = reference.strip().upper()
    if not _REFERENCE.fullmatch(wanted):
        raise OneLineUsageError(f"{reference!r} is not a watermark reference (like 7KQ2-M9XD-4TPA)")
    letters = wanted.replace("-", "")
    wanted = f"{letters[:4]}-{letters[4:8]}-{letters[8:]}"
    candidates = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.action.in_(ACCESS_ACTIONS), sa.cast(AuditEvent.details, sa.Text).contains(wanted))
        .order_by(AuditEvent.seq)
    ).all()
    found = [e for e in candidates if (e.details or {}).get("watermark") == wanted]
    if not found:
        click.echo(f"no download carries the watermark {wanted}")
        raise SystemExit(1)
    for event in found:
        actor = db.session.get(User, event.actor_id) if event.actor_id is not None else None
        org = db.session.get(Organisation, event.actor_org_id) if event.actor_org_id is not None else None
        details = event.details or {}
        click.echo(f"watermark {wanted}: audit record seq {event.seq}")
        click.echo(f"  when:    {event.at.isoformat()}")
        click.echo(f"  what:    {event.action} of {event.target_type} {event.target_id}")
        who = f"{actor.name} <{actor.email}>" if actor is not None else "(account erased)"
        click.echo(f"  who:     user {event.actor_id} {who}")
        click.echo(f"  org:     {event.actor_org_id} {org.name if org is not None else ''}".rstrip())
        click.echo(f"  from:    {event.source}")
        if details.get("stamped_sha256"):
            click.echo(f"  sha256:  {details['stamped_sha256']} (the stamped copy as sent)")
        if details.get("stamped_sha256s"):
            click.echo(f"  sha256s: {', '.join(details['stamped_sha256s'])} (the pack's stamped PDFs)")
