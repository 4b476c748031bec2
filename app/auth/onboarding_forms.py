"""Forms of the mailed-link pages (password reset, invitations) and of inviting a colleague."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        "E-mail address",
        validators=[
            DataRequired("Enter your e-mail address."),
            Email("Enter a valid e-mail address."),
            Length(max=320),
        ],
    )


class NewPasswordForm(FlaskForm):
    new_password = PasswordField(
        "New password", validators=[DataRequired("Enter a new password."), Length(max=1024, message="Too long.")]
    )
    confirm_password = PasswordField("New password again", validators=[DataRequired("Repeat the new password.")])


class InviteForm(FlaskForm):
    name = StringField("Colleague's name", validators=[DataRequired("Enter your colleague's name."), Length(max=200)])
    email = EmailField(
        "Colleague's work e-mail address",
        validators=[DataRequired("Enter your colleague's e-mail address."), Length(max=320)],
    )
    #: Administrators choose the organisation; a focal point invites into their own.
    organisation = SelectField("Organisation", choices=[], validate_choice=False)
