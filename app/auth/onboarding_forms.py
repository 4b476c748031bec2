"""Forms of the mailed-link pages (password reset, invitations) and of inviting a colleague."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[
            DataRequired(_l("Enter your e-mail address.")),
            Email(_l("Enter a valid e-mail address.")),
            Length(max=320),
        ],
    )


class NewPasswordForm(FlaskForm):
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Enter a new password.")), Length(max=1024, message=_l("Too long."))],
    )
    confirm_password = PasswordField(
        _l("New password again"), validators=[DataRequired(_l("Repeat the new password."))]
    )


class InviteForm(FlaskForm):
    name = StringField(
        _l("Colleague's name"), validators=[DataRequired(_l("Enter your colleague's name.")), Length(max=200)]
    )
    email = EmailField(
        _l("Colleague's work e-mail address"),
        validators=[DataRequired(_l("Enter your colleague's e-mail address.")), Length(max=320)],
    )
    #: Administrators choose the organisation; a focal point invites into their own.
    organisation = SelectField(_l("Organisation"), choices=[], validate_choice=False)
