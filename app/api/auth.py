"""Bearer-token authentication for /api/v1: one decorator, scope checked per route.

A refused token is audited every time: an unknown, expired or revoked one as ``api.token_use``
denied (the secret never), a scope too narrow as ``access.refused``. Token use is audited,
throttled by the token's last-use time: ``resolve_token`` writes ``last_used_at`` at most once
per ``app.auth.tokens.TOUCH_INTERVAL`` (5 minutes), and each request that writes it records one
``api.token_use`` event. A token in constant use therefore leaves one event per token per 5
minutes, not one per request. Both are committed at once, in a transaction of their own, so no
request holds the audit chain while its view runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import g, request
from flask_babel import gettext as _

from app.audit import alerts
from app.audit.services import record, record_refused
from app.auth.tokens import resolve_token, scope_allows
from app.errors import ApiError
from app.extensions import db
from app.i18n import reader_loaded


def token_required(scope: str = "read") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Authenticate the caller by ``Authorization: Bearer <token>`` and require ``scope``."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            kind, _space, secret = header.partition(" ")
            if kind.lower() != "bearer" or not secret.strip():
                raise ApiError(401, _("Send a personal access token as 'Authorization: Bearer <token>'."))
            token = resolve_token(secret.strip())
            if token is None:
                # An authentication decision like a refused password: kept, the secret never.
                record_refused("api.token_use", reason="unknown_expired_or_revoked", endpoint=request.endpoint)
                raise ApiError(401, _("The token is unknown, expired or revoked."))
            if not scope_allows(token, scope):
                message = _(
                    "This token's scope is %(scope)s; this call needs %(needed)s.",
                    scope=token.scope.value,
                    needed=scope,
                )
                alerts.access_refused(token.user, 403, ("token", token.id), need=scope, reason="scope")
                raise ApiError(403, message)
            if sa.inspect(token).attrs.last_used_at.history.has_changes():
                record("api.token_use", actor=token.user, target=("token", token.id), endpoint=request.endpoint)
                # Its own short transaction, before the view: chaining the record takes the audit
                # chain's head, which must not stay taken while the view streams a slow upload.
                db.session.commit()
            g.api_token = token
            g.api_user = token.user
            reader_loaded(token.user)
            return view(*args, **kwargs)

        wrapper.required_scope = scope  # type: ignore[attr-defined]
        return wrapper

    return decorator


def api_user() -> Any:
    return g.api_user
