from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError

from app import localtime
from app.auth.stepup import StepUpFields
from app.i18n import LANGUAGES, valid_language

#: A phone number as people write it: an optional +, digits, spaces, and the usual separators.
PHONE = re.compile(r"\+?[0-9][0-9 ()./-]{5,38}")


class LoginForm(FlaskForm):
    """One form, two steps: the e-mail address first (home-realm discovery), then the password."""

    email = EmailField(
        _l("E-mail address"),
        validators=[
            DataRequired(_l("Enter your e-mail address.")),
            Email(_l("Enter a valid e-mail address.")),
            Length(max=320),
        ],
    )
    password = PasswordField(_l("Password"), validators=[Optional(), Length(max=1024)])
    next = HiddenField()


class MfaForm(FlaskForm):
    code = StringField(
        _l("Authentication code"),
        validators=[DataRequired(_l("Enter the code from your authenticator app or a recovery code.")), Length(max=64)],
    )


class MfaEnrolForm(FlaskForm):
    code = StringField(
        _l("Code from your authenticator app"),
        validators=[DataRequired(_l("Enter the 6-digit code your app shows.")), Length(max=16)],
    )


class PasswordChangeForm(StepUpFields, FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(_l("Enter your current password."))]
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Enter a new password.")), Length(max=1024, message=_l("Too long."))],
    )
    confirm_password = PasswordField(
        _l("New password again"), validators=[DataRequired(_l("Repeat the new password."))]
    )


class TokenForm(StepUpFields, FlaskForm):
    name = StringField(
        _l("Token name"),
        validators=[DataRequired(_l("Name the token, e.g. the system that uses it.")), Length(max=100)],
    )
    scope = RadioField(
        _l("Scope"),
        choices=[
            SelectChoice("read", _l("Read: list and download what you may see")),
            SelectChoice("write", _l("Read and write: also post and edit")),
        ],
        default="read",
        validators=[DataRequired(_l("Choose a scope."))],
    )
    days = IntegerField(
        _l("Valid for (days)"),
        default=90,
        validators=[
            DataRequired(_l("Enter how many days the token stays valid.")),
            NumberRange(min=1, max=365, message=_l("Choose between 1 and 365 days.")),
        ],
    )


class TimeZoneForm(FlaskForm):
    """The zone PAX writes the member's dates and times in; empty is Brussels."""

    # The names are checked here, with words, rather than by WTForms' "Not a valid choice".
    time_zone = SelectField(_l("Time zone"), validate_choice=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        default = SelectChoice("", _("Brussels time (%(zone)s, the default)", zone=localtime.DEFAULT_ZONE_NAME))
        self.time_zone.choices = [default] + [SelectChoice(n, n.replace("_", " ")) for n in localtime.zone_names()]

    def validate_time_zone(self, field: SelectField) -> None:
        if field.data and not localtime.valid_zone_name(field.data):
            raise ValidationError(_("Choose a time zone from the list, such as Europe/Brussels or Europe/Lisbon."))


class LanguageForm(FlaskForm):
    """The language PAX writes the member's pages and mail in; empty follows the browser."""

    language = SelectField(_l("Language"), validate_choice=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Each language named in itself, as the header's selector names it.
        self.language.choices = [SelectChoice("", _("The browser's language (mail in English)"))] + [
            SelectChoice(code, name, render_kw={"lang": code}) for code, name in LANGUAGES.items()
        ]

    def validate_language(self, field: SelectField) -> None:
        if field.data and not valid_language(field.data):
            raise ValidationError(_("Choose one of the official languages of the EU from the list."))


class StepUpForm(StepUpFields, FlaskForm):
    """A sensitive action with nothing to fill in but the proof that it is you (``app.auth.stepup``)."""

    next = HiddenField()


class LinkConfirmForm(FlaskForm):
    """The owner's proof for linking a provider identity: the password and the current code, every time."""

    password = PasswordField(
        _l("Your PAX password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=1024, message=_l("Too long."))],
    )
    code = StringField(
        _l("Code from your authenticator app, or a recovery code"), validators=[Optional(), Length(max=64)]
    )


class DirectoryEntryForm(FlaskForm):
    """What the member directory shows of one's work contact (name, organisation, role and
    clusters are always shown to active members)."""

    work_phone = StringField(
        _l("Work phone"),
        validators=[Optional(), Length(max=40)],
    )
    show_email = BooleanField(_l("Show my work e-mail address in the directory"))
    show_phone = BooleanField(_l("Show my work phone in the directory"))

    def validate_work_phone(self, field: StringField) -> None:
        value = (field.data or "").strip()
        if value and not PHONE.fullmatch(value):
            raise ValidationError(
                _("Write the phone number with digits, spaces and an optional leading +, e.g. +32 3 229 67 11.")
            )
        field.data = value or None
