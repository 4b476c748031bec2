"""Server-side sessions behind flask-login: revocable at once, with idle and absolute limits.

The signed Flask cookie carries a random session secret; the ``user_sessions`` row (found by
the secret's SHA-256) decides whether it is still good. Revoking the row (logout everywhere,
suspension, password or role change) ends the session on every app server at its next request.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g, request, session
from flask_login import AnonymousUserMixin, login_user, logout_user
from sqlalchemy.orm import joinedload

from app.audit.services import record
from app.db import utcnow
from app.extensions import db, login_manager

SESSION_KEY = "pax_sid"
#: last_seen_at is written at most this often, so browsing does not write on every request.
TOUCH_INTERVAL = timedelta(seconds=60)


class AnonymousUser(AnonymousUserMixin):
    role = None
    organisation = None
    is_law_enforcement = False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: Any, auth_method: str, sso: dict[str, Any] | None = None) -> None:
    """Sign ``user`` in with a fresh session (a new cookie secret, so no fixation); every
    successful sign-in, local or SSO, is one ``auth.login`` event naming the session.

    ``sso`` (``provider``, ``sub``, ``sid``) ties an SSO session to the provider's own session,
    so that the provider's back-channel logout ends it."""
    from app.auth.models import UserSession

    token = secrets.token_urlsafe(32)
    now = utcnow()
    sso = sso or {}
    row = UserSession(
        user_id=user.id,
        token_hash=token_hash(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=current_app.config["SESSION_ABSOLUTE_HOURS"]),
        auth_method=auth_method,
        user_agent=(request.user_agent.string or "")[:200],
        identity_provider_id=sso.get("provider"),
        sso_subject=(sso.get("sub") or None),
        sso_sid=(sso.get("sid") or None),
    )
    db.session.add(row)
    db.session.flush()
    session.clear()
    session.permanent = True
    session[SESSION_KEY] = token
    login_user(user)
    user.last_login_at = now
    g.pax_session = row
    record("auth.login", actor=user, target=("session", row.id), method=auth_method)


def end_session() -> None:
    """Sign out here: revoke this session's row and clear the cookie."""
    row = current_session_row()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
    logout_user()
    session.clear()


def revoke_sessions(user_id: int, keep_current: bool = False) -> int:
    """End every session of a user (optionally all but the caller's); returns how many."""
    from app.auth.models import UserSession

    stmt = sa.update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    current = current_session_row() if keep_current else None
    if current is not None:
        stmt = stmt.where(UserSession.id != current.id)
    result = db.session.execute(stmt.values(revoked_at=utcnow()))
    return result.rowcount or 0


@functools.cache
def _session_statement() -> sa.Select[Any]:
    """The session row by its secret's hash, with the account (and its organisation): every
    signed-in request needs both; and the header's unread count, which every page shows. Built
    once with a bound parameter, so no request builds it or its cache key again."""
    from app.auth.models import UserSession
    from app.notifications.queries import unread_count_of

    return (
        sa.select(UserSession, unread_count_of(UserSession.user_id).label("unread"))
        .options(joinedload(UserSession.user))
        .where(UserSession.token_hash == sa.bindparam("token_hash"))
    )


def current_session_row() -> Any:
    if "pax_session" in g:
        return g.pax_session
    token = session.get(SESSION_KEY)
    if not token:
        return None
    found = db.session.execute(_session_statement(), {"token_hash": token_hash(token)}).one_or_none()
    row = found.UserSession if found is not None else None
    g.pax_session = row
    if found is not None:
        g.pax_unread_at_start = found.unread
    return row


def unread_at_start() -> int | None:
    """The session's unread notifications as read with the session, if it was read this request."""
    return g.get("pax_unread_at_start")


def _session_is_live(row: Any) -> bool:
    now = utcnow()
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    return row.revoked_at is None and row.expires_at > now and row.last_seen_at + idle > now


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.login_message_category = "info"
    # Server-side sessions replace flask-login's IP/user-agent heuristics.
    login_manager.session_protection = None
    login_manager.anonymous_user = AnonymousUser

    @login_manager.user_loader
    def load_user(user_id: str):  # type: ignore[no-untyped-def]
        row = current_session_row()
        if row is None or not user_id.isdigit() or row.user_id != int(user_id) or not _session_is_live(row):
            session.pop(SESSION_KEY, None)
            return None
        user = row.user
        if not user.is_active:
            return None
        if utcnow() - row.last_seen_at > TOUCH_INTERVAL:
            row.last_seen_at = utcnow()
        return user
