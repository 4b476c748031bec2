"""Organisations' OpenID Connect identity providers: the list with its form, and one provider's settings.

The client secret goes in and is sealed at once; it is never put back into a form, a page,
a flash message or a log line.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.admin import queries
from app.admin.blueprint import bp
from app.admin.forms import ProviderEditForm, ProviderForm, ProviderStatusForm, choices, show_errors
from app.audit.services import record
from app.auth import provider_test
from app.auth.models import IdentityProvider, ProviderStatus
from app.auth.providers import set_status
from app.auth.sso import add_provider, update_provider
from app.concurrency import StaleEdit, expect_version, form_version
from app.directory.models import Organisation
from app.extensions import db
from app.forms import refused, stale, stale_action
from app.policy import authorize
from app.security import csp_with_form_targets
from app.validation import ValidationError

log = logging.getLogger("pax.admin")


def redirect_uri(provider: IdentityProvider) -> str:
    """The address to register at the provider as PAX's redirect (callback) URI."""
    return url_for("auth.sso_callback", provider_id=provider.id, _external=True)


def _render_list(form: ProviderForm, status: int = 200) -> Any:
    form.organisation_id.choices = choices(queries.organisation_choices(), _("Choose an organisation"))
    providers = queries.all_providers()
    return render_template(
        "admin/providers.html",
        providers=providers,
        redirect_uris={p.id: redirect_uri(p) for p in providers},
        form=form,
    ), status


@bp.route("/identity-providers", methods=["GET", "POST"])
def providers() -> Any:
    authorize(current_user, "manage_identity_providers")
    form = ProviderForm()
    if not form.is_submitted():
        return _render_list(form)
    if not form.validate():
        return _render_list(form, 422)
    org_id = form.chosen_organisation_id
    org = db.session.get(Organisation, org_id) if org_id else None
    try:
        provider = add_provider(
            org,
            form.name.data,
            form.issuer.data,
            form.client_id.data,
            form.client_secret.data,
            metadata_url=form.metadata_url.data,
            mfa_exempt_when_asserted=form.mfa_exempt.data,
            email_claim=form.email_claim.data,
        )
    except ValidationError as exc:
        return refused(form, exc, lambda status: _render_list(form, status), lambda e: show_errors(form, e))
    log.info("admin %s added identity provider %s for organisation %s", current_user.id, provider.id, org_id)
    record("admin.idp_add", actor=current_user, target=("identity_provider", provider.id), target_org=org_id)
    flash(
        _(
            "The provider %(name)s is added for %(organisation)s. It starts in testing: register the "
            "redirect URI below at the provider, run a test sign-in, then enable it.",
            name=provider.name,
            organisation=provider.organisation.name,
        ),
        "success",
    )
    return redirect(url_for("admin.provider", provider_id=provider.id))


def _render_edit(
    provider: IdentityProvider, form: ProviderEditForm, status: int = 200, status_form: ProviderStatusForm | None = None
) -> Any:
    response = make_response(
        render_template(
            "admin/provider.html",
            provider=provider,
            form=form,
            status_form=status_form or _status_form(provider),
            redirect_uri=redirect_uri(provider),
        ),
        status,
    )
    # The "Run a test sign-in" form's answer redirects to the provider, and browsers check each
    # hop against form-action: without the provider's origin the test stops at PAX's redirect.
    response.headers["Content-Security-Policy"] = csp_with_form_targets([provider.issuer, provider.metadata_url])
    return response


@bp.route("/identity-providers/<int:provider_id>", methods=["GET", "POST"])
def provider(provider_id: int) -> Any:
    authorize(current_user, "manage_identity_providers")
    provider = queries.provider_or_404(provider_id)
    if request.method == "GET":
        return _render_edit(provider, _edit_form(provider))
    form = ProviderEditForm()
    if not form.validate():
        return _render_edit(provider, form, 422)
    try:
        changed = update_provider(
            provider,
            name=form.name.data,
            issuer=form.issuer.data,
            client_id=form.client_id.data,
            metadata_url=form.metadata_url.data,
            mfa_exempt_when_asserted=form.mfa_exempt.data,
            client_secret=form.client_secret.data or None,
            email_claim=form.email_claim.data,
            expected_version=form_version(form.version.data),
        )
    except StaleEdit as exc:
        new_secret = bool(form.client_secret.data)
        form.client_secret.data = ""  # never drawn again, nor compared with what is saved
        if new_secret:
            form.client_secret.errors = [_("Nothing was saved: enter the new client secret again.")]
        return stale(
            form,
            exc,
            lambda: queries.provider_or_404(provider_id),
            _edit_form,
            lambda current, status: _render_edit(current, form, status),
        )
    except ValidationError as exc:
        return refused(form, exc, lambda status: _render_edit(provider, form, status), lambda e: show_errors(form, e))
    secret_note = bool(form.client_secret.data)
    log.info("admin %s updated identity provider %s", current_user.id, provider.id)
    record(
        "admin.idp_update",
        actor=current_user,
        target=("identity_provider", provider.id),
        target_org=provider.organisation_id,
        fields=changed,  # names only: the secret's value never reaches the log
        status=provider.status.value,
        new_client_credential=bool(form.client_secret.data),
    )
    retest = bool(provider.status is ProviderStatus.TESTING and changed)
    flash(_saved_message(provider.name, secret_note, retest), "success")
    return redirect(url_for("admin.provider", provider_id=provider.id))


@bp.route("/identity-providers/<int:provider_id>/test", methods=["POST"])
def test_provider(provider_id: int) -> Any:
    """Start a real test sign-in; the provider's answer comes back to the usual callback, which
    shows the report (``app.auth.provider_test``) and signs nobody in."""
    authorize(current_user, "manage_identity_providers")
    provider = queries.provider_or_404(provider_id)
    try:  # a test started from a stale page would test settings its administrator has not seen
        expect_version(provider, form_version(request.form.get("version")))
    except StaleEdit:
        return stale_action(
            _(
                "Someone changed %(name)s since your page showed it, so no test was started. "
                "Its settings as they are now are shown below: run the test again to test them.",
                name=provider.name,
            ),
            lambda status: _render_edit(provider, _edit_form(provider), status),
        )
    log.info("admin %s started a test sign-in through provider %s", current_user.id, provider.id)
    return provider_test.start(provider)


@bp.route("/identity-providers/<int:provider_id>/status", methods=["POST"])
def provider_status(provider_id: int) -> Any:
    authorize(current_user, "manage_identity_providers")
    provider = queries.provider_or_404(provider_id)
    form = ProviderStatusForm()
    if not form.validate():
        return _render_edit(provider, _edit_form(provider), 422, status_form=form)
    try:
        set_status(provider, ProviderStatus(form.status.data), current_user, form_version(form.version.data))
    except StaleEdit as exc:
        return stale(
            form,
            exc,
            lambda: queries.provider_or_404(provider_id),
            _status_form,
            lambda current, status: _render_edit(current, _edit_form(current), status, status_form=form),
        )
    except ValidationError as exc:  # refused before anything changed
        show_errors(form, exc)
        return _render_edit(provider, _edit_form(provider), 409, status_form=form)
    words = {
        ProviderStatus.ENABLED: _l("%(name)s is enabled: people of %(organisation)s are sent to it when they sign in."),
        ProviderStatus.DISABLED: _l("%(name)s is disabled: nobody signs in through it."),
        ProviderStatus.TESTING: _l("%(name)s is back in testing: it is not offered at sign-in."),
    }
    flash(str(words[provider.status]) % {"name": provider.name, "organisation": provider.organisation.name}, "success")
    return redirect(url_for("admin.provider", provider_id=provider.id))


def _saved_message(name: str, new_secret: bool, retest: bool) -> str:
    """The flash after saving a provider's settings: each variant one full sentence (or two)."""
    if new_secret and retest:
        return _(
            "The settings of %(name)s are saved. The new client secret is stored sealed. The connection settings "
            "changed, so the provider is back in testing: run a test sign-in, then enable it.",
            name=name,
        )
    if new_secret:
        return _("The settings of %(name)s are saved. The new client secret is stored sealed.", name=name)
    if retest:
        return _(
            "The settings of %(name)s are saved. The connection settings changed, so the provider is back in "
            "testing: run a test sign-in, then enable it.",
            name=name,
        )
    return _("The settings of %(name)s are saved.", name=name)


def _edit_form(provider: IdentityProvider) -> ProviderEditForm:
    return ProviderEditForm(
        formdata=None,
        name=provider.name,
        issuer=provider.issuer,
        metadata_url=provider.metadata_url or "",
        client_id=provider.client_id,
        mfa_exempt=provider.mfa_exempt_when_asserted,
        email_claim=provider.email_claim,
        version=provider.version,
    )


def _status_form(provider: IdentityProvider) -> ProviderStatusForm:
    return ProviderStatusForm(formdata=None, status=provider.status.value, version=provider.version)
