"""Meeting packs over the API: the streamed, signed zip, and the public key that verifies it."""

from __future__ import annotations
