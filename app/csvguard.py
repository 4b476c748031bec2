"""Spreadsheet cells that cannot run: the guard every CSV and XLSX export puts its text cells through.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and some a tab
or carriage return) as a formula; every such text cell is prefixed with an apostrophe so no
exported value (an item title, an actor's e-mail address) can become a formula on the reader's
machine (OWASP "CSV injection").
"""

from __future__ import annotations

from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would read as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
