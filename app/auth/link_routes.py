"""The account owner's confirmation of a provider identity asking to open their account.

Reached only through the secret address shown to the browser that made the sign-in attempt
(``/account/identity-links/<token>``), signed in with the account's own password and second
factor, and asking for both again before the link is made (``app.auth.links``).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth import links
from app.auth.blueprint import identity_links_bp as bp
from app.auth.forms import LinkConfirmForm
from app.policy import authorize
from app.validation import ValidationError


@bp.before_request
@login_required
def require_sign_in() -> None:
    authorize(current_user, "manage_own_account")


@bp.route("/<token>", methods=["GET", "POST"])
def confirm(token: str) -> Any:
    link = links.request_for_token(token)
    if link is None or link.user_id != current_user.id:
        abort(404)
    form = LinkConfirmForm()
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            try:
                links.confirm_by_owner(link, current_user, form.password.data or "", form.code.data or "")
            except ValidationError as exc:  # the refused attempt stays audited, in its own transaction
                for name, message in exc.fields.items():
                    field = getattr(form, name, None)
                    if field is not None:
                        field.errors = [message]
                    else:
                        flash(message, "error")
            else:
                flash(
                    _(
                        "Your account is now linked to %(provider)s. From now on you can sign in through it.",
                        provider=link.provider.name,
                    ),
                    "success",
                )
                return redirect(url_for("account.index"))
    return render_template(
        "auth/link_confirm.html",
        link=link,
        form=form,
        can_confirm=links.owner_can_confirm(current_user),
        asks_code=current_user.totp_secret_sealed is not None,
    ), status
