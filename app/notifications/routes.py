"""Notification pages: the member's list, marking read, and what they follow.

Reads come from ``app.notifications.queries`` (targets' titles through the policy in SQL), writes
from ``app.notifications.services``. Every page is the signed-in member's own: nobody reads or
marks another member's notifications (someone else's id answers 404).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.auth.sessions import unread_at_start
from app.clusters.names import cluster_label
from app.notifications import queries, services
from app.notifications.blueprint import bp
from app.notifications.models import DeliveryMode
from app.pagination import page_number
from app.policy import authorize, cluster_or_404
from app.routing import SLUG

PER_PAGE = 20
#: The choices of the settings page: form value, label, what it means.
MODE_CHOICES = [
    ("none", _l("Nothing"), _l("PAX does not tell you about new items in this cluster.")),
    ("immediate", _l("Immediately"), _l("A notification and a mail for each new item you may see, as it is shared.")),
    (
        "daily",
        _l("Daily digest"),
        _l("A notification for each new item you may see, and one mail a day listing them."),
    ),
]
_MODES: dict[str, DeliveryMode | None] = {
    "none": None,
    "immediate": DeliveryMode.IMMEDIATE,
    "daily": DeliveryMode.DAILY,
}


@bp.before_request
@login_required
def own_notifications_only() -> None:
    authorize(current_user, "manage_own_account")


class _LazyCount:
    """The header's unread count, queried only when a page's header shows it (never on the
    minimal error pages), and once per page."""

    def __init__(self) -> None:
        self._value: int | None = None

    def _get(self) -> int:
        if self._value is None:
            if not current_user.is_authenticated:
                self._value = 0
            else:
                # A GET changes no notification (marking read is a POST that redirects), so the
                # count read with the session still holds when the header is rendered.
                known = unread_at_start() if request.method in ("GET", "HEAD") else None
                self._value = known if known is not None else queries.unread_count(current_user)
        return self._value

    def __bool__(self) -> bool:
        return self._get() > 0

    def __int__(self) -> int:
        return self._get()

    def __str__(self) -> str:
        return str(self._get())


@bp.app_context_processor
def unread_notifications() -> dict[str, Any]:
    return {"unread_notifications": _LazyCount()}


@bp.route("/")
def index() -> str:
    page = queries.notification_page(current_user, page_number(request.args), PER_PAGE)
    return render_template("notifications/index.html", page=page, unread=queries.unread_count(current_user))


def _back_to_list() -> Response:
    page = page_number(request.form)
    return redirect(url_for("notifications.index", **({"page": page} if page > 1 else {})))


@bp.route("/read", methods=["POST"])
def mark_read() -> Response:
    raw = (request.form.get("notification_id") or "").strip()
    if not raw.isdigit() or len(raw) > 10:
        abort(400)
    if not services.mark_read(current_user, int(raw)):
        abort(404)
    return _back_to_list()


@bp.route("/read-all", methods=["POST"])
def mark_all_read() -> Response:
    count = services.mark_all_read(current_user)
    if count:
        flash(
            ngettext("%(num)d notification marked as read.", "%(num)d notifications marked as read.", count), "success"
        )
    else:
        flash(_("You have no unread notifications."), "info")
    return _back_to_list()


@dataclass
class _ModeField:
    """What ``clusters/_macros.html`` radio_group reads from a form field."""

    name: str
    id: str
    data: str
    errors: list[str] = field(default_factory=list)


def _mode_value(mode: DeliveryMode | None) -> str:
    return mode.value if mode else "none"


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> Any:
    """Per cluster: nothing, immediately, or a daily digest."""
    rows = queries.clusters_with_modes(current_user)
    fields = {c.id: _ModeField(f"cluster-{c.slug}", f"cluster-{c.slug}", _mode_value(m)) for c, m in rows}
    if request.method == "POST":
        chosen: dict[int, DeliveryMode | None] = {}
        for cluster, _mode in rows:
            form_field = fields[cluster.id]
            raw = request.form.get(form_field.name)
            if raw is None:
                continue  # not sent: left as it is
            form_field.data = raw[:20]
            if raw not in _MODES:
                form_field.errors.append(_("Choose nothing, immediately or daily digest."))
            else:
                chosen[cluster.id] = _MODES[raw]
        if not any(f.errors for f in fields.values()):
            for cluster, _mode in rows:
                if cluster.id in chosen:
                    services.set_subscription(current_user, cluster, chosen[cluster.id])
            flash(_("Your notification settings are saved."), "success")
            return redirect(url_for("notifications.settings"))
        status = 422
    else:
        status = 200
    return render_template(
        "notifications/settings.html",
        clusters=[(cluster, fields[cluster.id]) for cluster, _mode in rows],
        choices=MODE_CHOICES,
        has_errors=status == 422,
    ), status


@bp.route("/follow/<slug>", methods=["POST"])
def follow(slug: str) -> Response:
    """The cluster page's control: follow (immediately unless ``mode`` says otherwise) or stop."""
    if not SLUG.fullmatch(slug):
        abort(404)
    cluster = cluster_or_404(current_user, slug)
    raw = request.form.get("mode") or "immediate"
    if raw not in _MODES:
        abort(400)
    mode = _MODES[raw]
    services.set_subscription(current_user, cluster, mode)
    name = cluster_label(cluster)
    if mode is None:
        flash(_("You no longer follow %(cluster)s.", cluster=name), "success")
    elif mode is DeliveryMode.DAILY:
        flash(_("You follow %(cluster)s: daily digest.", cluster=name), "success")
    else:
        flash(_("You follow %(cluster)s: immediately.", cluster=name), "success")
    return redirect(url_for("clusters.show", slug=cluster.slug))
