"""Personal calendar subscription addresses: a secret URL a calendar client reads with no session.

The secret is 256 random bits shown to its owner once (and again only by making a new one);
the database keeps its SHA-256, so a copy of the database opens no feed. One address per member:
making a new one (rotating) or revoking it ends the old one at once. The feed holds what
``calendar_meetings`` gives its owner now, through ``visible_meetings``: a member who is
suspended, or loses sight of a meeting, sees it leave the feed on the next read. Every read is
audited (``calendar_feed.read``, with the number of meetings, never their titles).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import sqlalchemy as sa

from app.audit.services import record
from app.auth.models import User
from app.db import utcnow
from app.extensions import db
from app.meetings.models import CalendarFeed
from app.policy import is_active_user

#: Longer than this is not one of our secrets (refused before any hashing or lookup).
MAX_SECRET = 100


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def feed_of(user: Any) -> CalendarFeed | None:
    return db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.user_id == user.id))


def issue_feed(user: User) -> str:
    """Give ``user`` a new secret subscription address (replacing any old one); returns the
    secret, which is not stored and cannot be shown again."""
    secret = secrets.token_urlsafe(32)
    feed = feed_of(user)
    rotated = feed is not None
    if feed is None:
        feed = CalendarFeed(user_id=user.id, token_hash=_digest(secret))
        db.session.add(feed)
    else:
        feed.token_hash, feed.created_at, feed.last_used_at = _digest(secret), utcnow(), None
    db.session.flush()
    record("calendar_feed.rotate" if rotated else "calendar_feed.issue", actor=user, target=("user", user.id))
    return secret


def revoke_feed(user: User) -> bool:
    """End ``user``'s subscription address (False: they had none)."""
    feed = feed_of(user)
    if feed is None:
        return False
    db.session.delete(feed)
    db.session.flush()
    record("calendar_feed.revoke", actor=user, target=("user", user.id))
    return True


def feed_owner(secret: str) -> User | None:
    """The active member whose address holds ``secret`` (None: no such address, or its owner may
    no longer sign in)."""
    if not secret or len(secret) > MAX_SECRET:
        return None
    feed = db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.token_hash == _digest(secret)))
    if feed is None or not is_active_user(feed.user) or feed.user.erased_at is not None:
        return None
    feed.last_used_at = utcnow()
    return feed.user


def record_read(user: User, meetings: int) -> None:
    record("calendar_feed.read", actor=user, target=("user", user.id), meetings=meetings)
