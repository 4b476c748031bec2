from __future__ import annotations

import click
from flask import current_app

from app.cli.base import PaxGroup
from app.migrations_state import alembic_config

db_group = PaxGroup("db", help="Database schema (Alembic migrations).")


@db_group.command("upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from alembic import command

    command.upgrade(alembic_config(current_app.config["DATABASE_URL"]), revision)


@db_group.command("downgrade")
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ("base" removes every table)."""
    from alembic import command

    command.downgrade(alembic_config(current_app.config["DATABASE_URL"]), revision)


@db_group.command("current")
def current() -> None:
    """Print the database's current revision."""
    from alembic import command

    command.current(alembic_config(current_app.config["DATABASE_URL"]))
