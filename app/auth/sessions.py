"""Server-side sessions behind flask-login: revocable at once, with idle and absolute limits.

The signed Flask cookie carries a random session secret; the ``user_sessions`` row (found by
the secret's SHA-256) decides whether it is still good. Revoking the row (logout everywhere,
suspension, password or role change) ends the session on every app server at its next request.

An account has at most ``PAX_MAX_SESSIONS_PER_ACCOUNT`` live sessions (0: no limit). A sign-in
that would pass it ends the account's least recently used sessions, rather than refusing the
new one (ASVS 5.0 V7.1.2 lets an application choose; a member locked out by a browser left
signed in at another port office would be worse off than one whose forgotten session ends). The
member is told on the next page which device's session ended, the ended session's owner is told
why at their next request, and it is one ``auth.session_limit`` audit event.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, flash, g, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import AnonymousUserMixin, login_user, logout_user
from sqlalchemy.orm import joinedload

from app.audit.services import record
from app.auth.devices import coarse_network, device_label, device_summary
from app.db import utcnow
from app.extensions import db, login_manager
from app.i18n import reader_loaded

SESSION_KEY = "pax_sid"
#: The account whose session in this browser ended (in the signed cookie): a form this browser
#: sends afterwards is kept for that account (``app.drafts``), and for no one else.
ENDED_USER_KEY = "pax_ended_uid"
#: last_seen_at is written at most this often, so browsing does not write on every request.
TOUCH_INTERVAL = timedelta(seconds=60)
#: What the owner of a session the portal ended is told at their next request, by ``ended_reason``.
ENDED_MESSAGES = {
    "session_limit": _l(
        "Your session was ended because you signed in elsewhere: your account was signed in on "
        "more devices than the portal allows, and this was the session used least recently."
    ),
    "signed_out_elsewhere": _l("This session was signed out from your account page in another browser."),
    "ended_by_administrator": _l("An administrator ended your sessions. Sign in again to continue."),
    "ended_for_everyone": _l(
        "An administrator signed everyone out of PAX, for example after a security incident. Sign in again to continue."
    ),
}


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
        device=device_summary(request.user_agent.string),
        network=coarse_network(request.remote_addr),
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
    ended = _end_sessions_over_limit(user, row)
    if ended:
        device = device_label(ended[0].device)
        if len(ended) == 1:
            message = (
                _("You were signed in on too many devices; your oldest session on %(device)s was ended.", device=device)
                if device
                else _("You were signed in on too many devices; your oldest session on an unknown device was ended.")
            )
        elif device:
            message = ngettext(
                "You were signed in on too many devices; your oldest session on %(device)s (and %(num)d more) "
                "was ended.",
                "You were signed in on too many devices; your oldest session on %(device)s (and %(num)d more) "
                "was ended.",
                len(ended) - 1,
                device=device,
            )
        else:
            message = ngettext(
                "You were signed in on too many devices; your oldest session on an unknown device "
                "(and %(num)d more) was ended.",
                "You were signed in on too many devices; your oldest session on an unknown device "
                "(and %(num)d more) was ended.",
                len(ended) - 1,
            )
        flash(message, "warning")


def _end_sessions_over_limit(user: Any, new: Any) -> list[Any]:
    """End the least recently used live sessions of ``user`` beyond ``MAX_SESSIONS_PER_ACCOUNT``
    (the new session ``new`` counts and is kept); the ended rows, oldest first."""
    from app.auth.models import UserSession

    limit = current_app.config.get("MAX_SESSIONS_PER_ACCOUNT", 0)
    if limit <= 0:
        return []
    now = utcnow()
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    live = db.session.scalars(
        sa.select(UserSession)
        .where(
            UserSession.user_id == user.id,
            UserSession.id != new.id,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
            UserSession.last_seen_at > now - idle,
        )
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ).all()
    ended = list(reversed(live[limit - 1 :]))
    for row in ended:
        row.revoked_at = now
        row.ended_reason = "session_limit"
    if ended:
        record(
            "auth.session_limit",
            actor=user,
            target=("session", new.id),
            ended_sessions=[row.id for row in ended],
            limit=limit,
        )
    return ended


def end_session() -> None:
    """Sign out here: revoke this session's row and clear the cookie."""
    row = current_session_row()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
    logout_user()
    session.clear()


def revoke_sessions(user_id: int, keep_current: bool = False, reason: str | None = None) -> int:
    """End every session of a user (optionally all but the caller's); returns how many.
    ``reason`` (a key of ``ENDED_MESSAGES``) is what their owners are told at their next request."""
    from app.auth.models import UserSession

    stmt = sa.update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    current = current_session_row() if keep_current else None
    if current is not None:
        stmt = stmt.where(UserSession.id != current.id)
    result = db.session.execute(stmt.values(revoked_at=utcnow(), ended_reason=reason))
    return result.rowcount or 0


def revoke_everyones_sessions(keep_current: bool = False, reason: str | None = "ended_for_everyone") -> int:
    """End every live session of every account (after an incident); with ``keep_current`` the
    caller's own session stays. Returns how many ended; their owners are told ``reason``."""
    from app.auth.models import UserSession

    stmt = sa.update(UserSession).where(UserSession.revoked_at.is_(None))
    current = current_session_row() if keep_current else None
    if current is not None:
        stmt = stmt.where(UserSession.id != current.id)
    result = db.session.execute(stmt.values(revoked_at=utcnow(), ended_reason=reason))
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
    login_manager.login_message = _l("Sign in to continue.")
    login_manager.localize_callback = str
    login_manager.login_message_category = "info"
    # Server-side sessions replace flask-login's IP/user-agent heuristics.
    login_manager.session_protection = None
    login_manager.anonymous_user = AnonymousUser

    @login_manager.user_loader
    def load_user(user_id: str):  # type: ignore[no-untyped-def]
        row = current_session_row()
        if row is None or not user_id.isdigit() or row.user_id != int(user_id) or not _session_is_live(row):
            if row is not None and row.ended_reason in ENDED_MESSAGES and session.get(SESSION_KEY):
                flash(str(ENDED_MESSAGES[row.ended_reason]), "warning")
            if row is not None and session.pop(SESSION_KEY, None):
                session[ENDED_USER_KEY] = row.user_id
            session.pop(SESSION_KEY, None)
            return None
        user = row.user
        if not user.is_active:
            return None
        if utcnow() - row.last_seen_at > TOUCH_INTERVAL:
            row.last_seen_at = utcnow()
        reader_loaded(user)
        return user
