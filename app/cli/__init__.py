"""The operator's command line: ``flask --app app ...`` or the ``pax`` script (README,
"Command line"). Commands are built from ``app.cli.base`` and listed in ``app.cli.commands``.
"""

from __future__ import annotations

import sys

from flask import Flask
from flask.cli import FlaskGroup


def _create_app() -> Flask:
    from app import create_app

    return create_app()


def main() -> None:
    """The ``pax`` console script: the same commands as ``flask --app app``."""
    cli = FlaskGroup(create_app=_create_app, add_default_commands=True, load_dotenv=False)
    sys.exit(cli.main())
