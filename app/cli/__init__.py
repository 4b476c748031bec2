"""The operator's command line (CONTRACT.md): ``flask --app app ...`` or the ``pax`` script.

Each command is one transaction: it commits when it finishes and rolls back when it fails.
Bad arguments and invalid values end with a one-line ``Error: ...`` and exit status 2.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup, FlaskGroup

from app.extensions import db
from app.validation import ValidationError


class OneLineUsageError(click.ClickException):
    """A usage error printed as one line (click's own prints the whole usage text)."""

    exit_code = 2


class PaxCommand(click.Command):
    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            raise OneLineUsageError(" ".join(exc.format_message().split())) from exc


class PaxGroup(AppGroup):
    command_class = PaxCommand


def transactional(func: Callable[..., Any]) -> Callable[..., Any]:
    """Commit once when the command returns; on a validation error roll back and exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = func(*args, **kwargs)
            db.session.commit()
            return result
        except ValidationError as exc:
            db.session.rollback()
            raise OneLineUsageError(str(exc)) from exc
        except BaseException:
            db.session.rollback()
            raise

    return wrapper


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
    from app.cli.tokens import tokens_group
    from app.cli.users import users_group

    for group in (db_group, demo_group, orgs_group, users_group, tokens_group, idp_group, keys_group, storage_group):
        app.cli.add_command(group)
    app.cli.add_command(packs_group)
    app.cli.add_command(outbox_group)
    app.cli.add_command(notifications_group)
    app.cli.add_command(audit_group)
    app.cli.add_command(retention_group)


def _create_app() -> Flask:
    from app import create_app

    return create_app()


def main() -> None:
    """The ``pax`` console script: the same commands as ``flask --app app``."""
    cli = FlaskGroup(create_app=_create_app, add_default_commands=True, load_dotenv=False)
    sys.exit(cli.main())
