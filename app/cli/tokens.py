from __future__ import annotations

import click

from app.auth.models import TokenScope
from app.auth.services import find_user_by_email
from app.auth.tokens import create_token
from app.cli.base import OneLineUsageError, PaxGroup, transactional

tokens_group = PaxGroup("tokens", help="Personal access tokens for the API.")


@tokens_group.command("create")
@click.option("--email", required=True)
@click.option("--scope", type=click.Choice(TokenScope.values()), default="read", show_default=True)
@click.option("--days", type=click.IntRange(1, 365), default=90, show_default=True)
@click.option("--name", default="command line", show_default=True, help="What the token is for.")
@transactional
def create(email: str, scope: str, days: int, name: str) -> None:
    """Create a token for an active user and print it once."""
    user = find_user_by_email(email)
    if user is None:
        raise OneLineUsageError(f"no user with e-mail {email!r}")
    if not user.is_active:
        raise OneLineUsageError(f"{user.email} is {user.status.value}; tokens are only for active accounts")
    token, secret = create_token(user, name, scope, days)
    click.echo(secret)
    click.echo(
        f"Token {token.prefix}... ({scope}) for {user.email}, valid until {token.expires_at:%Y-%m-%d}.", err=True
    )
