"""The PAX application factory.

``create_app`` is a short list of named steps; each ``register_*`` lives beside the thing it
registers. Migrations are never run here: ``flask db upgrade`` (or ``make run``) does that.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from flask import Flask, g

from config import Config, ConfigError, config_from_env


class PaxFlask(Flask):
    """Flask with PAX's one transaction boundary, as indico's ``RH.process``.

    A view's writes are committed once, when it answers with a status below 400; an error status
    or an exception anywhere in the request (hooks, view, commit) rolls them back, before the
    error handlers (``app.errors``) draw the answer. The commit happens before the response's
    body is streamed, so a streamed body never holds the transaction open. Routes neither commit
    nor roll back; a write that must be kept although the request is refused uses
    ``db.independent_transaction``.
    """

    def dispatch_request(self) -> Any:
        from app.extensions import db

        response = self.make_response(super().dispatch_request())
        if response.status_code >= 400:
            db.discard()
        else:
            # What must happen only if the request succeeds (a sent form's draft is deleted), in its transaction.
            for then in g.pop("pax_on_success", ()):
                then()
            db.session.commit()
        return response

    def handle_user_exception(self, e: Exception) -> Any:
        from app.extensions import db

        db.discard()
        return super().handle_user_exception(e)

    def handle_exception(self, e: Exception) -> Any:
        from app.extensions import db

        db.discard()
        return super().handle_exception(e)


def create_app(config: Config | None = None) -> Flask:
    """Build the portal. Given no config (CLI, WSGI), unsafe settings end the process with one line."""
    from_env = config is None
    if config is None:
        try:
            config = config_from_env()
            config.check()
        except ConfigError as exc:
            print(f"PAX configuration error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    else:
        config.check()
    app = PaxFlask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_path=config.INSTANCE_PATH,
    )
    app.config.from_object(config)
    trust_proxies(app)
    configure_logging(app)
    try:
        load_keyring(app)
    except ConfigError as exc:
        if not from_env:
            raise
        print(f"PAX configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    register_extensions(app)
    register_routing(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_security(app)
    register_template_helpers(app)
    register_cli(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Behind ``PAX_PROXY_HOPS`` reverse proxies, take the client's address and scheme from their
    X-Forwarded-For/-Proto (rate limits, audit sources, secure redirects); with none, trust neither."""
    hops = app.config.get("PROXY_HOPS", 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)  # type: ignore[method-assign]


def configure_logging(app: Flask) -> None:
    from app.logging import configure

    configure(app)


def load_keyring(app: Flask) -> None:
    """The key backend (``app.keys.backend``): the keyring file, or a PKCS#11 token that must answer
    now, so a missing module, token or wrong PIN is a one-line start-up error, not a later 500."""
    from app.keys import pkcs11
    from app.keys.backend import KeyUnavailable
    from app.keys.keyring import Keyring

    path = Path(app.config["KEYS_FILE"])
    if app.config.get("KEYS_BACKEND", "file") == "file":
        keys: object = Keyring.load_or_create(path, create=app.config["KEYS_AUTOCREATE"])
    else:
        # The keyring file, while it exists, still opens what it wrapped before ``keys migrate``.
        legacy = Keyring.load(path) if path.is_file() else None
        token = pkcs11.load(app.config, legacy)
        try:
            token.check()
            if app.config["KEYS_AUTOCREATE"]:
                token.ensure_keys()
        except KeyUnavailable as exc:
            raise ConfigError(f"the PKCS#11 key token is unavailable: {exc}") from None
        keys = token
    app.extensions["pax_keys"] = keys
    app.extensions["pax_keyring"] = keys


def register_extensions(app: Flask) -> None:
    from app import ratelimits
    from app.audit.chain import bind_keyring
    from app.auth import first_password, passwords
    from app.auth.sessions import init_login
    from app.extensions import csrf, db, limiter, oauth
    from app.files import services as files
    from app.i18n import init_app as init_i18n

    passwords.configure(app.config["ARGON2_PROFILE"])
    db.init_app(app)
    bind_keyring(db.engine, app.extensions["pax_keys"])
    files.init_app(app)
    csrf.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    ratelimits.configure(app)
    limiter.init_app(app)
    ratelimits.watch(app, limiter)
    oauth.init_app(app)
    init_login(app)
    init_i18n(app)
    first_password.register(app)


def register_routing(app: Flask) -> None:
    from app.routing import register

    register(app)


def register_blueprints(app: Flask) -> None:
    """One convention: a package makes its blueprints in ``<package>/blueprint.py`` (the object, its
    URL prefix, blueprint-wide hooks) and its ``routes`` modules register views on them. Each
    blueprint is imported here through the module holding its views (for one shared by several
    modules, the package's ``routes``, which imports the others), so every view is attached."""
    from app.admin.routes import bp as admin_bp
    from app.api.routes import bp as api_bp
    from app.audit_log.routes import bp as audit_bp
    from app.auth.account import bp as account_bp
    from app.auth.link_routes import bp as identity_links_bp
    from app.auth.onboarding_routes import bp as onboarding_bp
    from app.auth.routes import bp as auth_bp
    from app.clusters.attachment_routes import bp as attachments_bp
    from app.clusters.routes import bp as clusters_bp
    from app.directory.routes import bp as directory_bp
    from app.drafts import routes as drafts
    from app.health.routes import bp as health_bp
    from app.help.routes import bp as help_bp
    from app.main.routes import bp as main_bp
    from app.meetings.pack_routes import bp as packs_bp
    from app.meetings.routes import bp as meetings_bp
    from app.notifications.routes import bp as notifications_bp
    from app.stats.routes import bp as stats_bp
    from app.taxii.export_routes import bp as stix_bp
    from app.taxii.routes import bp as taxii_bp
    from app.workplan.routes import bp as workplan_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(onboarding_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(identity_links_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(clusters_bp)
    app.register_blueprint(directory_bp)
    app.register_blueprint(drafts.bp)
    drafts.register(app)
    app.register_blueprint(attachments_bp)
    app.register_blueprint(workplan_bp)
    app.register_blueprint(meetings_bp)
    app.register_blueprint(packs_bp)
    app.register_blueprint(stats_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(help_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(taxii_bp)
    app.register_blueprint(stix_bp)


def register_errorhandlers(app: Flask) -> None:
    from app.errors import register

    register(app)


def register_security(app: Flask) -> None:
    from app.security import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from app.templating import register

    register(app)


def register_cli(app: Flask) -> None:
    from app.cli.commands import register

    register(app)


logging.getLogger("pax").addHandler(logging.NullHandler())
