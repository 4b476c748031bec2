"""A real test sign-in through an identity provider, run by an administrator, signing nobody in.

``start`` checks discovery and the signing keys, marks the browser's session as running a test
of that provider, and sends the administrator to the provider's authorization endpoint with
the provider's usual client and redirect URI (``/login/sso/<id>/callback``). The callback hands
a marked request to ``finish``, which exchanges the code exactly as a sign-in would (the ID
token's signature, issuer, audience, nonce and expiry checked; claims completed from UserInfo),
and renders a report of what came back instead of signing anyone in or creating any account.
A test in which every check passed is recorded on the provider; only then may it be enabled.
A test counts only for the provider's version it started from: a change saved while it ran fails it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import requests
import sqlalchemy as sa
from flask import render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from app.audit.services import record
from app.auth.models import Identity, IdentityProvider, User
from app.auth.providers import record_test_success
from app.auth.sso import SsoError, claims_options, client_for, mfa_asserted
from app.extensions import db
from app.outbound import OutboundRefused, get_json
from app.policy import can

log = logging.getLogger("pax.admin")

#: Session key of a running test: which provider, which administrator, since when.
TEST_KEY = "pax_idp_test"
TEST_SECONDS = 900


#: The checks a test makes: the English name (kept in the audit record) and the label shown.
CHECK_LABELS = {
    "Discovery document": _l("Discovery document"),
    "Signing keys": _l("Signing keys"),
    "Authorization request": _l("Authorization request"),
    "Settings tested": _l("Settings tested"),
    "Sign-in at the provider": _l("Sign-in at the provider"),
    "Redirect URI": _l("Redirect URI"),
    "ID token": _l("ID token"),
    "Claims": _l("Claims"),
    "Subject": _l("Subject"),
    "E-mail address": _l("E-mail address"),
}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str

    @property
    def label(self) -> str:
        """The check's name in the reader's language."""
        return str(CHECK_LABELS.get(self.name, self.name))


@dataclass
class Report:
    provider: IdentityProvider
    checks: list[Check] = field(default_factory=list)
    claims: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)


def redirect_uri(provider: IdentityProvider) -> str:
    return url_for("auth.sso_callback", provider_id=provider.id, _external=True)


def _check_discovery_and_keys(provider: IdentityProvider, report: Report) -> bool:
    try:
        metadata = get_json(provider.discovery_url)
    except OutboundRefused as exc:
        return report.add(
            "Discovery document",
            False,
            _("PAX did not read %(url)s: %(reason)s", url=provider.discovery_url, reason=exc.message),
        )
    except (requests.RequestException, ValueError) as exc:
        log.info("provider test %s: discovery failed: %s", provider.id, type(exc).__name__)
        return report.add(
            "Discovery document",
            False,
            _(
                "PAX could not read %(url)s (%(error)s). Check the issuer or discovery "
                "address and that PAX's server can reach the provider.",
                url=provider.discovery_url,
                error=type(exc).__name__,
            ),
        )
    if not isinstance(metadata, dict):
        return report.add("Discovery document", False, _("The discovery address did not return a discovery document."))
    issuer = str(metadata.get("issuer") or "")
    if issuer != provider.issuer:
        return report.add(
            "Discovery document",
            False,
            _(
                "The provider calls itself %(issuer)s, but the issuer entered in PAX is %(entered)s. "
                "They must be exactly the same.",
                issuer=issuer or _("(nothing)"),
                entered=provider.issuer,
            ),
        )
    report.add("Discovery document", True, _("Read from %(url)s; the issuer matches.", url=provider.discovery_url))
    jwks_uri = str(metadata.get("jwks_uri") or "")
    try:
        keys = get_json(jwks_uri).get("keys") if jwks_uri else None
    except OutboundRefused as exc:
        return report.add(
            "Signing keys",
            False,
            _("PAX did not read the signing keys from %(url)s: %(reason)s", url=jwks_uri, reason=exc.message),
        )
    except (requests.RequestException, ValueError, AttributeError) as exc:
        log.info("provider test %s: JWKS failed: %s", provider.id, type(exc).__name__)
        keys = None
    if not keys:
        return report.add(
            "Signing keys",
            False,
            _("PAX could not read the provider's signing keys from %(url)s.", url=jwks_uri or _("(no address given)")),
        )
    algorithms = sorted({str(k.get("alg") or k.get("kty") or "?") for k in keys if isinstance(k, dict)})
    return report.add(
        "Signing keys",
        True,
        ngettext(
            "%(num)d key(s) published (%(algorithms)s).",
            "%(num)d key(s) published (%(algorithms)s).",
            len(keys),
            algorithms=", ".join(algorithms),
        ),
    )


def start(provider: IdentityProvider) -> Any:
    """Check what can be checked without a sign-in, then send the administrator to the provider."""
    report = Report(provider)
    if not _check_discovery_and_keys(provider, report):
        return _finish_report(report)
    session[TEST_KEY] = {
        "provider": provider.id,
        "admin": current_user.id,
        "at": int(time.time()),
        "version": provider.version,
    }
    try:
        return client_for(provider).authorize_redirect(redirect_uri(provider), prompt="login")
    except Exception as exc:  # the provider went away between the checks and now
        session.pop(TEST_KEY, None)
        why = exc.message if isinstance(exc, OutboundRefused) else f"({type(exc).__name__})"
        report.add("Authorization request", False, _("PAX could not start the sign-in %(reason)s.", reason=why))
        return _finish_report(report)


def is_test_run(provider: IdentityProvider) -> bool:
    """Whether this callback answers a test that this signed-in administrator started."""
    marker = session.get(TEST_KEY) or {}
    return (
        marker.get("provider") == provider.id
        and current_user.is_authenticated
        and marker.get("admin") == current_user.id
        and can(current_user, "manage_identity_providers")
        and time.time() - marker.get("at", 0) <= TEST_SECONDS
    )


def finish(provider: IdentityProvider) -> Any:
    """The callback of a test run: check the answer, show the report, sign nobody in."""
    from app.auth import sso_protocol

    marker = session.pop(TEST_KEY, None) or {}
    report = Report(provider)
    if marker.get("version") != provider.version:
        report.add(
            "Settings tested",
            False,
            _(
                "Someone changed this provider while the test ran, so the test says nothing about the settings "
                "saved now. Run it again."
            ),
        )
    _check_discovery_and_keys(provider, report)
    error = request.args.get("error")
    if error:
        description = (request.args.get("error_description") or "")[:300]
        report.add(
            "Sign-in at the provider",
            False,
            _(
                "The provider answered with an error: %(error)s: %(description)s.",
                error=error[:80],
                description=description,
            )
            if description
            else _("The provider answered with an error: %(error)s.", error=error[:80]),
        )
        return _finish_report(report)
    report.add("Redirect URI", True, _("The provider sent the browser back to %(url)s.", url=redirect_uri(provider)))
    try:
        token = client_for(provider).authorize_access_token(
            claims_options=claims_options(provider), leeway=sso_protocol.clock_skew()
        )
    except OutboundRefused as exc:
        log.info("provider test %s: token request refused: %s", provider.id, exc.reason)
        report.add(
            "ID token", False, _("PAX did not ask the provider's token endpoint: %(reason)s", reason=exc.message)
        )
        return _finish_report(report)
    except Exception as exc:  # state, code, signature, issuer, audience, nonce or expiry refused
        log.info("provider test %s: token refused: %s", provider.id, type(exc).__name__)
        report.add(
            "ID token",
            False,
            _(
                "PAX could not verify the provider's answer (%(error)s: %(reason)s). Check the client "
                "id, the client secret and the issuer.",
                error=type(exc).__name__,
                reason=str(exc)[:200],
            ),
        )
        return _finish_report(report)
    id_claims = dict(token.get("userinfo") or {})
    report.add(
        "ID token",
        bool(id_claims),
        _("Signature, issuer, audience, nonce and expiry verified.") if id_claims else _("No ID token came back."),
    )
    if not id_claims:
        return _finish_report(report)
    try:
        claims = sso_protocol.identity_claims(provider, id_claims, token)
    except SsoError as exc:
        report.add("Claims", False, exc.message)
        return _finish_report(report)
    _check_claims(provider, claims, report)
    return _finish_report(report)


def _check_claims(provider: IdentityProvider, claims: dict[str, Any], report: Report) -> None:
    org = provider.organisation
    email_claim = getattr(provider, "email_claim", "email") or "email"
    amr = claims.get("amr")
    missing, none = _("(missing)"), _("(none)")
    report.claims = [
        (_("sub (who the person is at the provider)"), str(claims.get("sub") or missing)),
        (_("e-mail address (from the %(claim)s claim)", claim=email_claim), str(claims.get("email") or missing)),
        (_("name"), str(claims.get("name") or missing)),
        (_("amr (how the person signed in)"), ", ".join(map(str, amr)) if isinstance(amr, list) else str(amr or none)),
        ("acr", str(claims.get("acr") or none)),
    ]
    report.add(
        "Subject",
        bool(claims.get("sub")),
        _("Present.") if claims.get("sub") else _("The provider sent no sub claim."),
    )
    email = str(claims.get("email") or "").strip().lower()
    if not email or "@" not in email:
        report.add(
            "E-mail address",
            False,
            _(
                "No e-mail address in the %(claim)s claim. Choose the claim the provider carries the address in.",
                claim=email_claim,
            ),
        )
        return
    domain = email.rpartition("@")[2]
    if domain not in org.email_domains:
        report.add(
            "E-mail address",
            False,
            _(
                "%(email)s is not in %(organisation)s's e-mail domains (%(domains)s), so PAX would refuse this person.",
                email=email,
                organisation=org.name,
                domains=", ".join(org.email_domains) or _("none"),
            ),
        )
        return
    identity = db.session.scalar(
        sa.select(Identity).where(Identity.provider_id == provider.id, Identity.subject == str(claims.get("sub")))
    )
    account = db.session.scalar(sa.select(User).where(User.email == email))
    if identity is not None:
        outcome = _("this person's account is linked to the provider and would be signed in")
    elif account is not None and account.organisation_id == org.id:
        outcome = _(
            "an account with this address exists; its owner or the focal point would have to confirm the link first"
        )
    elif account is not None:
        outcome = _("an account with this address belongs to another organisation: it would be refused")
    else:
        outcome = _("a new account would wait for approval by the focal point or an administrator")
    report.add(
        "E-mail address",
        account is None or account.organisation_id == org.id,
        _("%(email)s belongs to %(organisation)s: %(outcome)s.", email=email, organisation=org.name, outcome=outcome),
    )
    if provider.mfa_exempt_when_asserted:
        asserted = mfa_asserted(claims)
        confirmed = provider.mfa_exemption_effective
        if asserted and confirmed:
            note = _("The provider asserts multi-factor sign-in; the exemption is confirmed.")
        elif asserted:
            note = _("The provider asserts multi-factor sign-in; the exemption is not yet confirmed by a focal point.")
        elif confirmed:
            note = _("The provider does not assert multi-factor sign-in (amr/acr); the exemption is confirmed.")
        else:
            note = _(
                "The provider does not assert multi-factor sign-in (amr/acr); the exemption is not yet confirmed "
                "by a focal point."
            )
        report.claims.append((_("second factor"), note))


def _finish_report(report: Report) -> Any:
    provider = report.provider
    if report.passed:
        record_test_success(provider, current_user)
    record(
        "admin.idp_test",
        actor=current_user,
        target=("identity_provider", provider.id),
        target_org=provider.organisation_id,
        outcome="ok" if report.passed else "error",
        failed=[c.name for c in report.checks if not c.ok],
    )
    return render_template("admin/provider_test.html", provider=provider, report=report)
