"""Optimistic concurrency: every item members edit carries a version that each save compares and sets.

An edit first *claims* the item: ``UPDATE ... SET version = v + 1 WHERE id = :id AND version = v``
(SQLAlchemy's ``version_id_col``, declared by ``versioned``). Of two saves made from the same
version, the second finds no row to update and becomes ``StaleEdit`` (409), whatever the
database: PostgreSQL makes it wait for the first one's row lock and then re-checks the
condition, SQLite serialises writers. Nothing else of the losing save is written, so a stale form
can never overwrite, or loosen the marking of, what someone saved in between.

Pages carry the version they were drawn from in a hidden ``version`` field and say ``expected``;
the API sends it as a strong ``ETag`` and honours ``If-Match`` (``app.etags``).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db

STALE_PAGE = (
    "Someone else saved a change to this {what} while you were editing it, so nothing of yours was saved. "
    "What you typed is kept below; each field that is now saved differently says how. "
    "Check them, then save again."
)
STALE_API = "Someone else changed this {what} at the same time; fetch it again and resend your change."
ORDER_CHANGED = (
    "Someone changed the order of these {what}s meanwhile, so nothing was moved. "
    "Look at the order as it is now, and move again if you still want to."
)
#: ``STALE_PAGE`` per kind of item, each a whole sentence to translate.
STALE_PAGE_TEXTS: dict[str, Any] = {
    "post": _l(
        "Someone else saved a change to this post while you were editing it, so nothing of yours was saved. "
        "What you typed is kept below; each field that is now saved differently says how. Check them, then "
        "save again."
    ),
    "comment": _l(
        "Someone else saved a change to this comment while you were editing it, so nothing of yours was "
        "saved. What you typed is kept below; each field that is now saved differently says how. Check them, "
        "then save again."
    ),
    "attachment": _l(
        "Someone else saved a change to this attachment while you were editing it, so nothing of yours was "
        "saved. What you typed is kept below; each field that is now saved differently says how. Check them, "
        "then save again."
    ),
    "meeting": _l(
        "Someone else saved a change to this meeting while you were editing it, so nothing of yours was "
        "saved. What you typed is kept below; each field that is now saved differently says how. Check them, "
        "then save again."
    ),
    "agenda item": _l(
        "Someone else saved a change to this agenda item while you were editing it, so nothing of yours was "
        "saved. What you typed is kept below; each field that is now saved differently says how. Check them, "
        "then save again."
    ),
    "meeting document": _l(
        "Someone else saved a change to this meeting document while you were editing it, so nothing of yours "
        "was saved. What you typed is kept below; each field that is now saved differently says how. Check "
        "them, then save again."
    ),
    "workplan item": _l(
        "Someone else saved a change to this workplan item while you were editing it, so nothing of yours was "
        "saved. What you typed is kept below; each field that is now saved differently says how. Check them, "
        "then save again."
    ),
    "organisation": _l(
        "Someone else saved a change to this organisation while you were editing it, so nothing of yours was "
        "saved. What you typed is kept below; each field that is now saved differently says how. Check them, "
        "then save again."
    ),
    "identity provider": _l(
        "Someone else saved a change to this identity provider while you were editing it, so nothing of yours "
        "was saved. What you typed is kept below; each field that is now saved differently says how. Check "
        "them, then save again."
    ),
    "cluster membership": _l(
        "Someone else saved a change to this cluster membership while you were editing it, so nothing of "
        "yours was saved. What you typed is kept below; each field that is now saved differently says how. "
        "Check them, then save again."
    ),
}
#: ``STALE_API`` per kind of item.
STALE_API_TEXTS: dict[str, Any] = {
    "post": _l("Someone else changed this post at the same time; fetch it again and resend your change."),
    "comment": _l("Someone else changed this comment at the same time; fetch it again and resend your change."),
    "attachment": _l("Someone else changed this attachment at the same time; fetch it again and resend your change."),
    "meeting": _l("Someone else changed this meeting at the same time; fetch it again and resend your change."),
    "agenda item": _l("Someone else changed this agenda item at the same time; fetch it again and resend your change."),
    "meeting document": _l(
        "Someone else changed this meeting document at the same time; fetch it again and resend your change."
    ),
    "workplan item": _l(
        "Someone else changed this workplan item at the same time; fetch it again and resend your change."
    ),
    "organisation": _l(
        "Someone else changed this organisation at the same time; fetch it again and resend your change."
    ),
    "identity provider": _l(
        "Someone else changed this identity provider at the same time; fetch it again and resend your change."
    ),
    "cluster membership": _l(
        "Someone else changed this cluster membership at the same time; fetch it again and resend your change."
    ),
}
#: ``ORDER_CHANGED`` per kind of item that can be moved.
ORDER_CHANGED_TEXTS: dict[str, Any] = {
    "agenda item": _l(
        "Someone changed the order of these agenda items meanwhile, so nothing was moved. Look at the order "
        "as it is now, and move again if you still want to."
    ),
    "meeting document": _l(
        "Someone changed the order of these meeting documents meanwhile, so nothing was moved. Look at the "
        "order as it is now, and move again if you still want to."
    ),
}


def stale_page_message(what: str) -> str:
    """``STALE_PAGE`` for ``what`` (``describe``), in the reader's language."""
    text = STALE_PAGE_TEXTS.get(what)
    return str(text) if text is not None else STALE_PAGE.format(what=what)


def stale_api_message(what: str) -> str:
    text = STALE_API_TEXTS.get(what)
    return str(text) if text is not None else STALE_API.format(what=what)


def order_changed_message(what: str) -> str:
    text = ORDER_CHANGED_TEXTS.get(what)
    return str(text) if text is not None else ORDER_CHANGED.format(what=what)


#: A move button drawn for an item with no neighbour on that side (``form_neighbour``).
NO_NEIGHBOUR = (0, 0)


def versioned(version_column: Any) -> dict[str, Any]:
    """``__mapper_args__`` that make every UPDATE and DELETE of the row compare its version.

    The services set the next version themselves (``claim``), so the counter moves once per save.
    """
    return {"version_id_col": version_column, "version_id_generator": False}


class StaleEdit(Exception):
    """A save made from a version that is no longer the item's current one (answered 409)."""

    def __init__(self, item: Any, expected: int | None = None, detail: str | None = None):
        self.item = item
        self.expected = expected
        self.what = describe(item)
        #: What a page says instead of the general message (``claim_swap``: nothing moved).
        self.detail = detail
        super().__init__(stale_api_message(self.what))


def describe(item: Any) -> str:
    """The kind of item, in words, for messages (``workplan item``, ``meeting document``)."""
    name = type(item).__name__
    return "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()


def expect_version(item: Any, expected: int | None) -> None:
    """Raise ``StaleEdit`` when the member's copy (``expected``) is not the item's current version."""
    if expected is not None and expected != item.version:
        raise StaleEdit(item, expected)


def claim(item: Any, expected: int | None = None) -> int:
    """Check ``expected`` (when given), then move the item to its next version in the database now.

    Call it before writing anything else of the save: a concurrent save that got there first
    turns this into ``StaleEdit`` (the caller's transaction must be rolled back: the request boundary
    does, or ``app.forms.stale`` first when it shows the form again). Returns the version the save started from.
    """
    expect_version(item, expected)
    started_from: int = item.version
    item.version = started_from + 1
    try:
        db.session.flush()
    except StaleDataError:
        raise StaleEdit(item, started_from) from None
    return started_from


def claim_swap(item: Any, other: Any, expected: int | None, neighbour: tuple[int, int] | None) -> bool:
    """Claim both items a move swaps, or raise ``StaleEdit`` saying that the order changed.

    ``expected`` is the moved item's version and ``neighbour`` the (id, version) of the item the
    member saw on that side (``NO_NEIGHBOUR`` for none; None when the button did not say), so a
    move from a page drawn before another move is refused rather than swapping other items than
    the ones the member saw. The rows are claimed in id order: two moves touching the same rows
    never wait on each other in a circle, and the second to claim one finds it changed (409).
    Returns False, claiming nothing, when there is nothing to swap with.
    """
    what = describe(item)
    try:
        expect_version(item, expected)
        seen = NO_NEIGHBOUR if other is None else (other.id, other.version)
        if neighbour is not None and neighbour != seen:
            raise StaleEdit(item, expected)
        if other is None:
            return False
        for row in sorted((item, other), key=lambda r: r.id):
            started_from = row.version
            row.version = started_from + 1
            try:
                db.session.flush()
            except StaleDataError:
                raise StaleEdit(row, started_from) from None
    except StaleEdit as exc:
        raise StaleEdit(exc.item, exc.expected, detail=order_changed_message(what)) from None
    return True


def form_neighbour(raw: str | None) -> tuple[int, int] | None:
    """The hidden ``neighbour`` field of a move button: ``id:version`` of the item it swaps with,
    ``none`` when the page showed none on that side; absent is None, malformed never matches."""
    if raw is None or raw == "":
        return None
    if raw == "none":
        return NO_NEIGHBOUR
    left, _, right = raw.partition(":")
    if left.isascii() and left.isdigit() and right.isascii() and right.isdigit() and len(raw) < 24:
        return int(left), int(right)
    return (-1, -1)


def form_version(raw: str | None) -> int | None:
    """The hidden ``version`` field of a page's form; a form without one is treated as stale-proof
    only by the compare-and-set (None), a malformed one as stale (0)."""
    if raw is None or raw == "":
        return None
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0


# --- HTTP: ETag and If-Match ----------------------------------------------------------------------
