"""Reads for the member directory: organisations with active members, their people, their
memberships and the clusters' coordinators. Only active accounts appear; a person's work e-mail
and phone only when they chose to show them (``contact_of``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pycountry
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.auth.models import User, UserStatus
from app.clusters.models import Cluster, ClusterMembership, MembershipRole
from app.directory.models import Organisation, OrgType
from app.extensions import db
from app.i18n import DEFAULT_LANGUAGE, current_language, locale_named, sorted_by_name

ACTIVE = User.status == UserStatus.ACTIVE


def country_name(code: str) -> str:
    """The country's name in the reader's language (CLDR through Babel; English as pycountry writes it)."""
    language = current_language()
    if language != DEFAULT_LANGUAGE:
        localised = locale_named(language).territories.get(code)
        if localised:
            return localised
    found = pycountry.countries.get(alpha_2=code)
    return getattr(found, "common_name", None) or (found.name if found else code)


@dataclass(frozen=True)
class Contact:
    email: str | None
    phone: str | None


def contact_of(user: User) -> Contact:
    """What of ``user``'s work contact the directory shows: only what they chose to show."""
    return Contact(
        user.email if user.directory_shows_email else None,
        user.work_phone if user.directory_shows_phone and user.work_phone else None,
    )


@dataclass(frozen=True)
class DirectoryFilter:
    country: str | None = None
    type: OrgType | None = None
    cluster: Cluster | None = None


@dataclass
class OrganisationEntry:
    organisation: Organisation
    members: int
    focal_points: list[User] = field(default_factory=list)


def organisations(filters: DirectoryFilter) -> list[OrganisationEntry]:
    """Organisations with at least one active member, by name, as the filters narrow them (a
    cluster: organisations with an active member in it)."""
    members = sa.func.count(User.id).label("members")
    stmt = (
        sa.select(Organisation, members)
        .join(User, sa.and_(User.organisation_id == Organisation.id, ACTIVE))
        .group_by(Organisation.id)
        .order_by(Organisation.name)
    )
    if filters.country:
        stmt = stmt.where(Organisation.country == filters.country)
    if filters.type is not None:
        stmt = stmt.where(Organisation.type == filters.type)
    if filters.cluster is not None:
        in_cluster = (
            sa.select(ClusterMembership.id)
            .join(User, User.id == ClusterMembership.user_id)
            .where(
                ClusterMembership.cluster_id == filters.cluster.id,
                User.organisation_id == Organisation.id,
                ACTIVE,
            )
            .exists()
        )
        stmt = stmt.where(in_cluster)
    entries = [OrganisationEntry(org, n) for org, n in db.session.execute(stmt)]
    if entries:
        by_org = {e.organisation.id: e for e in entries}
        focal = db.session.scalars(
            sa.select(User)
            .where(User.organisation_id.in_(by_org), User.is_focal_point.is_(True), ACTIVE)
            .order_by(User.name)
        )
        for user in focal:
            by_org[user.organisation_id].focal_points.append(user)
    return entries


def countries() -> list[tuple[str, str]]:
    """(code, name) of the countries of organisations with active members, by name in the reader's
    alphabet ("Österreich" before "Polen" in German)."""
    codes = db.session.scalars(
        sa.select(Organisation.country).join(User, sa.and_(User.organisation_id == Organisation.id, ACTIVE)).distinct()
    )
    return sorted_by_name(((code, country_name(code)) for code in codes), lambda pair: pair[1])


def people(organisation: Organisation) -> list[User]:
    """The organisation's active members with their memberships, focal points first, by name."""
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.organisation_id == organisation.id, ACTIVE)
            .options(selectinload(User.memberships).joinedload(ClusterMembership.cluster))
            .order_by(User.is_focal_point.desc(), User.name)
        )
    )


def coordinators() -> list[tuple[Cluster, list[User]]]:
    """Each cluster, in workplan order, with its active coordinators by name."""
    clusters = list(db.session.scalars(sa.select(Cluster).order_by(Cluster.position)))
    rows = db.session.execute(
        sa.select(ClusterMembership.cluster_id, User)
        .join(User, User.id == ClusterMembership.user_id)
        .where(ClusterMembership.role == MembershipRole.COORDINATOR, ACTIVE)
        .order_by(User.name)
    )
    found: dict[int, list[User]] = {c.id: [] for c in clusters}
    for cluster_id, user in rows:
        found[cluster_id].append(user)
    return [(c, found[c.id]) for c in clusters]


def active_organisation(org_id: int) -> Organisation | None:
    """An organisation with at least one active member (others are not in the directory)."""
    return db.session.scalar(
        sa.select(Organisation)
        .where(Organisation.id == org_id)
        .where(sa.select(User.id).where(User.organisation_id == Organisation.id, ACTIVE).exists())
    )
