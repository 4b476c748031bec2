"""Markings: the Traffic Light Protocol 2.0 labels every shareable item carries, and the columns
that go with them.

``Marked`` gives a model its marking, its "law enforcement only" flag, its author and the
author's organisation: what ``app.policy`` reads to decide an item's audience. ``OrgRecipient``
and ``UserRecipient`` are the named recipient organisations (AMBER, AMBER+STRICT) and people
(RED) of a marked item; each table adds the key of the item it names recipients for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from app.enums import StrEnum, enum_column_type

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
