"""Forms of the administration pages.

The forms check presence and length; what a value means (a country code, a unique domain, a
valid role) is the services' job, and their ``ValidationError`` messages land on these fields
through ``show_errors``. Select fields whose values a service validates skip WTForms' own
choice check, so the person sees the service's message rather than "Not a valid choice".
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    PasswordField,
    SearchField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional

from app.auth.models import GlobalRole, UserStatus
from app.auth.sso import EMAIL_CLAIM_CHOICES
from app.clusters.models import MembershipRole
from app.directory.models import ORG_TYPE_LABELS, OrgType
from app.forms import PaxForm
from app.validation import ValidationError

ROLE_NAMES = {
    GlobalRole.MEMBER: _l("Member"),
    GlobalRole.CURATOR: _l("Curator (Commission staff)"),
    GlobalRole.ADMIN: _l("Administrator"),
    GlobalRole.AUDITOR: _l("Auditor"),
}
STATUS_NAMES = {
    UserStatus.PENDING: _l("Pending approval"),
    UserStatus.ACTIVE: _l("Active"),
    UserStatus.SUSPENDED: _l("Suspended"),
}
MEMBERSHIP_NAMES = {
    MembershipRole.READER: _l("Reader"),
    MembershipRole.CONTRIBUTOR: _l("Contributor"),
    MembershipRole.COORDINATOR: _l("Coordinator"),
}


def _optional_int(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


class OrganisationForm(PaxForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the organisation's name.")), Length(max=200)])
    type = SelectField(
        _l("Type"),
        choices=[SelectChoice("", _l("Choose a type"))] + [SelectChoice(t.value, ORG_TYPE_LABELS[t]) for t in OrgType],
        validators=[DataRequired(_l("Choose the organisation's type."))],
        validate_choice=False,
    )
    country = StringField(
        _l("Country code"),
        validators=[DataRequired(_l("Enter the two-letter country code, e.g. BE.")), Length(max=8)],
    )
    email_domains = StringField(_l("E-mail domains"), validators=[Optional(), Length(max=2000)])

    def domain_list(self) -> list[str]:
        return [d.strip() for d in (self.email_domains.data or "").split(",") if d.strip()]


class DomainForm(PaxForm):
    domain = StringField(
        _l("E-mail domain"), validators=[DataRequired(_l("Enter a domain, e.g. port.example.")), Length(max=253)]
    )


class UserFilterForm(PaxForm):
    """The users list's filters, read from the query string (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Name or e-mail contains"), validators=[Optional(), Length(max=100)])
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("", _l("Any status"))] + [SelectChoice(s.value, STATUS_NAMES[s]) for s in UserStatus],
        validate_choice=False,
    )
    organisation = SelectField(
        _l("Organisation"), choices=[SelectChoice("", _l("Any organisation"))], coerce=str, validate_choice=False
    )
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice("", _l("Any role"))] + [SelectChoice(r.value, ROLE_NAMES[r]) for r in GlobalRole],
        validate_choice=False,
    )

    @property
    def organisation_id(self) -> int | None:
        return _optional_int(self.organisation.data)


class RoleForm(PaxForm):
    role = SelectField(
        _l("Global role"),
        choices=[SelectChoice(r.value, ROLE_NAMES[r]) for r in GlobalRole],
        validators=[DataRequired(_l("Choose a role."))],
        validate_choice=False,
    )


class FocalPointForm(PaxForm):
    value = HiddenField(validators=[DataRequired()])

    @property
    def wanted(self) -> bool:
        return self.value.data == "yes"


class MembershipForm(PaxForm):
    """Grant a membership, or change the role of one the page showed.

    ``version`` is the version of the membership in the chosen cluster that the page showed, ``0``
    when it showed none (``app.auth.services.grant_membership``).
    """

    cluster = SelectField(
        _l("Cluster"), choices=[], validators=[DataRequired(_l("Choose a cluster."))], validate_choice=False
    )
    role = SelectField(
        _l("Role in the cluster"),
        choices=[SelectChoice(r.value, MEMBERSHIP_NAMES[r]) for r in MembershipRole],
        validators=[DataRequired(_l("Choose a role."))],
        validate_choice=False,
    )
    version = HiddenField()


class ProviderSettings(PaxForm):
    """The settings an identity provider form asks for, when adding and when editing."""

    name = StringField(
        _l("Name shown at sign-in"),
        validators=[DataRequired(_l("Enter a name, e.g. the company's sign-in.")), Length(max=200)],
    )
    issuer = StringField(
        _l("Issuer URL"),
        validators=[DataRequired(_l("Enter the provider's issuer URL (https://...).")), Length(max=500)],
    )
    metadata_url = StringField(_l("Discovery document URL"), validators=[Optional(), Length(max=500)])
    client_id = StringField(
        _l("Client id"),
        validators=[DataRequired(_l("Enter the client id PAX is registered under at the provider.")), Length(max=255)],
    )
    email_claim = SelectField(
        _l("Claim carrying the e-mail address"),
        choices=[SelectChoice(value, label) for value, label in EMAIL_CLAIM_CHOICES.items()],
        default="email",
        description=_l("Entra ID and ADFS often send no email claim; choose the claim they use instead."),
    )
    mfa_exempt = BooleanField(
        _l("Ask to accept the provider's MFA assertion (a focal point of the organisation confirms)")
    )


class ProviderForm(ProviderSettings):
    organisation_id = SelectField(
        _l("Organisation"),
        choices=[],
        validators=[DataRequired(_l("Choose the organisation whose users sign in through it."))],
        validate_choice=False,
    )
    client_secret = PasswordField(
        _l("Client secret"), validators=[DataRequired(_l("Enter the client secret.")), Length(max=1000)]
    )

    @property
    def chosen_organisation_id(self) -> int | None:
        return _optional_int(self.organisation_id.data)


class ProviderEditForm(ProviderSettings):
    client_secret = PasswordField(_l("New client secret"), validators=[Optional(), Length(max=1000)])
    version = HiddenField()


class ProviderStatusForm(PaxForm):
    """Enable or disable a provider (``app.auth.providers.set_status``); enabling needs a passed test."""

    status = SelectField(
        _l("State"),
        choices=[
            SelectChoice("enabled", _l("Enabled")),
            SelectChoice("disabled", _l("Disabled")),
            SelectChoice("testing", _l("Testing")),
        ],
        validators=[DataRequired(_l("Choose a state."))],
    )
    version = HiddenField()


class SignInPolicyForm(PaxForm):
    """The focal point's choice for the organisation's sign-in."""

    password_fallback = BooleanField(_l("Let people use their PAX password when our sign-in service cannot be reached"))


def choices(pairs: Iterable[tuple[object, str]], blank: str) -> list[SelectChoice]:
    """Options for a select filled at request time, after a first blank option."""
    return [SelectChoice("", blank)] + [SelectChoice(str(value), label) for value, label in pairs]


def show_errors(form: FlaskForm, exc: ValidationError, aliases: dict[str, str] | None = None) -> list[str]:
    """Put a service's messages on the form's fields; returns those that belong to no field."""
    rest: list[str] = []
    for name, message in exc.fields.items():
        field = getattr(form, (aliases or {}).get(name, name), None)
        if not isinstance(field, Field):
            rest.append(message)
        else:
            field.errors = [*field.errors, message]
    return rest
