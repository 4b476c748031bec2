"""Indexing incident notes' identifiers as keyed hashes, and telling both sides of a new hit.

A container number or vessel IMO number enters the index only as
HMAC-SHA256(``match_hmac`` key, ``"<kind>:<value>"``): someone reading the database without
the keyring cannot test a guessed number against it, and the raw numbers stay in the note,
where only its audience reads them.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from app.audit.services import record
from app.auth.models import User
from app.clusters.models import Post, PostType
from app.crossmatch.models import IdentifierKind, KeyCustody, MatchIdentifier
from app.db import utcnow
from app.extensions import db
from app.keys.backend import backend, starting_custody
from app.notifications.services import notify
from app.policy import match_sources

log = logging.getLogger("pax.crossmatch")


def digest(kind: IdentifierKind, value: str, custody: str | None = None) -> str:
    """The index's pseudonym of one identifier (hex HMAC-SHA256 under the ``match_hmac`` key, run by
    the key backend), under the key whose custody the index is in (``index_custody``)."""
    custody = custody or index_custody()
    return backend().hmac_sha256("match_hmac", f"{kind.value}:{value}".encode(), custody).hex()


def index_custody(lock: bool = False) -> str:
    """Which backend's ``match_hmac`` key the index is under: ``file`` until ``keys migrate`` has
    re-keyed it, or the backend's own on a fresh token installation. ``lock`` takes the row for
    reading (PostgreSQL), so a re-keying waits for notes being indexed under the old key and they
    wait for it."""
    stmt = sa.select(KeyCustody.match_index).where(KeyCustody.id == 1)
    value = db.session.scalar(stmt.with_for_update(read=True) if lock else stmt)
    return value or starting_custody(current_app.extensions["pax_keys"])


def record_custody(custody: str) -> None:
    """Write down the custody the first entries of an empty index are made under (the upgrade wrote
    ``file`` for an index that had entries), so a later change of backend cannot change it."""
    if db.session.get(KeyCustody, 1) is not None:
        return
    # Each dialect's insert is imported where used: a SQLite portal never loads PostgreSQL's dialect.
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(
        insert(KeyCustody)
        .values(id=1, match_index=custody, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["id"])
    )


def rekey_index(custody: str) -> int:
    """Recompute every digest under ``custody``'s key, in this transaction (the index is small: a
    few identifiers per incident note); returns how many rows changed. Notes being indexed
    meanwhile wait on the custody row."""
    previous = index_custody()
    row = db.session.get(KeyCustody, 1, with_for_update=True)
    if row is None:
        row = KeyCustody(id=1, match_index=previous)
        db.session.add(row)
        db.session.flush()
    if row.match_index == custody:
        return 0
    changed = 0
    post_ids = db.session.scalars(sa.select(MatchIdentifier.post_id).distinct().order_by(MatchIdentifier.post_id))
    for post_id in list(post_ids):
        post = db.session.get(Post, post_id)
        old = identifiers(post, row.match_index) if post else {}
        for entry in db.session.scalars(sa.select(MatchIdentifier).where(MatchIdentifier.post_id == post_id)):
            raw = old.get((entry.kind, entry.digest))
            if raw is None:
                db.session.delete(entry)  # an entry its note no longer names: index_note would drop it too
            else:
                entry.digest = digest(entry.kind, raw, custody)
            changed += 1
    row.match_index = custody
    db.session.flush()
    return changed


def identifiers(post: Post, custody: str | None = None) -> dict[tuple[IdentifierKind, str], str]:
    """The note's identifiers as ``(kind, digest) -> raw value``; empty for a post that is not an
    incident note. Values are normalised (compact, upper case) as validation stores them."""
    if post.type is not PostType.INCIDENT_NOTE or post.incident is None:
        return {}
    found: dict[tuple[IdentifierKind, str], str] = {}
    for number in post.incident.container_numbers:
        value = "".join(number.split()).upper()
        found[(IdentifierKind.CONTAINER, digest(IdentifierKind.CONTAINER, value, custody))] = value
    if post.incident.vessel_imo:
        value = post.incident.vessel_imo.strip()
        found[(IdentifierKind.VESSEL_IMO, digest(IdentifierKind.VESSEL_IMO, value, custody))] = value
    return found


def _matched_notes(post_id: int) -> set[int]:
    """Other organisations' notes sharing at least one indexed identifier with note ``post_id``."""
    own, other = aliased(MatchIdentifier), aliased(MatchIdentifier)
    stmt = (
        sa.select(other.post_id)
        .join(
            own,
            sa.and_(
                own.kind == other.kind,
                own.digest == other.digest,
                own.organisation_id != other.organisation_id,
            ),
        )
        .where(own.post_id == post_id)
        .distinct()
    )
    return set(db.session.scalars(stmt))


def _reveals(user: User | None, note_id: int) -> bool:
    """May note ``note_id`` reveal a hit to ``user`` (``policy.match_sources``)?"""
    if user is None:
        return False
    return db.session.scalar(sa.select(Post.id).where(Post.id == note_id, match_sources(user))) is not None


def _tell(user: User | None, own: Post, other: Post) -> None:
    """Notify ``user`` (the author of ``own``) of a hit on ``own``, if ``other`` may reveal it to them."""
    if user is None or not _reveals(user, other.id):
        return
    notify(
        user,
        "match.found",
        target=("post", own.id),
        tlp=own.tlp,
        dedupe_key=f"match:{own.id}:{other.id}",
    )


def index_note(post: Post) -> None:
    """Replace ``post``'s entries in the match index with its current identifiers.

    Identifiers kept by an edit keep their entry (and the time they were first indexed); removed
    ones leave the index, so their hits disappear. For every other organisation's note that now
    shares an identifier and did not before, both authors are notified (once per pair of notes,
    each only if the other note may reveal a hit to them) and ``match.found`` is audited with ids.
    """
    custody = index_custody(lock=True)
    wanted = identifiers(post, custody)
    if wanted:
        record_custody(custody)
    before = _matched_notes(post.id)
    existing = {
        (row.kind, row.digest): row
        for row in db.session.scalars(sa.select(MatchIdentifier).where(MatchIdentifier.post_id == post.id))
    }
    for key, row in existing.items():
        if key not in wanted:
            db.session.delete(row)
    for kind, value_digest in wanted.keys() - existing.keys():
        db.session.add(
            MatchIdentifier(post_id=post.id, organisation_id=post.author_org_id, kind=kind, digest=value_digest)
        )
    db.session.flush()
    new = sorted(_matched_notes(post.id) - before)
    for other_id in new:
        other = db.session.get(Post, other_id)
        if other is None:
            continue
        record(
            "match.found",
            target=("post", post.id),
            target_org=post.author_org_id,
            other_post_id=other.id,
            other_org_id=other.author_org_id,
        )
        _tell(post.author, post, other)
        _tell(other.author, other, post)
    if new:
        log.info("post %s matches %s other note(s)", post.id, len(new))
