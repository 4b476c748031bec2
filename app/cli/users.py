from __future__ import annotations

import sys

import click

from app.audit.services import record
from app.auth.models import GlobalRole
from app.auth.passwords import generate_password
from app.auth.services import create_user, find_user_by_email, grant_membership
from app.cli.base import OneLineUsageError, PaxGroup, transactional
from app.clusters.models import MembershipRole
from app.directory.services import find_organisation
from app.privacy.erasure import erase_user, erasure_problem

users_group = PaxGroup("users", help="User accounts and cluster memberships.")


@users_group.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--org", "org_name", required=True, help="The organisation's name.")
@click.option("--role", type=click.Choice(GlobalRole.values()), default=GlobalRole.MEMBER.value, show_default=True)
@click.option("--focal-point", is_flag=True, help="Make the user their organisation's focal point.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@transactional
def create(email: str, name: str, org_name: str, role: str, focal_point: bool, password_stdin: bool) -> None:
    """Create an active local account; without --password-stdin a password is generated and printed
    once, and must be changed at the account's first sign-in (ASVS 5.0 V6.4.1)."""
    org = find_organisation(org_name)
    if org is None:
        raise OneLineUsageError(f"no organisation named {org_name!r}")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        generated = False
    else:
        password = generate_password(email, name, org.name)
        generated = True
    user = create_user(email, name, org, role=role, password=password, is_focal_point=focal_point)
    user.password_must_change = generated
    click.echo(f"Created {user.role.value} {user.email} in {org.name}.")
    if generated:
        click.echo("The account must choose its own password when it first signs in.")
        click.echo(f"Password (shown once): {password}")


@users_group.command("grant")
@click.option("--email", required=True)
@click.option("--cluster", "cluster_slug", required=True, help="Cluster slug, e.g. policy.")
@click.option("--role", type=click.Choice(MembershipRole.values()), required=True)
@transactional
def grant(email: str, cluster_slug: str, role: str) -> None:
    """Give a user a role in a cluster (replacing the role they had there)."""
    user = find_user_by_email(email)
    if user is None:
        raise OneLineUsageError(f"no user with e-mail {email!r}")
    membership = grant_membership(user, cluster_slug, role, actor=None)  # the operator (server access)
    record(
        "admin.membership_grant",
        target=("user", user.id),
        target_org=user.organisation_id,
        cluster_id=membership.cluster_id,
        role=membership.role.value,
    )
    click.echo(f"{user.email} is now {membership.role.value} of {membership.cluster.slug}.")


@users_group.command("erase")
@click.option("--email", required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@transactional
def erase(email: str, yes: bool) -> None:
    """Erase a departed user's personal data; their organisation keeps what they shared."""
    user = find_user_by_email(email)
    if user is None:
        raise OneLineUsageError(f"no user with e-mail {email!r}")
    if problem := erasure_problem(user):
        raise OneLineUsageError(problem)
    if not yes:
        click.confirm(f"Erase the personal data of {user.email} (account {user.id})? This cannot be undone", abort=True)
    user_id = user.id
    result = erase_user(None, user)
    click.echo(
        f"Erased the personal data of account {user_id}: {result.removed['sessions']} sessions,"
        f" {result.removed['tokens']} tokens and {result.removed['identities']} sign-in identities removed;"
        f" {result.kept['posts']} posts stay with the organisation."
    )
