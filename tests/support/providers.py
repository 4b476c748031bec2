"""Putting an identity provider into service in tests, as an administrator would after a passed test.

New providers start in *testing* and are not offered at sign-in (``app.auth.providers``). Tests
about something else than the provider's life cycle call ``ready(provider)``: it records a
passed test sign-in and enables the provider through the same services the admin pages use.
"""

from __future__ import annotations

from typing import Any


def ready(provider: Any, *, confirm_mfa_exemption: bool = False) -> Any:
    from app.auth.models import ProviderStatus
    from app.auth.providers import set_status
    from app.db import utcnow
    from app.extensions import db

    provider.last_test_ok_at = utcnow()
    set_status(provider, ProviderStatus.ENABLED, None)
    if confirm_mfa_exemption and provider.mfa_exempt_when_asserted:
        provider.mfa_exempt_confirmed_at = utcnow()
    db.session.commit()
    return provider
