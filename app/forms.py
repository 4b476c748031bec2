"""The base of forms whose values a service's parser checks (``parse_post``, ``parse_meeting``...).

Such forms carry no WTForms validators of their own: the parser that the API uses too decides,
so a page and the API refuse the same things with the same messages. The form adds what only a
page needs: CSRF, refusing NUL characters, and putting each of the parser's messages next to its
field (or above the form) with a summary for the top of the page.

When a service refuses a save, the page is shown again by ``refused`` (422, or 403) or ``stale``
(409): the request's changes are rolled back first, so the page shows what is stored, and what
the member typed is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from flask import g, has_request_context, request
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import Field, SelectChoice

from app.errors import Refusal
from app.validation import ValidationError

if TYPE_CHECKING:
    from app.concurrency import StaleEdit

R = TypeVar("R")
T = TypeVar("T")


class PaxForm(FlaskForm):
    """Every form of a page. Opened to continue a draft, or after a form sent from an ended
    session was kept (``app.drafts``), the page's form whose fields match is filled in from it."""

    class Meta:
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            wrapped = super().wrap_formdata(form, formdata)  # type: ignore[misc]
            if wrapped is None and has_request_context() and request.method == "GET":
                restored = g.get("pax_restore")
                if restored is not None and restored.fits(form):
                    return restored.fields
            return wrapped


class ParsedForm(PaxForm):
    #: The parser's error keys that belong to a field of another name (``starts_at`` -> ``starts_date``).
    ERROR_FIELDS: ClassVar[dict[str, str]] = {}
    #: Fields whose messages never show on the field itself, and are left out of the summary.
    UNSHOWN_FIELDS: ClassVar[tuple[str, ...]] = ("csrf_token",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Messages that belong to no field (shown above the form).
        self.form_errors_extra: list[str] = []

    def validate(self, extra_validators: Any = None) -> bool:
        """CSRF, and no NUL character anywhere (no database stores one; nobody types one)."""
        valid = super().validate(extra_validators)
        for f in self:
            values = f.data if isinstance(f.data, list) else [f.data]
            if any(isinstance(v, str) and "\x00" in v for v in values):
                f.errors = [*f.errors, _("This contains a character that is not allowed.")]
                valid = False
        return valid

    def field_for_error(self, name: str) -> Field | None:
        """The field a parser message about ``name`` belongs on (``incident.port_locode`` on
        ``incident_port_locode``), or None to show it above the form."""
        if name in self.UNSHOWN_FIELDS:
            return None
        target = getattr(self, self.ERROR_FIELDS.get(name, name.replace(".", "_")), None)
        return target if isinstance(target, Field) else None

    def show_errors(self, exc: ValidationError) -> None:
        for name, message in exc.fields.items():
            target = self.field_for_error(name)
            if target is not None:
                target.errors = [*target.errors, message]
            else:
                self.form_errors_extra.append(message)

    def show_conflict(self, saved: ParsedForm, what: str) -> None:
        """A stale save (409): keep every value the member typed, say that nothing was saved, and
        put on each field whose saved value now differs from theirs what is saved now.

        ``saved`` is this form filled in from the item as it is now; its version becomes this
        form's, so saving again is a deliberate choice made having seen the change.
        """
        show_conflict(self, saved, what)

    def error_summary(self) -> list[tuple[str | None, str]]:
        """(field id or None, message) for the summary at the top of the page, in form order."""
        summary: list[tuple[str | None, str]] = [(None, m) for m in self.form_errors_extra]
        for f in self:
            if f.name not in self.UNSHOWN_FIELDS:
                summary.extend((f.id, message) for message in f.errors)
        return summary


def after_refusal(render: Callable[[], R]) -> R:
    """Draw the page that answers a refused save from what is stored: the request's changes are
    rolled back first (the boundary would roll them back anyway; the page's own queries must not
    show or flush them)."""
    from app.extensions import db

    db.discard()
    return render()


def refused(
    form: Any,
    exc: ValidationError | Refusal,
    render: Callable[[int], R],
    show: Callable[[ValidationError], Any] | None = None,
) -> R:
    """Show ``form`` again after a service refused its save, with what the member typed.

    Invalid input answers 422 with each message next to its field (``show`` when the form
    places them its own way, else the form's ``show_errors``); a ``NotAllowed`` answers 403 with
    the service's reason above the form. ``render(status)`` draws the route's own page.
    """
    if isinstance(exc, Refusal):
        form.form_errors_extra.append(str(exc))
        return after_refusal(lambda: render(403))
    (show or form.show_errors)(exc)
    return after_refusal(lambda: render(422))


def audience_previewed(form: Any, compute: Callable[[], str], render: Callable[..., R]) -> R | None:
    """An edit form's "Check who would see it" (``preview=audience`` in the post): the form again
    with ``compute()``'s sentence, or with why the marking cannot be saved; None for a real save.
    ``render(status, audience_preview=...)`` draws the route's own form."""
    from flask import request

    if request.form.get("preview") != "audience":
        return None
    try:
        return render(200, audience_preview=compute())
    except ValidationError as exc:
        text = _(
            "This marking cannot be saved as it is: %(problems)s",
            problems=" ".join(str(v) for v in exc.fields.values()),
        )
        return refused(form, exc, lambda status: render(status, audience_preview=text))


def stale(
    form: Any,
    exc: StaleEdit,
    reload: Callable[[], T],
    saved: Callable[[T], FlaskForm],
    render: Callable[[T, int], R],
) -> R:
    """Show ``form`` again after its save lost to another one (409): ``reload()`` finds the item
    as it is now (access checked again), ``saved(item)`` is the form filled from it, and every
    field keeps what the member typed with what is saved now beside it (``show_conflict``)."""
    from app.extensions import db

    db.discard()
    current = reload()
    show_conflict(form, saved(current), exc.what)
    return render(current, 409)


def stale_action(message: str, render: Callable[[int], R]) -> R:
    """Answer a button pressed on a stale page (no typed input to keep): nothing was done, and the
    page is drawn again (409) from what is stored now, with ``message`` saying so above it."""
    from flask import flash

    flash(message, "error")
    return after_refusal(lambda: render(409))


def show_conflict(form: FlaskForm, saved: FlaskForm, what: str) -> None:
    """``ParsedForm.show_conflict`` for any form: a form without a place for messages above its
    fields gets the explanation on its first field."""
    from app.concurrency import stale_page_message

    unshown = getattr(form, "UNSHOWN_FIELDS", ("csrf_token",))
    shown = [
        f for f in form if f.type not in ("CSRFTokenField", "HiddenField", "SubmitField") and f.name not in unshown
    ]
    if isinstance(getattr(form, "form_errors_extra", None), list):
        form.form_errors_extra.append(stale_page_message(what))  # type: ignore[attr-defined]
    elif shown:
        shown[0].errors = [stale_page_message(what), *shown[0].errors]
    for f in shown:
        other = saved._fields.get(f.name)
        if other is None or _comparable(other.data) == _comparable(f.data):
            continue
        f.errors = [*f.errors, _("Now saved: %(value)s.", value=_shown(other))]
    if "version" in form and "version" in saved:
        form["version"].data = saved["version"].data


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, list | tuple):
        return sorted(_comparable(v) for v in value if v not in (None, ""))
    return value if value not in (None, "") else None


def _shown(f: Field) -> str:
    """A field's saved value in words: choices by their labels, yes/no, lists joined, text cut short."""
    value = f.data
    choices = [(c.value, c.label) if isinstance(c, SelectChoice) else c for c in getattr(f, "choices", None) or []]
    labels = {str(c[0]): str(c[1]) for c in choices if isinstance(c, tuple | list)}
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        shown = ", ".join(labels.get(str(v), str(v)) for v in value if v)
        return shown or _("none")
    if value in (None, ""):
        return _("empty")
    text = labels.get(str(value), " ".join(str(value).split()))
    return _("“%(text)s…”", text=text[:200]) if len(text) > 200 else _("“%(text)s”", text=text)
