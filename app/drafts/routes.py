"""Your drafts, autosave, and the hooks that keep and restore a form across an ended session.

- ``/drafts/``: the member's drafts and kept forms, to continue or delete.
- ``/drafts/autosave``: ``static/js/pax.js`` posts a draftable form here every few seconds
  while the member types; without script the form's "Save draft" button does the same.
- A POST that arrives after the session ended (``keep_and_sign_in``) or with an aged CSRF token
  (``keep_after_csrf``) keeps its fields; the form is filled in again the next time its author
  opens its page in that browser, with a notice (``restore_on_get``).
- A draftable form sent successfully deletes the draft it was continued from.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_url
from werkzeug.datastructures import MultiDict

from app.drafts import services
from app.drafts.blueprint import bp
from app.drafts.models import Draft, DraftKind
from app.errors import CSRF_RESCUE
from app.extensions import db, limiter, login_manager
from app.security import from_this_site

RESTORED = _l(
    "PAX could not accept this form when you sent it (your session had ended, or the page had been "
    "open too long), so nothing was saved. What you wrote is filled in again below: check it and send it again."
)
TOO_MANY = _l(
    "You have %(count)s drafts, the most PAX keeps: send or delete some under “Your drafts”, then save this one.",
    count=services.MAX_DRAFTS,
)
KEPT_BEFORE_SIGN_IN = _l(
    "Your session had ended, so what you just sent was not saved, but it is kept: sign in again "
    "and it is filled in again where you left it."
)


@bp.route("/")
@login_required
def index() -> str:
    return render_template("drafts/index.html", drafts=services.drafts_of(current_user), days=services.retention().days)


@bp.route("/<int(max=2147483647):draft_id>/delete", methods=["POST"])
@login_required
def delete(draft_id: int) -> Response:
    if not services.delete_draft(current_user, draft_id):
        from flask import abort

        abort(404)
    flash(_("The draft is deleted."), "success")
    return redirect(url_for("drafts.index"))


@bp.route("/autosave", methods=["POST"])
@limiter.limit("60 per minute")
def autosave() -> Any:
    """Save the form pax.js sends as the member's draft; JSON for the script to show."""
    if not current_user.is_authenticated:
        kept = keep_posted_form()
        message = str(KEPT_BEFORE_SIGN_IN) if kept else _("Your session has ended. Sign in again to continue.")
        return jsonify(saved=False, kept=kept is not None, message=message), 401
    action = request.form.get("pax_action", "")
    endpoint = services.endpoint_of(action)
    if endpoint not in services.DRAFTABLE:
        return jsonify(saved=False, message=_("This form does not take drafts.")), 422
    try:
        draft = services.save_draft(
            current_user,
            endpoint,
            services.page_for(endpoint, action),
            services.kept_fields(request.form),
            request.form.get("pax_draft"),
        )
    except services.TooManyDrafts:
        return jsonify(saved=False, message=str(TOO_MANY)), 422
    except ValueError:
        return jsonify(saved=False, message=_("This is too long to save as a draft; send it or shorten it.")), 422
    from app.localtime import format_time, zone_of

    when = format_time(draft.updated_at, zone_of(current_user))
    return jsonify(saved=True, id=draft.id, message=_("Draft saved at %(time)s. Only you can see it.", time=when))


# --- keeping what an ended session posted --------------------------------------------------------


def _posted_fields() -> MultiDict[str, str]:
    """The text fields of this POST; of a multipart body only those before its first file
    (the forms put their files last), read without writing the files anywhere."""
    if request.mimetype == "multipart/form-data":
        from app.files.uploads import MultipartUpload, UploadError

        try:
            form = MultipartUpload(file_field="files")
            form.until_file()
        except UploadError:
            pass
        except Exception:  # a body that cannot be read keeps nothing, and the refusal stands
            return MultiDict()
        return MultiDict(list(form.fields.items()))
    return request.form


def _author_of_ended_session() -> int | None:
    from app.auth.sessions import ENDED_USER_KEY, current_session_row

    row = current_session_row()
    if row is not None:
        return int(row.user_id)
    ended = session.get(ENDED_USER_KEY)
    return ended if isinstance(ended, int) else None


def keep_posted_form(fields: MultiDict[str, str] | None = None, endpoint: str | None = None) -> Draft | None:
    """Keep this POST's fields (``fields`` when the view has read them already) for the account
    whose session sent it; None if nothing is kept."""
    # A cross-site POST must never put words into a member's form: a form filled in for them is a
    # form they might send.
    if request.method != "POST" or not from_this_site():
        return None
    endpoint, action = endpoint or request.endpoint, request.path
    if endpoint == "drafts.autosave":
        action = request.form.get("pax_action", "")
        endpoint = services.endpoint_of(action)
    if not services.keepable(endpoint):
        return None
    user_id = current_user.id if current_user.is_authenticated else _author_of_ended_session()
    if user_id is None:
        return None
    kept_fields = services.kept_fields(fields if fields is not None else _posted_fields())
    page = services.page_for(str(endpoint), action)
    with db.independent_transaction():
        kept = services.keep_form(user_id, str(endpoint), page, kept_fields)
        kept_page = kept.page if kept is not None else None
    if kept is None:
        return None
    g.pax_kept_page = kept_page
    return kept


def keep_and_sign_in() -> Response:
    """flask-login's answer to a signed-out request: sign in, and come back to where you were,
    with what you sent kept (flask-login's own would drop the form and return to a POST address)."""
    kept = keep_posted_form() if request.method == "POST" else None
    if kept is not None:
        flash(str(KEPT_BEFORE_SIGN_IN), "warning")
        return redirect(login_url("auth.login", g.pax_kept_page))
    flash(login_manager.login_message, login_manager.login_message_category)
    # A POST-only address is turned into the page above it when signing in (``safe_next``).
    return redirect(login_url("auth.login", request.url))


def keep_after_csrf() -> Response | None:
    """A form refused for its CSRF token (aged, or the session was renewed in another tab, or the
    session cookie itself expired): keep it and show the form again filled in, after signing in
    again if need be. None: nothing was kept, and the refusal stands."""
    if request.endpoint == "drafts.autosave":
        return None  # the script says so; the form's own sending keeps it
    return keep_fields_after_csrf(None, None)


def keep_fields_after_csrf(endpoint: str | None, fields: MultiDict[str, str] | None) -> Response | None:
    """``keep_after_csrf`` for a view that has read the form's fields itself (a streamed form)."""
    kept = keep_posted_form(fields, endpoint)
    if kept is None:
        return None
    if current_user.is_authenticated:
        return redirect(g.pax_kept_page)
    flash(str(KEPT_BEFORE_SIGN_IN), "warning")
    return redirect(login_url("auth.login", g.pax_kept_page))


# --- restoring ---------------------------------------------------------------------------------


class Restored:
    """Fields to fill a form with on this page: a draft continued, or a form kept."""

    def __init__(self, fields: MultiDict[str, str], draft_id: int | None) -> None:
        self.fields = fields
        self.draft_id = draft_id

    def fits(self, form: Any) -> bool:
        names = set(self.fields)
        own = set(getattr(form, "_fields", {}))
        return bool(names) and names <= own


def restore_on_get() -> None:
    if request.method != "GET" or request.endpoint in (None, "static") or not current_user.is_authenticated:
        return
    wanted = request.args.get("draft")
    if wanted:
        draft = services.own_draft(current_user, wanted)
        if draft is not None and draft.page == request.path:
            g.pax_restore = Restored(services.fields_of(draft), draft.id)
        return
    kept = services.kept_for(current_user, request.path)
    if kept is None:
        return
    fields = services.fields_of(kept)
    if kept.endpoint in services.DRAFTABLE:
        # Filled in once, it becomes the member's draft: a reload or a closed tab loses nothing.
        kept.kind, kept.browser_hash = DraftKind.DRAFT, None
        draft_id: int | None = kept.id
    else:
        db.session.delete(kept)
        draft_id = None
    db.session.commit()
    g.pax_restore = Restored(fields, draft_id)
    flash(str(RESTORED), "warning")


def save_draft_button() -> Response | None:
    """The form's "Save draft" button, for a page without script: save, and show the form again."""
    if request.method != "POST" or request.endpoint not in services.DRAFTABLE:
        return None
    if request.mimetype == "multipart/form-data":
        return None  # a form with files is read as a stream by its view, which saves its draft itself
    if "pax_save_draft" not in request.form or not current_user.is_authenticated:
        return None
    return _saved_and_back(
        request.endpoint, request.path, services.kept_fields(request.form), request.form.get("pax_draft")
    )


def _saved_and_back(endpoint: str, action: str, fields: list[tuple[str, str]], draft_id: str | None) -> Response:
    try:
        draft = services.save_draft(current_user, endpoint, services.page_for(endpoint, action), fields, draft_id)
    except services.TooManyDrafts:
        flash(str(TOO_MANY), "error")
        return redirect(request.referrer or url_for("drafts.index"))
    except ValueError:
        flash(_("This is too long to save as a draft; send it or shorten it."), "error")
        return redirect(request.referrer or url_for("drafts.index"))
    db.session.commit()
    from app.localtime import format_datetime, zone_of

    until = format_datetime(draft.expires_at, zone_of(current_user))
    flash(
        _("Your draft is saved. Only you can see it, under “Your drafts”, until %(until)s.", until=until),
        "success",
    )
    return redirect(f"{draft.page}?draft={draft.id}")


def save_streamed_draft(endpoint: str, fields: dict[str, str]) -> Response:
    """The "Save draft" button of a form sent as a stream (the new post with its files)."""
    return _saved_and_back(endpoint, request.path, services.kept_fields(fields), fields.get("pax_draft"))


def forget_sent_draft() -> None:
    """Once a draftable form is sent and saved, the draft it came from has done its work."""
    if request.method != "POST" or request.endpoint not in services.DRAFTABLE:
        return
    if request.mimetype == "multipart/form-data":
        return  # the streamed forms forget their draft themselves (``forget_draft``)
    draft_id = request.form.get("pax_draft")
    if draft_id and current_user.is_authenticated:
        g.setdefault("pax_on_success", []).append(lambda: services.delete_draft(current_user, draft_id))


def forget_draft(draft_id: str | None) -> None:
    if draft_id and current_user.is_authenticated:
        services.delete_draft(current_user, draft_id)


def _set_browser_cookie(response: Response) -> Response:
    secret = g.pop("pax_keep_cookie", None)
    if secret:
        services.set_browser_cookie(response, secret)
    return response


def draft_controls(others_too: bool = False) -> dict[str, Any]:
    """For a draftable form's template: the draft being continued, and (``others_too``) the
    member's other drafts of this page, which costs a query."""
    restored = g.get("pax_restore")
    current = restored.draft_id if restored is not None else None
    others: list[Draft] = []
    if others_too and current is None and current_user.is_authenticated and request.method == "GET":
        others = services.drafts_for_page(current_user, request.path)
    return {"draft_id": current, "others": others}


def register(app: Flask) -> None:
    app.before_request(save_draft_button)
    app.before_request(restore_on_get)
    app.before_request(forget_sent_draft)
    app.after_request(_set_browser_cookie)
    login_manager.unauthorized_handler(keep_and_sign_in)
    app.extensions[CSRF_RESCUE] = keep_after_csrf
    app.jinja_env.globals["draft_controls"] = draft_controls
