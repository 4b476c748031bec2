from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.concurrency import versioned
from app.db import Base, utcnow
from app.enums import StrEnum, enum_column_type

if TYPE_CHECKING:
    from app.auth.models import User


class OrgType(StrEnum):
    PORT_AUTHORITY = "port_authority"
    TERMINAL_OPERATOR = "terminal_operator"
    SHIPPING_LINE = "shipping_line"
    LOGISTICS = "logistics"
    ASSOCIATION = "association"
    CUSTOMS = "customs"
    POLICE = "police"
    EU_AGENCY = "eu_agency"
    COMMISSION = "commission"
    MEMBER_STATE = "member_state"

    @property
    def label(self) -> str:
        return str(ORG_TYPE_LABELS[self])


ORG_TYPE_LABELS = {
    OrgType.PORT_AUTHORITY: _l("Port authority"),
    OrgType.TERMINAL_OPERATOR: _l("Terminal operator"),
    OrgType.SHIPPING_LINE: _l("Shipping line"),
    OrgType.LOGISTICS: _l("Logistics"),
    OrgType.ASSOCIATION: _l("Association"),
    OrgType.CUSTOMS: _l("Customs"),
    OrgType.POLICE: _l("Police"),
    OrgType.EU_AGENCY: _l("EU agency"),
    OrgType.COMMISSION: _l("European Commission"),
    OrgType.MEMBER_STATE: _l("Member State authority"),
}

#: Organisation types whose users count as law enforcement (they see law-enforcement-only items).
LAW_ENFORCEMENT_TYPES = frozenset({OrgType.CUSTOMS, OrgType.POLICE, OrgType.EU_AGENCY})


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    type: Mapped[OrgType] = mapped_column(enum_column_type(OrgType, "org_type"))
    #: ISO 3166-1 alpha-2, upper case; validated against pycountry on every write path.
    country: Mapped[str] = mapped_column(sa.String(2))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Moves by one with each save; a save compares and sets it (``app.concurrency``).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = versioned(version)
    #: Set by the organisation's focal point: whether people with a PAX password may still use it
    #: when the organisation's own sign-in service cannot be reached. Off until the focal point says so.
    password_fallback: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    domains: Mapped[list[OrganisationDomain]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", order_by="OrganisationDomain.domain"
    )
    users: Mapped[list[User]] = relationship(back_populates="organisation")

    @hybrid_property
    def is_law_enforcement(self) -> bool:
        return self.type in LAW_ENFORCEMENT_TYPES

    @is_law_enforcement.inplace.expression
    @classmethod
    def _is_law_enforcement_expression(cls) -> sa.ColumnElement[bool]:
        return cls.type.in_(sorted(LAW_ENFORCEMENT_TYPES))

    @property
    def email_domains(self) -> list[str]:
        return [d.domain for d in self.domains]

    def __repr__(self) -> str:
        return f"<Organisation {self.name!r} {self.type.value}>"


class OrganisationDomain(Base):
    """An e-mail domain owned by one organisation; it routes home-realm discovery at login."""

    __tablename__ = "organisation_domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    #: Lower-case domain, unique across the Alliance so a login routes to exactly one organisation.
    domain: Mapped[str] = mapped_column(sa.String(253), unique=True)

    organisation: Mapped[Organisation] = relationship(back_populates="domains")
