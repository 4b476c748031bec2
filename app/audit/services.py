"""Writing audit events: in the action's own transaction, or on their own when the action failed.

Details are facts about the event (ids, counts, reasons): the recorder accepts only short
scalars under keys that do not name secrets, so content, keys and tokens cannot slip in by
accident.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import has_request_context, request
from sqlalchemy import text

from app.audit.chain import mark_recorded
from app.audit.models import AuditEvent
from app.extensions import db

log = logging.getLogger("pax.audit")

MAX_DETAIL_TEXT = 200
#: Markings whose every view is an audit event; CLEAR and GREEN are for every member anyway.
VIEW_AUDITED_TLP = frozenset({"AMBER", "AMBER+STRICT", "RED"})
_SECRET_KEY_NAMES = re.compile(r"pass|secret|token|key(?!_id)|dek|kek(?!_id)|content|body|filename", re.IGNORECASE)


def _clean(details: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name, value in details.items():
        if _SECRET_KEY_NAMES.search(name):
            raise ValueError(f"audit details may not carry {name!r}")
        if isinstance(value, str):
            value = value[:MAX_DETAIL_TEXT]
        elif isinstance(value, list | tuple):
            value = [v if isinstance(v, int | bool) else str(v)[:MAX_DETAIL_TEXT] for v in value][:500]
        elif not isinstance(value, int | float | bool) and value is not None:
            raise ValueError(f"audit detail {name!r} is not a plain value")
        clean[name] = value
    return clean


def _event(
    action: str,
    actor: Any,
    target: tuple[str, Any] | None,
    outcome: str,
    details: dict[str, Any],
    source: str | None = None,
    target_org: Any = None,
) -> AuditEvent:
    target_type, target_id = target if target else (None, None)
    target_org_id = getattr(target_org, "id", target_org)
    event = AuditEvent(
        action=action,
        outcome=outcome,
        actor_id=getattr(actor, "id", None),
        actor_org_id=getattr(actor, "organisation_id", None),
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        target_org_id=int(target_org_id) if target_org_id is not None else None,
        source=source or (request.remote_addr if has_request_context() else "cli"),
        details=_clean(details),
    )
    return mark_recorded(event)


def record(
    action: str,
    *,
    actor: Any = None,
    target: tuple[str, Any] | None = None,
    target_org: Any = None,
    outcome: str = "ok",
    **details: Any,
) -> AuditEvent:
    """Add an event to the current transaction: it is kept exactly when the action is.

    ``target_org`` is the organisation whose item ``target`` is (an organisation or its id), so
    that organisation can see who accessed its items.
    """
    event = _event(action, actor, target, outcome, details, target_org=target_org)
    db.session.add(event)
    return event


def record_view(actor: Any, target_type: str, item: Any, **details: Any) -> AuditEvent | None:
    """Record that ``actor`` saw ``item`` (a post or a meeting) when its marking is AMBER,
    AMBER+STRICT or RED: ``<target_type>.view``, with the item's organisation as ``target_org``
    so that organisation sees who read it. CLEAR and GREEN views record nothing."""
    tlp = getattr(item.tlp, "value", item.tlp)
    if tlp not in VIEW_AUDITED_TLP:
        return None
    return record(
        f"{target_type}.view",
        actor=actor,
        target=(target_type, item.id),
        target_org=item.author_org_id,
        tlp=tlp,
        **details,
    )


def record_apart(
    action: str,
    *,
    actor: Any = None,
    target: tuple[str, Any] | None = None,
    target_org: Any = None,
    outcome: str = "error",
    source: str | None = None,
    **details: Any,
) -> None:
    """Write an event in its own transaction, for failures whose request is rolled back or already answered.

    Usable outside the request context (a streaming response): pass ``source`` then.
    """
    event = _event(action, actor, target, outcome, details, source, target_org=target_org)
    try:
        # The app's sessionmaker, not a Session of its own: it shares the request's bind (tests bind it to
        # one connection), never the request's session or transaction.
        with db.session.session_factory() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                # Never wait forever on a chain head that this very request may hold.
                session.execute(text("SET LOCAL lock_timeout = '5s'"))
            session.add(event)
    except Exception:
        log.exception("could not write audit event %s", action)
