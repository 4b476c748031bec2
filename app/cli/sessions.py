from __future__ import annotations

import click

from app.audit.services import record
from app.auth.accounts import end_everyones_sessions, end_user_sessions
from app.auth.services import find_user_by_email
from app.cli.base import OneLineUsageError, PaxGroup, transactional

sessions_group = PaxGroup("sessions", help="End signed-in browser sessions (API tokens are not affected).")


@sessions_group.command("end-all")
@transactional
def end_all() -> None:
    """End every session of every account at once, e.g. after an incident; everyone signs in again."""
    ended = end_everyones_sessions(keep_current=False)
    record("admin.sessions_end_all", sessions=ended, via="cli")
    click.echo(f"Ended {ended} open session(s); every account signs in again at its next request.")


@sessions_group.command("end")
@click.option("--email", required=True)
@transactional
def end(email: str) -> None:
    """End every session of one account without suspending it."""
    user = find_user_by_email(email)
    if user is None:
        raise OneLineUsageError(f"no user with e-mail {email!r}")
    ended = end_user_sessions(user)
    record("admin.sessions_end", target=("user", user.id), target_org=user.organisation_id, sessions=ended, via="cli")
    click.echo(f"Ended {ended} open session(s) of {user.email}.")
