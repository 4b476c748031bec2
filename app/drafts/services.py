"""Saving, keeping and restoring a member's unsent form fields.

Which forms take drafts is ``DRAFTABLE`` (endpoint: what the draft is called); any other form of
a signed-in page can still be *kept* after an expired session, except the sign-in, account and
onboarding forms, and no field whose name says it holds a secret is ever kept.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import RequestRedirect

from app.db import utcnow
from app.drafts.models import Draft, DraftKind
from app.extensions import db
from app.keys.sealed import SealError, seal, unseal

#: The forms that take drafts, by the endpoint they post to, and what a draft of each is called.
DRAFTABLE: dict[str, Any] = {
    "clusters.new_post": _l("New post"),
    "clusters.edit_post": _l("Changes to a post"),
    "clusters.comment": _l("Comment"),
    "clusters.edit_comment": _l("Changes to a comment"),
    "meetings.minutes": _l("Meeting minutes"),
    "workplan.new_item": _l("New workplan item"),
    "workplan.edit_item": _l("Changes to a workplan item"),
}
#: Blueprints whose forms are never kept: signing in, the account's secrets, onboarding.
NEVER_KEPT = ("auth.", "account.", "onboarding.", "identity_links.", "drafts.", "api.", "health.")
#: Field names that hold a secret or a one-time answer, or steer the request rather than say anything.
_SECRET_WORDS = ("password", "secret", "token", "code", "otp", "pin", "recovery")
_CONTROL_FIELDS = {"csrf_token", "pax_draft", "pax_save_draft", "preview", "next"}
#: The most a draft or kept form holds (the longest post body is far below it).
MAX_FIELDS_BYTES = 512 * 1024
#: The most drafts and kept forms one member has at a time.
MAX_DRAFTS = 100


class TooManyDrafts(ValueError):
    """A member who already has ``MAX_DRAFTS`` drafts starts another."""


#: How long a browser keeps the secret its kept forms are bound to.
BROWSER_COOKIE_DAYS = 30


@dataclass(frozen=True)
class Summary:
    """A draft as the "Your drafts" list shows it: never more than its author wrote."""

    id: int
    kind: DraftKind
    what: str
    label: str
    page: str
    saved_at: datetime
    expires_at: datetime


def retention() -> timedelta:
    return timedelta(days=current_app.config["DRAFT_RETENTION_DAYS"])


def keepable(endpoint: str | None) -> bool:
    return bool(endpoint) and not str(endpoint).startswith(NEVER_KEPT) and endpoint != "static"


def kept_fields(form: MultiDict[str, str] | dict[str, str]) -> list[tuple[str, str]]:
    """The fields worth keeping, in the order sent: no CSRF token, no control field, no secret."""
    items = form.items(multi=True) if isinstance(form, MultiDict) else form.items()
    kept = []
    for name, value in items:
        lowered = name.lower()
        if name in _CONTROL_FIELDS or name.startswith("pax_") or any(word in lowered for word in _SECRET_WORDS):
            continue
        if isinstance(value, str):
            kept.append((name, value))
    return kept


def _seal_fields(draft: Draft, fields: list[tuple[str, str]]) -> None:
    raw = json.dumps(fields, ensure_ascii=False).encode()
    if len(raw) > MAX_FIELDS_BYTES:
        raise ValueError("too much to keep")
    draft.fields_sealed = seal(raw, draft.seal_context)


def fields_of(draft: Draft) -> MultiDict[str, str]:
    """The draft's fields; an empty set if its seal no longer opens (a retired key)."""
    try:
        return MultiDict([tuple(pair) for pair in json.loads(unseal(draft.fields_sealed, draft.seal_context))])
    except (SealError, ValueError):
        return MultiDict()


def page_for(endpoint: str, action_path: str) -> str:
    """Where a form posted to ``action_path`` is filled in again: the page that showed it (the
    same-origin Referer), else the action itself if it answers GET, else the nearest page above it."""
    from app.auth.routes import safe_next

    referrer = request.referrer or ""
    root = request.host_url
    if referrer.startswith(root):
        path = "/" + referrer[len(root) :].split("#", 1)[0]
        path = path.split("?", 1)[0]
        if _answers_get(path):
            return path
    return safe_next(action_path) or "/dashboard"


def _answers_get(path: str) -> bool:
    """A path of this portal that a GET answers as it is (no other host, no redirect)."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path or any(ord(c) < 32 for c in path):
        return False
    try:
        current_app.url_map.bind("localhost").match(path, method="GET")
    except (RequestRedirect, MethodNotAllowed, HTTPException):
        return False
    return True


def endpoint_of(path: str) -> str | None:
    """The endpoint a POST to ``path`` reaches, or None."""
    try:
        endpoint, _args = current_app.url_map.bind("localhost").match(path, method="POST")
    except HTTPException:
        return None
    return str(endpoint)


# --- drafts ------------------------------------------------------------------------------------


def save_draft(user: Any, endpoint: str, page: str, fields: list[tuple[str, str]], draft_id: Any = None) -> Draft:
    """Save the member's draft of a form (a new one, or their draft ``draft_id`` again)."""
    now = utcnow()
    draft = own_draft(user, draft_id) if draft_id else None
    if draft is None or draft.endpoint != endpoint:
        if _count_of(user.id) >= MAX_DRAFTS:
            raise TooManyDrafts
        draft = Draft(user_id=user.id, endpoint=endpoint, page=page, seal_nonce=secrets.token_hex(16), created_at=now)
        db.session.add(draft)
    draft.kind = DraftKind.DRAFT
    draft.browser_hash = None
    draft.updated_at = now
    draft.expires_at = now + retention()
    _seal_fields(draft, fields)
    db.session.flush()
    return draft


def _count_of(user_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Draft).where(Draft.user_id == user_id)) or 0


def own_draft(user: Any, draft_id: Any) -> Draft | None:
    """The member's own draft by id, or None: another's draft is never found."""
    try:
        wanted = int(str(draft_id))
    except ValueError:
        return None
    if not 0 < wanted < 2**31:
        return None
    return db.session.scalars(
        sa.select(Draft).where(Draft.id == wanted, Draft.user_id == user.id, Draft.expires_at > utcnow())
    ).first()


def delete_draft(user: Any, draft_id: Any) -> bool:
    draft = own_draft(user, draft_id)
    if draft is None:
        return False
    db.session.delete(draft)
    return True


def drafts_of(user: Any) -> list[Summary]:
    """The member's drafts and kept forms, newest first."""
    rows = db.session.scalars(
        sa.select(Draft)
        .where(Draft.user_id == user.id, Draft.expires_at > utcnow())
        .order_by(Draft.updated_at.desc(), Draft.id.desc())
    ).all()
    return [
        Summary(
            d.id,
            d.kind,
            str(DRAFTABLE.get(d.endpoint) or _("A form")),
            label_of(fields_of(d)),
            d.page,
            d.updated_at,
            d.expires_at,
        )
        for d in rows
    ]


def drafts_for_page(user: Any, page: str) -> list[Draft]:
    return list(
        db.session.scalars(
            sa.select(Draft)
            .where(
                Draft.user_id == user.id,
                Draft.page == page,
                Draft.kind == DraftKind.DRAFT,
                Draft.expires_at > utcnow(),
            )
            .order_by(Draft.updated_at.desc())
        ).all()
    )


def label_of(fields: MultiDict[str, str]) -> str:
    """A draft's name in the list: its title, else the first words of its text."""
    for name in ("title", "body", "minutes", "description", "text"):
        words = " ".join((fields.get(name) or "").split())
        if words:
            return words if len(words) <= 80 else words[:79] + "…"
    return _("Nothing written yet")


# --- kept forms --------------------------------------------------------------------------------


def browser_cookie() -> str:
    """The browser's own secret, which a kept form is bound to: ``__Host-`` prefixed whenever it
    is Secure, as the session cookie is."""
    return "__Host-pax_keep" if current_app.config.get("SESSION_COOKIE_SECURE") else "pax_keep"


def browser_secret() -> str | None:
    return request.cookies.get(browser_cookie()) or None


def browser_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def keep_form(user_id: int, endpoint: str, page: str, fields: list[tuple[str, str]]) -> Draft | None:
    """Keep what a browser posted after its session ended, for ``user_id`` in this browser only.

    Returns the kept form (None when nothing worth keeping was sent). A new browser secret is
    made when the browser has none; ``g.pax_keep_cookie`` asks the response to set it."""
    if not fields or not any(value.strip() for _name, value in fields):
        return None
    secret = browser_secret()
    if secret is None or len(secret) < 32:
        secret = secrets.token_urlsafe(32)
    g.pax_keep_cookie = secret
    now = utcnow()
    hashed = browser_hash(secret)
    draft = db.session.scalars(
        sa.select(Draft).where(
            Draft.user_id == user_id,
            Draft.kind == DraftKind.KEPT,
            Draft.browser_hash == hashed,
            Draft.endpoint == endpoint,
            Draft.page == page,
        )
    ).first()
    if draft is None:
        if _count_of(user_id) >= MAX_DRAFTS:
            return None
        draft = Draft(
            user_id=user_id,
            kind=DraftKind.KEPT,
            endpoint=endpoint,
            page=page,
            browser_hash=hashed,
            seal_nonce=secrets.token_hex(16),
            created_at=now,
        )
        db.session.add(draft)
    draft.updated_at = now
    draft.expires_at = now + retention()
    try:
        _seal_fields(draft, fields)
    except ValueError:
        db.session.expunge(draft)
        return None
    db.session.flush()
    return draft


def kept_for(user: Any, page: str) -> Draft | None:
    """The form this browser kept for ``user`` on ``page``, if any (only where the browser holds
    the secret it was kept under: nothing is queried for a browser that never had one)."""
    secret = browser_secret()
    if secret is None:
        return None
    return db.session.scalars(
        sa.select(Draft)
        .where(
            Draft.user_id == user.id,
            Draft.kind == DraftKind.KEPT,
            Draft.browser_hash == browser_hash(secret),
            Draft.page == page,
            Draft.expires_at > utcnow(),
        )
        .order_by(Draft.updated_at.desc())
    ).first()


def set_browser_cookie(response: Any, secret: str) -> None:
    secure = bool(current_app.config.get("SESSION_COOKIE_SECURE"))
    response.set_cookie(
        browser_cookie(),
        secret,
        max_age=BROWSER_COOKIE_DAYS * 86400,
        httponly=True,
        secure=secure,
        samesite="Lax",
        path="/",
    )


def purge_expired(now: datetime | None = None) -> int:
    """Delete drafts and kept forms past their retention; how many."""
    result = db.session.execute(sa.delete(Draft).where(Draft.expires_at <= (now or utcnow())))
    return result.rowcount or 0
