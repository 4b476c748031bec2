"""The workplan over the API: read the current workplan, create and update items."""

from __future__ import annotations
