"""What every command of the operator's command line is built from.

Each command is one transaction: it commits when it finishes and rolls back when it fails.
Bad arguments and invalid values end with a one-line ``Error: ...`` and exit status 2.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click
from flask.cli import AppGroup

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
