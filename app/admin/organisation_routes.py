"""Organisations: the list with its creation form, one organisation's page and its e-mail domains."""

from __future__ import annotations

import logging
from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import queries
from app.admin.blueprint import bp
from app.admin.forms import DomainForm, OrganisationForm, show_errors
from app.audit.services import record
from app.directory.models import Organisation
from app.directory.services import add_domain, create_organisation
from app.forms import refused
from app.policy import authorize
from app.validation import ValidationError

log = logging.getLogger("pax.admin")


def _render_list(form: OrganisationForm, status: int = 200) -> Any:
    return render_template(
        "admin/organisations.html", organisations=queries.organisations_with_user_counts(), form=form
    ), status


@bp.route("/organisations", methods=["GET", "POST"])
def organisations() -> Any:
    authorize(current_user, "manage_organisations")
    form = OrganisationForm()
    if not form.is_submitted():
        return _render_list(form)
    if not form.validate():
        return _render_list(form, 422)
    try:
        org = create_organisation(form.name.data, form.type.data, form.country.data, form.domain_list())
    except ValidationError as exc:
        aliases = {"email_domain": "email_domains"}
        return refused(
            form, exc, lambda status: _render_list(form, status), lambda exc: show_errors(form, exc, aliases)
        )
    log.info("admin %s created organisation %s", current_user.id, org.id)
    record(
        "admin.organisation_create",
        actor=current_user,
        target=("organisation", org.id),
        target_org=org.id,
        type=org.type.value,
        domains=len(org.domains),
    )
    flash(_("%(name)s is created.", name=org.name), "success")
    return redirect(url_for("admin.organisation", organisation_id=org.id))


def _render_organisation(org: Organisation, form: DomainForm | None = None, status: int = 200) -> Any:
    return render_template(
        "admin/organisation.html",
        org=org,
        users=queries.organisation_users(org),
        providers=queries.organisation_providers(org),
        domain_form=form or DomainForm(formdata=None),
    ), status


@bp.route("/organisations/<int:organisation_id>")
def organisation(organisation_id: int) -> Any:
    authorize(current_user, "manage_organisations")
    return _render_organisation(queries.organisation_or_404(organisation_id))


@bp.route("/organisations/<int:organisation_id>/domains", methods=["POST"])
def add_organisation_domain(organisation_id: int) -> Any:
    authorize(current_user, "manage_organisations")
    org = queries.organisation_or_404(organisation_id)
    form = DomainForm()
    if not form.validate_on_submit():
        return _render_organisation(org, form, 422)
    try:
        row = add_domain(org, form.domain.data)
    except ValidationError as exc:
        return refused(
            form, exc, lambda status: _render_organisation(org, form, status), lambda e: show_errors(form, e)
        )
    log.info("admin %s added domain %s to organisation %s", current_user.id, row.domain, org.id)
    record(
        "admin.domain_add", actor=current_user, target=("organisation", org.id), target_org=org.id, domain=row.domain
    )
    flash(
        _(
            "%(domain)s now belongs to %(organisation)s; sign-ins from it are routed to its providers.",
            domain=row.domain,
            organisation=org.name,
        ),
        "success",
    )
    return redirect(url_for("admin.organisation", organisation_id=org.id))
