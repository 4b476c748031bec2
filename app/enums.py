"""Closed vocabularies shared by models, forms, the CLI and the API."""

from __future__ import annotations

import enum

import sqlalchemy as sa


class StrEnum(enum.StrEnum):
    @classmethod
    def values(cls) -> list[str]:
        return [member.value for member in cls]


def enum_column_type(enum_cls: type[StrEnum], name: str) -> sa.Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint, the same on SQLite and PostgreSQL."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
    )
