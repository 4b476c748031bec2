"""Reads for the administration pages: accounts, organisations and providers, never content.

Callers authorise first (``app.policy``); the pending-accounts reads take the viewer and filter
through ``approvable_users`` in SQL, so a focal point's list holds its own organisation only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import selectinload

from app.auth.models import GlobalRole, Identity, IdentityProvider, User, UserSession, UserStatus
from app.clusters.models import Cluster, ClusterMembership
from app.clusters.names import cluster_label
from app.db import utcnow
from app.directory.models import Organisation
from app.extensions import db
from app.pagination import Page
from app.policy import approvable_users

USERS_PER_PAGE = 50


def _count(stmt: sa.Select[Any]) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0


# --- overview ------------------------------------------------------------------------------------


@dataclass
class Overview:
    pending: int
    users_by_status: dict[UserStatus, int]
    organisations: int
    providers: int
    providers_enabled: int

    @property
    def users(self) -> int:
        return sum(self.users_by_status.values())

    @property
    def by_value(self) -> dict[str, int]:
        return {status.value: n for status, n in self.users_by_status.items()}


def overview(viewer: Any) -> Overview:
    by_status = dict.fromkeys(UserStatus, 0)
    for status, n in db.session.execute(sa.select(User.status, sa.func.count()).group_by(User.status)):
        by_status[status] = n
    providers_enabled = db.session.scalar(
        sa.select(sa.func.count()).select_from(IdentityProvider).where(IdentityProvider.enabled)
    )
    return Overview(
        pending=_count(sa.select(User.id).where(approvable_users(viewer))),
        users_by_status=by_status,
        organisations=_count(sa.select(Organisation.id)),
        providers=_count(sa.select(IdentityProvider.id)),
        providers_enabled=providers_enabled or 0,
    )


# --- pending accounts ----------------------------------------------------------------------------


def pending_accounts(viewer: Any) -> list[User]:
    """The pending accounts ``viewer`` may approve, oldest first."""
    stmt = sa.select(User).where(approvable_users(viewer)).order_by(User.created_at, User.id)
    return list(db.session.scalars(stmt))


def sign_in_methods(users: list[User]) -> dict[int, list[str]]:
    """For each user id, the names of the identity providers the account is linked to."""
    if not users:
        return {}
    rows = db.session.execute(
        sa.select(Identity.user_id, IdentityProvider.name)
        .join(IdentityProvider, IdentityProvider.id == Identity.provider_id)
        .where(Identity.user_id.in_([u.id for u in users]))
        .order_by(IdentityProvider.name)
    )
    methods: dict[int, list[str]] = {}
    for user_id, name in rows:
        methods.setdefault(user_id, []).append(name)
    return methods


# --- organisations -------------------------------------------------------------------------------


def organisations_with_user_counts() -> list[tuple[Organisation, int]]:
    users = sa.select(User.organisation_id, sa.func.count().label("n")).group_by(User.organisation_id).subquery("users")
    stmt = (
        sa.select(Organisation, sa.func.coalesce(users.c.n, 0))
        .outerjoin(users, users.c.organisation_id == Organisation.id)
        .options(selectinload(Organisation.domains))
        .order_by(sa.func.lower(Organisation.name))
    )
    return [(org, n) for org, n in db.session.execute(stmt).all()]


def organisation_choices() -> list[tuple[int, str]]:
    return [
        (org_id, name)
        for org_id, name in db.session.execute(
            sa.select(Organisation.id, Organisation.name).order_by(sa.func.lower(Organisation.name))
        )
    ]


def organisation_or_404(organisation_id: int) -> Organisation:
    org = db.session.get(Organisation, organisation_id)
    if org is None:
        abort(404)
    return org


def organisation_users(org: Organisation) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User).where(User.organisation_id == org.id).order_by(sa.func.lower(User.name), User.id)
        )
    )


def organisation_providers(org: Organisation) -> list[IdentityProvider]:
    return list(
        db.session.scalars(
            sa.select(IdentityProvider)
            .where(IdentityProvider.organisation_id == org.id)
            .order_by(IdentityProvider.name)
        )
    )


# --- users ---------------------------------------------------------------------------------------


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def users_page(
    status: str | None = None,
    organisation_id: int | None = None,
    role: str | None = None,
    text: str | None = None,
    page: int = 1,
    per_page: int = USERS_PER_PAGE,
) -> Page:
    """Accounts matching the filters, by organisation then name, one page at a time."""
    stmt = sa.select(User).join(Organisation, Organisation.id == User.organisation_id)
    if status in UserStatus.values():
        stmt = stmt.where(User.status == UserStatus(status))
    if organisation_id:
        stmt = stmt.where(User.organisation_id == organisation_id)
    if role in GlobalRole.values():
        stmt = stmt.where(User.role == GlobalRole(role))
    if text and text.strip():
        pattern = _like(text.strip())
        stmt = stmt.where(
            sa.or_(sa.func.lower(User.name).like(pattern, escape="\\"), User.email.like(pattern, escape="\\"))
        )
    total = _count(stmt.with_only_columns(User.id))
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    items = db.session.scalars(
        stmt.order_by(sa.func.lower(Organisation.name), sa.func.lower(User.name), User.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return Page(items=list(items), total=total, page=page, per_page=per_page)


def user_memberships(user: User) -> list[ClusterMembership]:
    return list(
        db.session.scalars(
            sa.select(ClusterMembership)
            .join(Cluster, Cluster.id == ClusterMembership.cluster_id)
            .where(ClusterMembership.user_id == user.id)
            .order_by(Cluster.position)
        )
    )


def user_identities(user: User) -> list[Identity]:
    return list(
        db.session.scalars(sa.select(Identity).where(Identity.user_id == user.id).order_by(Identity.created_at))
    )


def live_session_count(user: User) -> int:
    """Sessions not revoked and not past their absolute end (idle ones may still count)."""
    return _count(
        sa.select(UserSession.id).where(
            UserSession.user_id == user.id, UserSession.revoked_at.is_(None), UserSession.expires_at > utcnow()
        )
    )


def live_sessions_overall() -> dict[str, int]:
    """Sessions not revoked and not past their absolute end, and the accounts holding them."""
    live = sa.select(UserSession.user_id).where(UserSession.revoked_at.is_(None), UserSession.expires_at > utcnow())
    return {"sessions": _count(live), "accounts": _count(live.distinct())}


def cluster_choices() -> list[tuple[str, str]]:
    """``(slug, name)`` of every cluster, named in the reader's language."""
    return [
        (row.slug, cluster_label(row))
        for row in db.session.execute(sa.select(Cluster.slug, Cluster.name).order_by(Cluster.position))
    ]


# --- identity providers --------------------------------------------------------------------------


def all_providers() -> list[IdentityProvider]:
    return list(
        db.session.scalars(
            sa.select(IdentityProvider)
            .join(Organisation, Organisation.id == IdentityProvider.organisation_id)
            .order_by(sa.func.lower(Organisation.name), IdentityProvider.name)
        )
    )


def provider_or_404(provider_id: int) -> IdentityProvider:
    provider = db.session.get(IdentityProvider, provider_id)
    if provider is None:
        abort(404)
    return provider
