"""Meetings over the API: list, schedule, read (with agenda and documents), upload documents."""

from __future__ import annotations
