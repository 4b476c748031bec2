"""Issue 16 parts 2 and 3: no account takeover through a provider, and a provider's life cycle.

Against the real oidc-provider process of ``tests/support/oidc.py`` in its default configuration.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from html import unescape

import pytest
import sqlalchemy as sa

from app.auth.models import Identity, IdentityLinkRequest, IdentityProvider, LinkRequestStatus, ProviderStatus
from app.auth.sso import add_provider, providers_for_email
from app.extensions import db
from app.notifications.models import OutboxMessage
from tests.conftest import csrf_token_from, sign_in
from tests.support.oidc import OidcProvider, complete_login, free_port
from tests.support.providers import ready
from tests.test_sso import DOMAIN, Sso, finish, sso_login


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcProvider]:
    provider = OidcProvider()
    provider.add_client("bootstrap", secrets.token_urlsafe(16), ["http://localhost/unused"])
    with provider:
        yield provider


def _post(client, url: str, data: dict | None = None, page: str = "/account/"):  # type: ignore[no-untyped-def]
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={**(data or {}), "csrf_token": token})


def _confirm_url(html: str) -> str:
    match = re.search(r'href="([^"]*)"[^>]*id="confirm-link"|id="confirm-link"[^>]*href="([^"]*)"', html)
    assert match, html[:2000]
    login_url = unescape(match.group(1) or match.group(2))
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(login_url).query)["next"][0]


# --- part 2: no takeover by e-mail alone ------------------------------------------------------------


def test_provider_cannot_claim_a_password_account_until_its_owner_confirms(client, make, idp, app, db_session):
    sso = Sso(make, idp)
    owner = make.user(org=sso.org, email=f"owner@{DOMAIN}")
    make.enrol_mfa(owner)
    sub = sso.account(email=owner.email)

    refused = sso_login(client, sso, sub, email=owner.email)
    assert refused.status_code == 403
    assert "needs to be linked first" in refused.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302  # nobody signed in
    link = db_session.scalar(sa.select(IdentityLinkRequest).where(IdentityLinkRequest.user_id == owner.id))
    assert link is not None and link.status is LinkRequestStatus.PENDING and link.subject == sub
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Identity)) == 0
    confirm_url = _confirm_url(refused.get_data(as_text=True))

    # The owner signs in with password and second factor, and must give both again to confirm.
    sign_in(client, make, owner)
    page = client.get(confirm_url)
    assert page.status_code == 200 and "Confirm only if that was you" in page.get_data(as_text=True)
    # A code beside a wrong password is neither judged nor spent: the refusal names only the
    # password (no oracle for codes), and a valid code sent so stays usable.
    recovery_code = make.mfa[owner.id][1].pop()  # this time step's TOTP code was spent at enrolment
    for code in ("000000", recovery_code):
        wrong = client.post(
            confirm_url,
            data={"password": "not-it", "code": code, "csrf_token": csrf_token_from(page.get_data(as_text=True))},
        )
        assert wrong.status_code == 422
        assert "password is incorrect" in wrong.get_data(as_text=True)
        assert "code is not valid" not in wrong.get_data(as_text=True)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Identity)) == 0
    done = client.post(
        confirm_url,
        data={
            "password": "correct horse battery staple",
            "code": recovery_code,
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        },
    )
    assert done.status_code == 302, done.get_data(as_text=True)[:800]
    db_session.refresh(link)
    assert link.status is LinkRequestStatus.CONFIRMED
    assert [(i.user_id, i.subject) for i in db_session.scalars(sa.select(Identity))] == [(owner.id, sub)]

    # The next SSO sign-in opens the account (through PAX's second factor: the account has one).
    other = app.test_client()
    response = sso_login(other, sso, sub, email=owner.email)
    assert response.headers["Location"] == "/login/mfa"


def test_another_users_browser_cannot_use_the_confirmation_address(client, make, idp, new_client):
    sso = Sso(make, idp)
    owner = make.user(org=sso.org, email=f"owner2@{DOMAIN}")
    sub = sso.account(email=owner.email)
    confirm_url = _confirm_url(sso_login(client, sso, sub, email=owner.email).get_data(as_text=True))
    colleague = make.user(org=sso.org, email=f"colleague@{DOMAIN}")
    assert new_client(colleague).get(confirm_url).status_code == 404


def test_focal_point_approves_a_link_and_an_sso_only_account_needs_it(client, make, idp, app, db_session):
    sso = Sso(make, idp)
    member = make.user(org=sso.org, email=f"sso-only@{DOMAIN}", password=None)
    focal = make.user(org=sso.org, focal_point=True)
    sub = sso.account(email=member.email)
    refused = sso_login(client, sso, sub, email=member.email)
    assert refused.status_code == 403
    assert "only your organisation's focal point can approve" in refused.get_data(as_text=True)
    link = db_session.scalar(sa.select(IdentityLinkRequest).where(IdentityLinkRequest.user_id == member.id))
    # The focal point is told by mail.
    assert (
        db_session.scalar(
            sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.user_id == focal.id)
        )
        >= 1
    )

    admin = make.user(role="admin", org_type="commission")
    admin_client = sign_in(app.test_client(), make, admin)
    page = admin_client.get("/admin/")  # any page with a CSRF token
    assert admin_client.post(
        f"/admin/link-requests/{link.id}/approve", data={"csrf_token": csrf_token_from(page.get_data(as_text=True))}
    ).status_code in (403, 404)  # an administrator alone cannot link

    focal_client = sign_in(app.test_client(), make, focal)
    listing = focal_client.get("/admin/sign-in").get_data(as_text=True)
    assert member.email in listing
    approved = focal_client.post(
        f"/admin/link-requests/{link.id}/approve", data={"csrf_token": csrf_token_from(listing)}
    )
    assert approved.status_code == 302
    db_session.refresh(link)
    assert link.status is LinkRequestStatus.APPROVED and link.decided_by_id == focal.id
    response = sso_login(app.test_client(), sso, sub, email=member.email)
    assert response.headers["Location"] == "/dashboard"


def test_amr_from_an_unconfirmed_exempt_provider_still_needs_pax_totp(client, make, idp, app, db_session):
    sso = Sso(make, idp, org_type="police", mfa_exempt_when_asserted=True)
    # Ready() confirmed the exemption; take it back to "requested by an administrator" only.
    sso.provider.mfa_exempt_confirmed_at = None
    db_session.commit()
    member = make.user(org=sso.org, email=f"officer-x@{DOMAIN}", password=None)
    # amr/acr come from the provider's login result, as a deployment that enforces a second
    # factor at the company (password + one-time code) reports them (RFC 8176 values).
    sub = sso.account(email=member.email, amr=["pwd", "otp"], acr="urn:pax:mfa")
    sso.link(member, sub)
    assert sso_login(client, sso, sub, email=member.email).headers["Location"] == "/login/mfa/setup"

    focal = make.user(org=sso.org, focal_point=True)
    focal_client = sign_in(app.test_client(), make, focal)
    page = focal_client.get("/admin/sign-in").get_data(as_text=True)
    assert "Confirm: rely on its multi-factor sign-in" in page
    confirmed = focal_client.post(
        f"/admin/identity-providers/{sso.provider.id}/confirm-mfa-exemption", data={"csrf_token": csrf_token_from(page)}
    )
    assert confirmed.status_code == 302
    assert sso_login(app.test_client(), sso, sub, email=member.email).headers["Location"] == "/dashboard"


def test_focal_points_are_told_by_mail_when_a_provider_is_added_or_changed(make, app, db_session):
    org = make.org("terminal_operator", domain="mail-idp.example")
    focal = make.user(org=org, focal_point=True)
    admin = make.user(role="admin", org_type="commission")
    admin_client = sign_in(app.test_client(), make, admin)
    page = admin_client.get("/admin/identity-providers").get_data(as_text=True)
    added = admin_client.post(
        "/admin/identity-providers",
        data={
            "csrf_token": csrf_token_from(page),
            "organisation_id": str(org.id),
            "name": "Mail SSO",
            "issuer": "https://login.mail-idp.example",
            "client_id": "pax",
            "client_secret": "very-secret-value",
            "email_claim": "email",
        },
    )
    assert added.status_code == 302, added.get_data(as_text=True)[:500]
    provider = db_session.scalar(sa.select(IdentityProvider).where(IdentityProvider.organisation_id == org.id))
    assert provider.status is ProviderStatus.TESTING
    mails = lambda: db_session.scalars(  # noqa: E731
        sa.select(OutboxMessage).where(OutboxMessage.user_id == focal.id).order_by(OutboxMessage.id)
    ).all()
    assert len(mails()) == 1 and "sign-in service was added" in mails()[0].subject
    url = f"/admin/identity-providers/{provider.id}"
    changed = admin_client.post(
        url,
        data={
            "csrf_token": csrf_token_from(admin_client.get(url).get_data(as_text=True)),
            "name": "Mail SSO",
            "issuer": "https://login2.mail-idp.example",
            "client_id": "pax",
            "client_secret": "another-secret-value",
            "email_claim": "email",
        },
    )
    assert changed.status_code == 302
    assert len(mails()) == 2 and "were changed" in mails()[1].subject
    assert all("secret-value" not in m.body for m in mails())
    from app.audit.models import AuditEvent

    event = db_session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "admin.idp_update"))
    assert "issuer" in str(event.details) and "client_secret" in str(event.details)
    assert "another-secret-value" not in str(event.details)


# --- part 3: life cycle --------------------------------------------------------------------------------


def test_a_provider_in_testing_is_not_offered_until_a_test_sign_in_passed(client, make, idp, app, db_session):
    org = make.org("terminal_operator", domain="lifecycle.example")
    client_id, client_secret = f"pax-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    provider = add_provider(org, "Lifecycle SSO", idp.issuer, client_id, client_secret)
    db_session.commit()
    idp.add_client(client_id, client_secret, [f"http://localhost/login/sso/{provider.id}/callback"])
    assert providers_for_email("someone@lifecycle.example") == []
    assert client.get(f"/login/sso/{provider.id}").status_code == 404

    admin = make.user(role="admin", org_type="commission")
    admin_client = sign_in(app.test_client(), make, admin)
    url = f"/admin/identity-providers/{provider.id}"
    page = admin_client.get(url).get_data(as_text=True)
    refused = admin_client.post(f"{url}/status", data={"status": "enabled", "csrf_token": csrf_token_from(page)})
    assert refused.status_code == 409 and "test sign-in that succeeds" in refused.get_data(as_text=True)

    sub = f"sub-{secrets.token_hex(6)}"
    idp.add_account(sub, f"{sub}@lifecycle.example", "Tess Tester", amr=["pwd"])
    to_provider = admin_client.post(f"{url}/test", data={"csrf_token": csrf_token_from(page)})
    assert to_provider.status_code == 302, to_provider.get_data(as_text=True)[:800]
    report = finish(admin_client, complete_login(to_provider.headers["Location"], sub))
    html = report.get_data(as_text=True)
    assert report.status_code == 200 and "The test sign-in worked" in html, html[:3000]
    for shown in ("Discovery document", "Signing keys", "Redirect URI", sub, f"{sub}@lifecycle.example", "Tess Tester"):
        assert shown in html
    # Nobody was signed in or created: the administrator is still themselves.
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Identity)) == 0
    from app.auth.models import User

    assert db_session.scalar(sa.select(User).where(User.email == f"{sub}@lifecycle.example")) is None
    db_session.refresh(provider)
    assert provider.last_test_ok_at is not None and provider.last_test_by_id == admin.id

    page = admin_client.get(url).get_data(as_text=True)
    enabled = admin_client.post(f"{url}/status", data={"status": "enabled", "csrf_token": csrf_token_from(page)})
    assert enabled.status_code == 302
    assert [p.id for p in providers_for_email("someone@lifecycle.example")] == [provider.id]


def test_a_failed_test_reports_what_failed(make, app, db_session):
    org = make.org("terminal_operator", domain="broken.example")
    provider = add_provider(org, "Broken SSO", f"http://127.0.0.1:{free_port()}", "pax", "secret")
    db_session.commit()
    admin = make.user(role="admin", org_type="commission")
    admin_client = sign_in(app.test_client(), make, admin)
    url = f"/admin/identity-providers/{provider.id}"
    page = admin_client.get(url).get_data(as_text=True)
    report = admin_client.post(f"{url}/test", data={"csrf_token": csrf_token_from(page)})
    assert report.status_code == 200
    assert "The test sign-in did not work" in report.get_data(as_text=True)
    db_session.refresh(provider)
    assert provider.last_test_ok_at is None


@pytest.mark.parametrize("allowed", [True, False])
def test_unreachable_provider_page_follows_the_organisations_fallback_policy(client, make, allowed):
    org = make.org("shipping_line", domain=f"down-{int(allowed)}.example")
    ready(add_provider(org, "Down SSO", f"http://127.0.0.1:{free_port()}", "pax", "secret"))
    org.password_fallback = allowed
    db.session.commit()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    to_start = client.post("/login", data={"email": f"a@down-{int(allowed)}.example", "csrf_token": token})
    response = client.get(to_start.headers["Location"])
    html = response.get_data(as_text=True)
    assert response.status_code == 502 and "cannot be reached" in html
    if allowed:
        assert "Sign in with your PAX password" in html
        step = client.get("/login?email=a%40down-1.example&password=1").get_data(as_text=True)
        assert 'name="password"' in step
    else:
        assert 'id="password-fallback"' not in html, html
        assert 'id="no-password-fallback"' in html


def test_fallback_refused_keeps_a_linked_account_off_passwords(client, make, idp, app):
    sso = Sso(make, idp)
    member = make.user(org=sso.org, email=f"linked@{DOMAIN}")
    sso.link(member, sso.account(email=member.email))
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    refused = client.post(
        "/login", data={"email": member.email, "password": "correct horse battery staple", "csrf_token": token}
    )
    assert refused.status_code == 422 and "does not allow PAX passwords" in refused.get_data(as_text=True)
    sso.org.password_fallback = True
    db.session.commit()
    allowed = client.post(
        "/login", data={"email": member.email, "password": "correct horse battery staple", "csrf_token": token}
    )
    assert allowed.status_code == 302
