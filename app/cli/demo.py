from __future__ import annotations

import click

from app.cli.base import PaxGroup, transactional
from app.demo import load_demo

demo_group = PaxGroup("demo", help="Demo data for local runs.")


@demo_group.command("load")
@transactional
def load() -> None:
    """Create the demo organisations, users and memberships that are missing (idempotent)."""
    created = load_demo()
    if not any(created.values()):
        click.echo("Demo data already loaded; nothing changed.")
    else:
        click.echo(", ".join(f"{count} {what}" for what, count in created.items()) + " created.")
