"""Markings: the Traffic Light Protocol 2.0 labels every shareable item carries, and the columns
that go with them.

``Marked`` gives a model its marking, its "law enforcement only" flag, its author and the
author's organisation: what ``app.policy`` reads to decide an item's audience. ``OrgRecipient``
and ``UserRecipient`` are the named recipient organisations (AMBER, AMBER+STRICT) and people
(RED) of a marked item; each table adds the key of the item it names recipients for.

``MarkingSnapshot`` keeps a marking as it stood when something was written: a post's earlier
versions, its comments and its files each point to the one in force then, so the past keeps its
marking when the item's changes (TLP 2.0). One row per distinct marking, shared by everything
written under it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from app.db import Base, utcnow
from app.enums import StrEnum, enum_column_type
from app.extensions import db

if TYPE_CHECKING:
    from app.auth.models import User
    from app.directory.models import Organisation


class Tlp(StrEnum):
    """Traffic Light Protocol 2.0 markings, least to most restrictive."""

    CLEAR = "CLEAR"
    GREEN = "GREEN"
    AMBER = "AMBER"
    AMBER_STRICT = "AMBER+STRICT"
    RED = "RED"

    @property
    def rank(self) -> int:
        return list(Tlp).index(self)

    @property
    def label(self) -> str:
        return f"TLP:{self.value}"

    @property
    def css(self) -> str:
        return self.value.lower().replace("+", "-")


def strictest(*tlps: Tlp | None) -> Tlp:
    """The strictest of the markings given (None ones left out)."""
    return max((Tlp(t) for t in tlps if t is not None), key=lambda t: t.rank)


#: The markings whose audience names recipient organisations, and the one that names people.
ORG_RECIPIENT_TLPS = frozenset({Tlp.AMBER, Tlp.AMBER_STRICT})
USER_RECIPIENT_TLPS = frozenset({Tlp.RED})


@dataclass(frozen=True)
class Marking:
    """An item's marking as its audience reads it: the TLP, the "law enforcement only" flag and
    the named recipients (organisation and user ids) that marking uses."""

    tlp: Tlp
    law_enforcement_only: bool = False
    recipient_orgs: frozenset[int] = frozenset()
    recipient_users: frozenset[int] = frozenset()

    @classmethod
    def of(cls, item: Any) -> Marking:
        """The marking ``item`` (a post, meeting or meeting document) carries now."""
        return cls(
            item.tlp,
            bool(item.law_enforcement_only),
            frozenset(r.organisation_id for r in getattr(item, "recipient_orgs", ())),
            frozenset(r.user_id for r in getattr(item, "recipient_users", ())),
        )

    @classmethod
    def proposed(cls, tlp: Tlp, law_enforcement_only: bool, orgs: Any = (), users: Any = ()) -> Marking:
        """The marking an edit asks for, with its resolved recipient organisations and people."""
        return cls(tlp, law_enforcement_only, frozenset(o.id for o in orgs), frozenset(u.id for u in users))

    @property
    def named_orgs(self) -> frozenset[int]:
        """The recipient organisations the TLP lets into the audience (AMBER, AMBER+STRICT)."""
        return self.recipient_orgs if self.tlp in ORG_RECIPIENT_TLPS else frozenset()

    @property
    def named_users(self) -> frozenset[int]:
        """The named people the TLP lets into the audience (RED)."""
        return self.recipient_users if self.tlp in USER_RECIPIENT_TLPS else frozenset()


def loosens(old: Marking, new: Marking) -> bool:
    """Whether changing ``old`` into ``new`` makes the marking less strict (TLP 2.0: only the
    originator may): a looser TLP, dropping "law enforcement only", or, at the same TLP, any change
    of the recipients that TLP names (removing them, as DESIGN.md says, and adding them, which
    widens the audience). A stricter TLP may drop recipients the new TLP does not use; naming anyone
    not named before stays the originator's decision (a RED name may be an outsider to the AMBER
    audience), except when tightening from CLEAR or GREEN, which every member sees already."""
    if new.tlp.rank < old.tlp.rank:
        return True
    if old.law_enforcement_only and not new.law_enforcement_only:
        return True
    if new.tlp is old.tlp:
        return (new.named_orgs, new.named_users) != (old.named_orgs, old.named_users)
    if old.tlp in (Tlp.CLEAR, Tlp.GREEN):
        return False
    return not (new.named_orgs <= old.named_orgs and new.named_users <= old.named_users)


def marking_details(old: Marking, new: Marking) -> dict[str, Any]:
    """What an audit event of a change of marking keeps: both TLPs, flags and recipient counts,
    never who the recipients are."""
    return {
        "old_tlp": old.tlp.value,
        "new_tlp": new.tlp.value,
        "old_law_enforcement_only": old.law_enforcement_only,
        "new_law_enforcement_only": new.law_enforcement_only,
        "old_recipient_orgs": len(old.recipient_orgs),
        "new_recipient_orgs": len(new.recipient_orgs),
        "old_recipient_users": len(old.recipient_users),
        "new_recipient_users": len(new.recipient_users),
        "loosened": loosens(old, new),
    }


def version_marking_problem(document_tlp: Tlp, document_le_only: bool, tlp: Tlp, le_only: bool) -> str | None:
    """Why a version may not carry ``tlp`` and ``le_only`` inside a document marked
    ``document_tlp`` (``document_le_only``): a version may be stricter, never looser."""
    if tlp.rank < document_tlp.rank:
        return gettext("A new version is marked %(tlp)s or stricter, as its document is.", tlp=document_tlp.label)
    if document_le_only and not le_only:
        return gettext("A new version of a law-enforcement-only document stays law enforcement only.")
    return None


class Marked:
    """The columns the access rule reads on a marked item (a post, a meeting, a meeting document)."""

    tlp: Mapped[Tlp] = mapped_column(enum_column_type(Tlp, "tlp"))
    #: Narrows any marking to users of law-enforcement organisations plus the author.
    law_enforcement_only: Mapped[bool] = mapped_column(default=False)

    @declared_attr
    def author_id(cls) -> Mapped[int | None]:
        return mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)

    @declared_attr
    def author_org_id(cls) -> Mapped[int]:
        """The author's organisation when the item was written (moving a user does not move what
        their organisation shared); AMBER+STRICT visibility keys on it."""
        return mapped_column(sa.ForeignKey("organisations.id"))


class OrgRecipient:
    """A named recipient organisation of an AMBER or AMBER+STRICT item."""

    @declared_attr
    def organisation_id(cls) -> Mapped[int]:
        return mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True, index=True)

    @declared_attr
    def organisation(cls) -> Mapped[Organisation]:
        return relationship(lazy="joined")


class UserRecipient:
    """A named individual recipient of a RED item."""

    @declared_attr
    def user_id(cls) -> Mapped[int]:
        return mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)

    @declared_attr
    def user(cls) -> Mapped[User]:
        return relationship(lazy="joined")


class MarkingSnapshot(Marked, Base):
    """A marking as it stood at one moment: TLP, flag, author, the author's organisation, the
    cluster and the named recipients. ``app.policy`` reads it with the same access rule as the
    item itself; what was written under it is shown only to those it admits *and* the item admits
    now. Rows are never changed: ``key`` identifies the marking, so writing under an unchanged
    marking reuses its row."""

    __tablename__ = "marking_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the marking's canonical form (``snapshot_key``).
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    cluster_id: Mapped[int | None] = mapped_column(sa.ForeignKey("clusters.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    recipient_orgs: Mapped[list[MarkingSnapshotOrg]] = relationship(cascade="all, delete-orphan")
    recipient_users: Mapped[list[MarkingSnapshotUser]] = relationship(cascade="all, delete-orphan")


class MarkingSnapshotOrg(OrgRecipient, Base):
    __tablename__ = "marking_snapshot_orgs"

    snapshot_id: Mapped[int] = mapped_column(
        sa.ForeignKey("marking_snapshots.id", ondelete="CASCADE"), primary_key=True
    )


class MarkingSnapshotUser(UserRecipient, Base):
    __tablename__ = "marking_snapshot_users"

    snapshot_id: Mapped[int] = mapped_column(
        sa.ForeignKey("marking_snapshots.id", ondelete="CASCADE"), primary_key=True
    )


def snapshot_key(marking: Marking, author_id: int | None, author_org_id: int, cluster_id: int | None) -> str:
    recipients = (
        ",".join(map(str, sorted(marking.recipient_orgs))) + ";" + ",".join(map(str, sorted(marking.recipient_users)))
    )
    canonical = (
        f"{marking.tlp.value}|{int(marking.law_enforcement_only)}|{author_id}|{author_org_id}|{cluster_id}|{recipients}"
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def snapshot_of(item: Any, cluster_id: int | None = None) -> MarkingSnapshot:
    """The snapshot of the marking ``item`` (a post, meeting or meeting document) carries now,
    made if no earlier write used the same marking. ``cluster_id`` defaults to the item's."""
    marking = Marking.of(item)
    if cluster_id is None:
        cluster_id = getattr(item, "cluster_id", None)
    key = snapshot_key(marking, item.author_id, item.author_org_id, cluster_id)
    found = db.session.scalar(sa.select(MarkingSnapshot).where(MarkingSnapshot.key == key))
    if found is not None:
        return found
    snapshot = MarkingSnapshot(
        key=key,
        tlp=marking.tlp,
        law_enforcement_only=marking.law_enforcement_only,
        author_id=item.author_id,
        author_org_id=item.author_org_id,
        cluster_id=cluster_id,
        recipient_orgs=[MarkingSnapshotOrg(organisation_id=o) for o in sorted(marking.recipient_orgs)],
        recipient_users=[MarkingSnapshotUser(user_id=u) for u in sorted(marking.recipient_users)],
    )
    # Two writers may make the same snapshot at once: the loser's savepoint rolls back and it
    # takes the winner's row.
    try:
        with db.session.begin_nested():
            db.session.add(snapshot)
    except sa.exc.IntegrityError:
        found = db.session.scalar(sa.select(MarkingSnapshot).where(MarkingSnapshot.key == key))
        if found is None:
            raise
        return found
    return snapshot
