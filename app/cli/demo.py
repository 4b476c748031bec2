from __future__ import annotations

import click
from flask import current_app

from app.cli.base import PaxGroup, transactional
from app.demo import load_demo

demo_group = PaxGroup("demo", help="Demo data for local runs.")

#: Why ``demo load`` refuses the production profile (ASVS 5.0 V6.3.2: no default accounts).
PRODUCTION_REFUSAL = (
    "demo load is refused in production (PAX_ENV=production): the demo accounts, an administrator "
    "among them, share a published password. Load demo data only into a local or throwaway database."
)


@demo_group.command("load")
@transactional
def load() -> None:
    """Create the demo organisations, users and memberships that are missing (idempotent).

    Refused under the production profile, with no flag to force it: a throwaway portal served with
    the production profile (``tools.audit.portal``) loads its demo data under the development
    profile first, so nothing a real deployment could be talked into exists."""
    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException(PRODUCTION_REFUSAL)
    created = load_demo()
    if not any(created.values()):
        click.echo("Demo data already loaded; nothing changed.")
    else:
        click.echo(", ".join(f"{count} {what}" for what, count in created.items()) + " created.")
