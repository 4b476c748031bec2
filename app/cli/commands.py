"""The command groups ``create_app`` adds to ``flask --app app`` (and so to the ``pax`` script)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from app.cli.audit import audit_group
    from app.cli.demo import demo_group
    from app.cli.idp import idp_group
    from app.cli.keys import keys_group, storage_group
    from app.cli.notifications import notifications_group, outbox_group
    from app.cli.orgs import orgs_group
    from app.cli.packs import packs_group
    from app.cli.retention import retention_group
    from app.cli.schema import db_group
    from app.cli.sessions import sessions_group
    from app.cli.tokens import tokens_group
    from app.cli.users import users_group

    for group in (db_group, demo_group, orgs_group, users_group, tokens_group, idp_group, keys_group, storage_group):
        app.cli.add_command(group)
    app.cli.add_command(packs_group)
    app.cli.add_command(outbox_group)
    app.cli.add_command(notifications_group)
    app.cli.add_command(audit_group)
    app.cli.add_command(retention_group)
    app.cli.add_command(sessions_group)
