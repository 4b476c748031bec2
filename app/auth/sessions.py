"""flask-login wiring: how a request's session becomes a user."""

from __future__ import annotations

from flask import Flask
from flask_login import AnonymousUserMixin

from app.extensions import db, login_manager


class AnonymousUser(AnonymousUserMixin):
    role = None
    organisation = None
    is_law_enforcement = False


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    login_manager.anonymous_user = AnonymousUser

    @login_manager.user_loader
    def load_user(user_id: str):  # type: ignore[no-untyped-def]
        from app.auth.models import User

        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.is_active else None
