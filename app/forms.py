"""The base of forms whose values a service's parser checks (``parse_post``, ``parse_meeting``...).

Such forms carry no WTForms validators of their own: the parser that the API uses too decides,
so a page and the API refuse the same things with the same messages. The form adds what only a
page needs: CSRF, refusing NUL characters, and putting each of the parser's messages next to its
field (or above the form) with a summary for the top of the page.
"""

from __future__ import annotations

from typing import Any, ClassVar

from flask_wtf import FlaskForm
from wtforms import Field

from app.validation import ValidationError


class ParsedForm(FlaskForm):
    #: The parser's error keys that belong to a field of another name (``starts_at`` -> ``starts_date``).
    ERROR_FIELDS: ClassVar[dict[str, str]] = {}
    #: Fields whose messages never show on the field itself, and are left out of the summary.
    UNSHOWN_FIELDS: ClassVar[tuple[str, ...]] = ("csrf_token",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Messages that belong to no field (shown above the form).
        self.form_errors_extra: list[str] = []

    def validate(self, extra_validators: Any = None) -> bool:
        """CSRF, and no NUL character anywhere (no database stores one; nobody types one)."""
        valid = super().validate(extra_validators)
        for f in self:
            values = f.data if isinstance(f.data, list) else [f.data]
            if any(isinstance(v, str) and "\x00" in v for v in values):
                f.errors = [*f.errors, "This contains a character that is not allowed."]
                valid = False
        return valid

    def field_for_error(self, name: str) -> Field | None:
        """The field a parser message about ``name`` belongs on (``incident.port_locode`` on
        ``incident_port_locode``), or None to show it above the form."""
        if name in self.UNSHOWN_FIELDS:
            return None
        target = getattr(self, self.ERROR_FIELDS.get(name, name.replace(".", "_")), None)
        return target if isinstance(target, Field) else None

    def show_errors(self, exc: ValidationError) -> None:
        for name, message in exc.fields.items():
            target = self.field_for_error(name)
            if target is not None:
                target.errors = [*target.errors, message]
            else:
                self.form_errors_extra.append(message)

    def error_summary(self) -> list[tuple[str | None, str]]:
        """(field id or None, message) for the summary at the top of the page, in form order."""
        summary: list[tuple[str | None, str]] = [(None, m) for m in self.form_errors_extra]
        for f in self:
            if f.name not in self.UNSHOWN_FIELDS:
                summary.extend((f.id, message) for message in f.errors)
        return summary
