"""Markings: the Traffic Light Protocol 2.0 labels every shareable item carries, and the columns
that go with them.

``Marked`` gives a model its marking, its "law enforcement only" flag, its author and the
author's organisation: what ``app.policy`` reads to decide an item's audience. ``OrgRecipient``
and ``UserRecipient`` are the named recipient organisations (AMBER, AMBER+STRICT) and people
(RED) of a marked item; each table adds the key of the item it names recipients for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
