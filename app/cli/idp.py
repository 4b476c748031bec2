from __future__ import annotations

import sys

import click

from app.audit.services import record
from app.auth.sso import EMAIL_CLAIM_CHOICES, add_provider
from app.cli.base import OneLineUsageError, PaxGroup, transactional
from app.directory.services import find_organisation

idp_group = PaxGroup("idp", help="Organisations' OpenID Connect identity providers.")


@idp_group.command("add")
@click.option("--org", "org_name", required=True, help="The organisation's name.")
@click.option("--issuer", required=True, help="The provider's issuer URL.")
@click.option("--client-id", required=True, help="PAX's client id at the provider.")
@click.option("--client-secret-stdin", is_flag=True, required=True, help="Read the client secret from stdin.")
@click.option("--name", default=None, help="Shown on the login page (default: the organisation's name).")
@click.option("--metadata-url", default=None, help="Discovery document URL, when not under the issuer.")
@click.option("--mfa-exempt", is_flag=True, help="Accept the provider's MFA assertion (amr/acr) instead of PAX TOTP.")
@click.option(
    "--email-claim",
    type=click.Choice(sorted(EMAIL_CLAIM_CHOICES)),
    default="email",
    show_default=True,
    help="The claim carrying the user's e-mail address (preferred_username for Entra ID, upn for ADFS).",
)
@transactional
def add(
    org_name: str,
    issuer: str,
    client_id: str,
    client_secret_stdin: bool,
    name: str | None,
    metadata_url: str | None,
    mfa_exempt: bool,
    email_claim: str,
) -> None:
    """Register an organisation's OIDC provider; its client secret is sealed under the keyring."""
    org = find_organisation(org_name)
    if org is None:
        raise OneLineUsageError(f"no organisation named {org_name!r}")
    if not org.email_domains:
        raise OneLineUsageError(f"{org.name} has no e-mail domain, so no login could be routed to its provider")
    secret = sys.stdin.readline().rstrip("\r\n")
    provider = add_provider(
        org, name or org.name, issuer, client_id, secret, metadata_url, mfa_exempt, email_claim=email_claim
    )
    record("admin.idp_add", target=("identity_provider", provider.id), target_org=org.id)
    click.echo(f"Added identity provider {provider.id} for {org.name}: {provider.issuer}")
    click.echo(f"Redirect URI to register at the provider: <PAX_BASE_URL>/login/sso/{provider.id}/callback")
    click.echo(f"Back-channel logout URI: <PAX_BASE_URL>/login/sso/{provider.id}/backchannel-logout")
    click.echo(
        "It starts in testing, not offered at sign-in: run a test sign-in from its page under "
        "Administration > Identity providers, then enable it there."
    )
