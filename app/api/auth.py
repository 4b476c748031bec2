"""Bearer-token authentication for /api/v1: one decorator, scope checked per route."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g, request

from app.auth.tokens import resolve_token, scope_allows
from app.errors import ApiError


def token_required(scope: str = "read") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Authenticate the caller by ``Authorization: Bearer <token>`` and require ``scope``."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            kind, _, secret = header.partition(" ")
            if kind.lower() != "bearer" or not secret.strip():
                raise ApiError(401, "Send a personal access token as 'Authorization: Bearer <token>'.")
            token = resolve_token(secret.strip())
            if token is None:
                raise ApiError(401, "The token is unknown, expired or revoked.")
            if not scope_allows(token, scope):
                raise ApiError(403, f"This token's scope is {token.scope.value}; this call needs {scope}.")
            g.api_token = token
            g.api_user = token.user
            return view(*args, **kwargs)

        wrapper.required_scope = scope  # type: ignore[attr-defined]
        return wrapper

    return decorator


def api_user() -> Any:
    return g.api_user
