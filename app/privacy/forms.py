"""The erasure confirmation form: CSRF, and the account's e-mail address typed out."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.forms import ParsedForm


class EraseForm(ParsedForm):
    confirm_email = StringField(
        _l("Type the account's e-mail address to confirm"),
        validators=[
            DataRequired(_l("Type the account's e-mail address to confirm.")),
            Length(max=320, message=_l("That is longer than any e-mail address.")),
        ],
    )
