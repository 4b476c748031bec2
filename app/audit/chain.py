"""The audit chain: gapless sequence numbers and an HMAC linking every record to the one before.

A record's MAC is HMAC-SHA256, keyed by the ``audit_hmac`` purpose key and run by the key backend
(``app.keys.backend``: the keyring file, or inside a PKCS#11 token), over the previous record's
MAC and the record's canonical form (format 1 below). The key lives outside the database, so
whoever can only write to the database cannot forge or re-chain records.

The chain head names the custody of the key it is under (``file`` or ``pkcs11``). ``keys migrate
--to pkcs11`` appends a ``keys.audit_custody`` record under the old key and moves the head to
the token's key; verification switches keys after that record, so the chain verifies across the
move (the keyring file's audit key is kept in the token, non-extractable, for the records before).

Records get their place when they are flushed: the flush first updates the single
``audit_chain_head`` row, which makes concurrent writers queue behind each other's commit
(a row lock on PostgreSQL, the write lock on SQLite), so numbers are gapless and the chain is
linear. A rolled-back transaction gives its numbers back with the head update.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from app.audit.models import AuditChainHead, AuditEvent
from app.db import utcnow
from app.keys.backend import FILE, starting_custody

FORMAT_VERSION = 1
GENESIS_MAC = "0" * 64
KEY_NAME = "audit_hmac"
#: The record after which the chain is under another key (``details["custody"]``).
SWITCH_ACTION = "keys.audit_custody"

#: The order in which events were recorded within one flush (``session.new`` has none).
_recorded_order = itertools.count()
#: The key backend of the application that owns each engine; the flush hook finds its key here.
_keyrings: weakref.WeakKeyDictionary[Engine, Any] = weakref.WeakKeyDictionary()

#: A chain key: raw key bytes (tests, migrations), or a function computing HMAC-SHA256 (the backend).
ChainKey = bytes | Callable[[bytes], bytes]


class AuditKeys:
    """The audit key by custody, through the key backend; no key bytes are held here."""

    def __init__(self, keys: Any) -> None:
        self.keys = keys

    def start(self, head_custody: str | None, seq: int = 0) -> str:
        """The custody of the head's key: as recorded, else the keyring file's for a chain that
        holds records from before custody was recorded, else the backend's starting custody."""
        if head_custody:
            return head_custody
        return FILE if seq else starting_custody(self.keys)

    def key(self, custody: str) -> ChainKey:
        keys = self.keys
        return lambda data: keys.hmac_sha256(KEY_NAME, data, custody)


class ChainUnavailable(RuntimeError):
    """No audit key is known for this database connection: nothing may be recorded unchained."""


def bind_keyring(engine: Engine, keyring: Any) -> None:
    """Tell the flush hook which key backend MACs the records written through ``engine``."""
    _keyrings[engine] = keyring


def mark_recorded(audit_event: AuditEvent) -> AuditEvent:
    audit_event._chain_order = next(_recorded_order)  # type: ignore[attr-defined]
    return audit_event


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(record: AuditEvent) -> bytes:
    """Format 1: every field but the id and the MAC, as sorted compact JSON."""
    document = {
        "v": FORMAT_VERSION,
        "seq": record.seq,
        "at": _timestamp(record.at),
        "action": record.action,
        "outcome": record.outcome,
        "actor_id": record.actor_id,
        "actor_org_id": record.actor_org_id,
        "target_type": record.target_type,
        "target_id": record.target_id,
        "target_org_id": record.target_org_id,
        "source": record.source,
        "details": record.details or {},
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _hmac(key: ChainKey, data: bytes) -> str:
    if isinstance(key, bytes):
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return key(data).hex()


def record_mac(key: ChainKey, previous_mac: str, record: AuditEvent) -> str:
    return _hmac(key, previous_mac.encode("ascii") + b"\n" + canonical(record))


def head_mac(key: ChainKey, seq: int, mac: str) -> str:
    return _hmac(key, f"head\n{seq}\n{mac}".encode("ascii"))


def audit_key(engine: Engine | Connection | None) -> AuditKeys:
    target = engine.engine if isinstance(engine, Connection) else engine
    keyring = _keyrings.get(target) if target is not None else None
    if keyring is None:
        raise ChainUnavailable("no keyring is bound to this database: audit records cannot be chained")
    keyring.refresh()
    return AuditKeys(keyring)


_head = AuditChainHead.__table__


def _append(connection: Connection, records: list[AuditEvent]) -> None:
    keys = audit_key(connection)
    # Taking the head row first is what queues concurrent writers (see the module docstring).
    locked = connection.execute(sa.update(_head).where(_head.c.id == 1).values(seq=_head.c.seq)).rowcount
    if not locked:
        connection.execute(sa.insert(_head).values(id=1, seq=0, mac=GENESIS_MAC, head_mac="", custody=keys.start(None)))
    seq, mac, custody = connection.execute(
        sa.select(_head.c.seq, _head.c.mac, _head.c.custody).where(_head.c.id == 1)
    ).one()
    custody = keys.start(custody, seq)
    key = keys.key(custody)
    for record in records:
        seq += 1
        record.seq = seq
        if record.at is None:
            record.at = utcnow()
        record.details = record.details or {}
        record.outcome = record.outcome or "ok"
        mac = record_mac(key, mac, record)
        record.mac = mac
    connection.execute(
        sa.update(_head)
        .where(_head.c.id == 1)
        .values(seq=seq, mac=mac, head_mac=head_mac(key, seq, mac), custody=custody)
    )


@event.listens_for(Session, "before_flush")
def _chain_new_records(session: Session, _flush_context: Any, _instances: Any) -> None:
    pending = [obj for obj in session.new if isinstance(obj, AuditEvent) and obj.seq is None]
    if pending:
        pending.sort(key=lambda obj: getattr(obj, "_chain_order", 0))
        _append(session.connection(), pending)


# --- verification --------------------------------------------------------------------------------


@dataclass
class Verdict:
    ok: bool
    checked: int
    head_seq: int
    head_mac: str
    #: The first record that does not verify (its sequence number, or the expected one when missing).
    bad_seq: int | None = None
    problem: str = ""


def switch_custody(connection: Connection, custody: str) -> None:
    """Put the chain under ``custody``'s audit key from the next record on. The caller has just
    appended (and flushed) the ``SWITCH_ACTION`` record naming ``custody``, holding the head row."""
    keys = audit_key(connection)
    seq, mac = connection.execute(sa.select(_head.c.seq, _head.c.mac).where(_head.c.id == 1)).one()
    connection.execute(
        sa.update(_head).where(_head.c.id == 1).values(custody=custody, head_mac=head_mac(keys.key(custody), seq, mac))
    )


def head_custody(connection: Connection, keys: AuditKeys) -> str:
    """The custody of the key new records are MACed under."""
    head = connection.execute(sa.select(_head.c.custody, _head.c.seq).where(_head.c.id == 1)).first()
    return keys.start(head.custody, head.seq) if head else keys.start(None)


def verify(connection: Connection, key: ChainKey | AuditKeys, batch: int = 5000) -> Verdict:
    """Recompute the whole chain in sequence order; stop at the first record that is wrong.

    Given the backend's ``AuditKeys``, the key follows the chain's custody switches: a chain
    that has one started under the keyring file's key (the only move is file to token)."""
    table = AuditEvent.__table__
    head = connection.execute(
        sa.select(_head.c.seq, _head.c.mac, _head.c.head_mac, _head.c.custody).where(_head.c.id == 1)
    ).first()
    keys = key if isinstance(key, AuditKeys) else None
    if keys is not None:
        switched = connection.execute(sa.select(table.c.id).where(table.c.action == SWITCH_ACTION).limit(1)).first()
        key = keys.key(FILE if switched else keys.start(head.custody, head.seq) if head else keys.start(None))
    assert not isinstance(key, AuditKeys)
    expected_seq, mac, checked = 1, GENESIS_MAC, 0
    last_seq = 0
    while True:
        rows = connection.execute(
            sa.select(table).where(table.c.seq >= expected_seq).order_by(table.c.seq).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            record = _as_record(row._mapping)
            if record.seq != expected_seq:
                problem = "is missing" if record.seq > expected_seq else "appears twice"
                return _bad(checked, head, expected_seq, f"record {expected_seq} {problem}")
            recomputed = record_mac(key, mac, record)
            if not hmac.compare_digest(recomputed, row.mac or ""):
                return _bad(checked, head, record.seq, f"record {record.seq} does not match its MAC")
            mac, last_seq, checked = recomputed, record.seq, checked + 1
            expected_seq += 1
            if keys is not None and record.action == SWITCH_ACTION and record.outcome == "ok":
                key = keys.key(str((record.details or {}).get("custody")))
    if head is None:
        if checked:
            return _bad(checked, None, last_seq, "the chain head is missing")
        return Verdict(True, 0, 0, GENESIS_MAC)
    if head.seq == 0 and checked == 0:
        return Verdict(True, 0, 0, GENESIS_MAC)
    if head.seq != last_seq or head.mac != mac:
        first_missing = last_seq + 1 if head.seq > last_seq else head.seq + 1
        return _bad(checked, head, first_missing, f"the chain head names record {head.seq}, the log ends at {last_seq}")
    if not hmac.compare_digest(head_mac(key, head.seq, head.mac), head.head_mac or ""):
        return _bad(checked, head, head.seq, "the chain head does not match its MAC")
    return Verdict(True, checked, head.seq, head.mac)


def _bad(checked: int, head: Any, seq: int, problem: str) -> Verdict:
    return Verdict(False, checked, head.seq if head else 0, head.mac if head else "", seq, problem)


def _as_record(row: Any) -> AuditEvent:
    record = AuditEvent()
    for name in ("seq", "action", "outcome", "actor_id", "actor_org_id", "target_type", "target_id"):
        setattr(record, name, row[name])
    record.target_org_id = row["target_org_id"]
    record.source = row["source"]
    details = row["details"]
    record.details = json.loads(details) if isinstance(details, str) else details
    at = row["at"]
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    record.at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return record


def chain_records(key: ChainKey, records: Iterable[AuditEvent], previous_mac: str = GENESIS_MAC) -> str:
    """MAC ``records`` in order after ``previous_mac`` (for migrations and tools); returns the last MAC."""
    mac = previous_mac
    for record in records:
        mac = record_mac(key, mac, record)
        record.mac = mac
    return mac
