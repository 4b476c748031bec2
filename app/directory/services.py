"""Writes on organisations, shared by the CLI, the admin pages and the demo loader."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from app.concurrency import claim
from app.directory.models import Organisation, OrganisationDomain, OrgType
from app.extensions import db
from app.validation import ValidationError, normalise_country, normalise_domain


def find_organisation(name: str) -> Organisation | None:
    return db.session.scalar(sa.select(Organisation).where(sa.func.lower(Organisation.name) == name.strip().lower()))


def create_organisation(name: str, type_: str, country: str, email_domains: list[str] | None = None) -> Organisation:
    """Create an organisation; names are unique regardless of case, and so are e-mail domains."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("Enter the organisation's name.")
    elif len(name) > 200:
        errors["name"] = _("Use at most %(limit)d characters.", limit=200)
    elif find_organisation(name) is not None:
        errors["name"] = _("An organisation named %(name)s already exists.", name=repr(name))
    if type_ not in OrgType.values():
        errors["type"] = _("Choose one of: %(values)s.", values=", ".join(OrgType.values()))
    cc = normalise_country(country)
    if cc is None:
        errors["country"] = _("%(value)s is not an ISO 3166-1 alpha-2 country code.", value=repr(country))
    domains: list[str] = []
    for raw in email_domains or []:
        domain, problem = _checked_domain(raw)
        if problem:
            errors["email_domain"] = problem
            break
        domains.append(domain)
    if errors:
        raise ValidationError(errors)
    org = Organisation(name=name, type=OrgType(type_), country=cc or "")
    org.domains = [OrganisationDomain(domain=d) for d in dict.fromkeys(domains)]
    db.session.add(org)
    db.session.flush()
    return org


def _checked_domain(raw: str, organisation: Organisation | None = None) -> tuple[str, str | None]:
    """The normalised domain and why it cannot be given to an organisation (None when it can)."""
    domain = normalise_domain(raw)
    if domain is None:
        return "", _("%(value)s is not a valid e-mail domain (e.g. port.example).", value=repr((raw or "").strip()))
    owner = db.session.scalar(sa.select(OrganisationDomain).where(OrganisationDomain.domain == domain))
    if owner is not None:
        if organisation and owner.organisation_id == organisation.id:
            return domain, _("The domain %(domain)s already belongs to this organisation.", domain=domain)
        return domain, _(
            "The domain %(domain)s already belongs to %(organisation)s.",
            domain=domain,
            organisation=owner.organisation.name,
        )
    return domain, None


def add_domain(organisation: Organisation, raw: str) -> OrganisationDomain:
    """Give ``organisation`` an e-mail domain; a domain belongs to one organisation only, so a
    sign-in is routed to exactly one organisation."""
    domain, problem = _checked_domain(raw, organisation)
    if problem:
        raise ValidationError({"domain": problem})
    claim(organisation)
    row = OrganisationDomain(organisation=organisation, domain=domain)
    db.session.add(row)
    db.session.flush()
    return row
