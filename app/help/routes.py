"""Help pages, open to everyone: a visitor needs sign-in help before signing in, and the pages
describe the rules only, never any member's content."""

from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l

from app.help.blueprint import bp

#: (endpoint, title, summary) of each topic, in the order the index lists them.
TOPICS = [
    (
        "help.markings",
        _l("Markings and who sees what"),
        _l("What each TLP marking means for you as a reader, and who sees an item."),
    ),
    (
        "help.signing_in",
        _l("Signing in and two-step sign-in"),
        _l("Passwords, authenticator codes, recovery codes and company sign-in."),
    ),
    ("help.posting", _l("Posting and commenting"), _l("Writing a post, adding files, comments, editing and history.")),
    (
        "help.packs",
        _l("Meeting packs and checking them"),
        _l("What a meeting pack holds and how to check that it comes from PAX."),
    ),
    ("help.contact", _l("Who to contact"), _l("Where to ask for access, report a problem or a security concern.")),
]


def _topic(template: str) -> str:
    return render_template(f"help/{template}.html", topics=TOPICS)


@bp.route("/")
def index() -> str:
    return _topic("index")


@bp.route("/markings")
def markings() -> str:
    return _topic("markings")


@bp.route("/signing-in")
def signing_in() -> str:
    return _topic("signing_in")


@bp.route("/posting")
def posting() -> str:
    return _topic("posting")


@bp.route("/packs")
def packs() -> str:
    return _topic("packs")


@bp.route("/contact")
def contact() -> str:
    return _topic("contact")
