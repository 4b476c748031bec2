from __future__ import annotations

import click

from app.audit.services import record
from app.cli.base import PaxGroup, transactional
from app.directory.models import OrgType
from app.directory.services import create_organisation

orgs_group = PaxGroup("orgs", help="Member organisations.")


@orgs_group.command("create")
@click.option("--name", required=True, help="The organisation's name, unique.")
@click.option("--type", "type_", required=True, type=click.Choice(OrgType.values()), help="Organisation type.")
@click.option("--country", required=True, help="ISO 3166-1 alpha-2 code, e.g. BE.")
@click.option("--email-domain", "email_domains", multiple=True, help="E-mail domain it owns (repeatable).")
@transactional
def create(name: str, type_: str, country: str, email_domains: tuple[str, ...]) -> None:
    """Create an organisation."""
    org = create_organisation(name, type_, country, list(email_domains))
    record("admin.organisation_create", target=("organisation", org.id), target_org=org.id, type=org.type.value)
    click.echo(f"Created organisation {org.name} ({org.type.value}, {org.country}) with id {org.id}.")
