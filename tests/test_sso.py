"""Company SSO end to end against a real OpenID Connect provider process (npm oidc-provider)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from app.auth.models import Identity, IdentityProvider, User, UserStatus
from app.auth.sso import add_provider
from app.extensions import db
from tests.conftest import csrf_token_from
from tests.support.oidc import OidcProvider, TamperingProxy, complete_login, free_port
from tests.support.providers import ready

DOMAIN = "terminal-sso.example"


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcProvider]:
    provider = OidcProvider()
    provider.add_client("bootstrap", secrets.token_urlsafe(16), ["http://localhost/unused"])
    with provider:
        yield provider


@pytest.fixture(scope="module")
def mismatched_idp() -> Iterator[OidcProvider]:
    """Served at its origin but claiming another issuer in discovery and tokens."""
    provider = OidcProvider(issuer="{origin}/other")
    provider.add_client("bootstrap", secrets.token_urlsafe(16), ["http://localhost/unused"])
    with provider:
        yield provider


class Sso:
    """One organisation with its provider registered in PAX and as a client at the provider."""

    def __init__(self, make, oidc: OidcProvider, org_type: str = "terminal_operator", **provider_kwargs):  # type: ignore[no-untyped-def]
        self.oidc = oidc
        self.org = make.org(org_type, domain=DOMAIN)
        self.client_id = f"pax-{secrets.token_hex(4)}"
        self.client_secret = secrets.token_urlsafe(24)
        issuer = provider_kwargs.pop("issuer", oidc.issuer)
        self.provider = add_provider(
            self.org, "Terminal SSO", issuer, self.client_id, self.client_secret, **provider_kwargs
        )
        db.session.commit()
        ready(self.provider, confirm_mfa_exemption=True)  # tested and enabled, exemption confirmed by a focal point
        self.redirect_uri = f"http://localhost/login/sso/{self.provider.id}/callback"
        oidc.add_client(self.client_id, self.client_secret, [self.redirect_uri])

    def link(self, user, sub: str) -> None:  # type: ignore[no-untyped-def]
        """Link an existing account to the provider identity ``sub``, as its confirmed owner would."""
        db.session.add(Identity(user_id=user.id, provider_id=self.provider.id, subject=sub))
        db.session.commit()

    def account(self, email: str | None = None, **kwargs) -> str:  # type: ignore[no-untyped-def]
        sub = f"sub-{secrets.token_hex(6)}"
        self.oidc.add_account(sub, email or f"{sub}@{DOMAIN}", kwargs.pop("name", "Pia Terminal"), **kwargs)
        return sub


def start(client, email: str):  # type: ignore[no-untyped-def]
    """Home-realm discovery: the e-mail alone sends the browser to the provider."""
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert response.headers["Location"].startswith("/login/sso/")
    to_provider = client.get(response.headers["Location"])
    assert to_provider.status_code == 302, to_provider.get_data(as_text=True)[:300]
    return to_provider.headers["Location"]


def finish(client, callback_url: str):  # type: ignore[no-untyped-def]
    parts = urlsplit(callback_url)
    return client.get(f"{parts.path}?{parts.query}")


def sso_login(client, sso: Sso, sub: str, email: str | None = None):  # type: ignore[no-untyped-def]
    authorization_url = start(client, email or f"{sub}@{DOMAIN}")
    return finish(client, complete_login(authorization_url, sub))


def test_authorization_request_uses_pkce_state_and_nonce(client, make, idp):
    sso = Sso(make, idp)
    query = dict(p.split("=", 1) for p in urlsplit(start(client, f"x@{DOMAIN}")).query.split("&"))
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) >= 43
    assert query["state"] and query["nonce"]
    assert query["client_id"] == sso.client_id


def test_first_login_creates_a_pending_account_in_the_providers_organisation(client, make, idp, db_session):
    sso = Sso(make, idp)
    sub = sso.account(name="Pia Terminal")
    response = sso_login(client, sso, sub)
    assert response.headers["Location"] == "/login/pending"
    assert "awaiting approval" in client.get("/login/pending").get_data(as_text=True)
    user = db_session.scalar(sa.select(User).where(User.email == f"{sub}@{DOMAIN}"))
    assert user.status is UserStatus.PENDING
    assert user.organisation_id == sso.org.id
    assert user.password_hash is None
    assert client.get("/dashboard").status_code == 302


def test_approved_account_signs_in_through_sso(client, make, idp, db_session):
    sso = Sso(make, idp)
    sub = sso.account()
    sso_login(client, sso, sub)
    user = db_session.scalar(sa.select(User).where(User.email == f"{sub}@{DOMAIN}"))
    user.status = UserStatus.ACTIVE
    db_session.commit()
    response = sso_login(client, sso, sub)
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200
    identities = db_session.scalars(sa.select(Identity).where(Identity.user_id == user.id)).all()
    assert [(i.provider_id, i.subject) for i in identities] == [(sso.provider.id, sub)]


def test_linked_member_of_the_organisation_signs_in(client, make, idp):
    sso = Sso(make, idp)
    member = make.user(org=sso.org, email=f"known@{DOMAIN}", password=None)
    sub = sso.account(email=member.email)
    sso.link(member, sub)
    response = sso_login(client, sso, sub, email=member.email)
    assert response.headers["Location"] == "/dashboard"
    assert member.name in client.get("/dashboard").get_data(as_text=True)


def test_email_of_another_domain_is_refused(client, make, idp, db_session):
    sso = Sso(make, idp)
    sub = sso.account(email="someone@elsewhere.example")
    response = sso_login(client, sso, sub, email=f"typed@{DOMAIN}")
    assert response.status_code == 400
    assert "does not belong to" in response.get_data(as_text=True)
    assert db_session.scalar(sa.select(User).where(User.email == "someone@elsewhere.example")) is None


def test_account_of_another_organisation_is_never_taken_over(client, make, idp, db_session):
    """Even a domain-matching e-mail cannot open an account that lives in another organisation."""
    sso = Sso(make, idp)
    other = make.org("customs")
    victim = make.user(org=other, email=f"victim@{DOMAIN}")
    sub = sso.account(email=victim.email)
    response = sso_login(client, sso, sub, email=victim.email)
    assert response.status_code == 400
    assert "another organisation" in response.get_data(as_text=True)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Identity)) == 0
    assert client.get("/dashboard").status_code == 302


def test_wrong_issuer_is_refused(client, make, mismatched_idp):
    sso = Sso(make, mismatched_idp, issuer=mismatched_idp.base_url)
    sub = sso.account()
    response = sso_login(client, sso, sub)
    assert response.status_code == 400
    assert "could not verify" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_token_for_another_audience_is_refused(client, make, idp):
    with TamperingProxy(idp.base_url) as proxy:
        sso = Sso(make, idp, metadata_url=proxy.discovery_url)
        other_secret = secrets.token_urlsafe(16)
        idp.add_client("someone-else", other_secret, [sso.redirect_uri])
        proxy.swap_client(sso.client_id, "someone-else", to_secret=other_secret)
        sub = sso.account()
        response = sso_login(client, sso, sub)
    assert response.status_code == 400
    assert "could not verify" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_tampered_id_token_is_refused(client, make, idp, db_session):
    with TamperingProxy(idp.base_url) as proxy:
        sso = Sso(make, idp, metadata_url=proxy.discovery_url)
        proxy.corrupt_id_token = True
        sub = sso.account()
        response = sso_login(client, sso, sub)
    assert response.status_code == 400
    assert db_session.scalar(sa.select(sa.func.count()).select_from(User).where(User.email.like("sub-%"))) == 0


def test_replayed_state_is_refused(client, make, idp, app):
    sso = Sso(make, idp)
    member = make.user(org=sso.org, email=f"replay@{DOMAIN}", password=None)
    sub = sso.account(email=member.email)
    sso.link(member, sub)
    callback = complete_login(start(client, member.email), sub)
    assert finish(client, callback).headers["Location"] == "/dashboard"
    attacker = app.test_client()
    replay = finish(attacker, callback)
    assert replay.status_code == 400
    assert attacker.get("/dashboard").status_code == 302
    # The same browser cannot use the same answer twice either.
    token = csrf_token_from(client.get("/dashboard").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    assert finish(client, callback).status_code == 400


def test_provider_down_gives_a_clear_page(client, make):
    org = make.org("shipping_line", domain="down.example")
    ready(add_provider(org, "Down SSO", f"http://127.0.0.1:{free_port()}", "pax", "secret"))
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    to_start = client.post("/login", data={"email": "a@down.example", "csrf_token": token})
    response = client.get(to_start.headers["Location"])
    assert response.status_code == 502
    assert "cannot be reached" in response.get_data(as_text=True)


def test_law_enforcement_user_must_enrol_mfa_after_sso(client, make, idp):
    sso = Sso(make, idp, org_type="police")
    member = make.user(org=sso.org, email=f"officer@{DOMAIN}", password=None)
    sub = sso.account(email=member.email, amr=["pwd"])
    sso.link(member, sub)
    assert sso_login(client, sso, sub, email=member.email).headers["Location"] == "/login/mfa/setup"
    assert client.get("/dashboard").status_code == 302


def test_provider_mfa_assertion_is_honoured_when_the_provider_is_exempted(client, make, idp):
    sso = Sso(make, idp, org_type="police", mfa_exempt_when_asserted=True)
    member = make.user(org=sso.org, email=f"officer2@{DOMAIN}", password=None)
    sub = sso.account(email=member.email, amr=["pwd", "otp"], acr="urn:pax:mfa")
    sso.link(member, sub)
    assert sso_login(client, sso, sub, email=member.email).headers["Location"] == "/dashboard"


def test_provider_mfa_assertion_is_ignored_without_exemption(client, make, idp):
    sso = Sso(make, idp, org_type="police")
    member = make.user(org=sso.org, email=f"officer3@{DOMAIN}", password=None)
    sub = sso.account(email=member.email, amr=["pwd", "otp"])
    sso.link(member, sub)
    assert sso_login(client, sso, sub, email=member.email).headers["Location"] == "/login/mfa/setup"


def test_suspended_account_is_refused(client, make, idp):
    sso = Sso(make, idp)
    member = make.user(org=sso.org, email=f"gone@{DOMAIN}", password=None, status="suspended")
    sub = sso.account(email=member.email)
    sso.link(member, sub)
    response = sso_login(client, sso, sub, email=member.email)
    assert response.status_code == 403
    assert "suspended" in response.get_data(as_text=True)


def test_client_secret_is_sealed(make, idp, db_session):
    sso = Sso(make, idp)
    stored = db_session.scalar(
        sa.select(IdentityProvider.client_secret_sealed).where(IdentityProvider.id == sso.provider.id)
    )
    assert sso.client_secret not in stored
    from app.keys.sealed import unseal

    assert unseal(stored, f"idp-client-secret:{sso.provider.id}").decode() == sso.client_secret


def test_idp_add_command(runner, make, db_session):
    org = make.org("terminal_operator", domain="cli-sso.example")
    result = runner.invoke(
        args=[
            "idp",
            "add",
            "--org",
            org.name,
            "--issuer",
            "https://login.cli-sso.example",
            "--client-id",
            "pax-portal",
            "--client-secret-stdin",
        ],
        input="the-client-secret\n",
    )
    assert result.exit_code == 0, result.output
    assert "the-client-secret" not in result.output
    provider = db_session.scalar(sa.select(IdentityProvider).where(IdentityProvider.organisation_id == org.id))
    assert provider.client_id == "pax-portal"
    assert "the-client-secret" not in provider.client_secret_sealed
    bad = runner.invoke(
        args=["idp", "add", "--org", org.name, "--issuer", "ftp://x", "--client-id", "a", "--client-secret-stdin"],
        input="s\n",
    )
    assert bad.exit_code == 2 and "issuer URL" in bad.output


def test_an_sso_sign_in_beyond_the_session_limit_ends_the_oldest_session(app, make, idp):
    """The session limit holds whatever the way in: SSO sign-ins start sessions the same way."""
    app.config["MAX_SESSIONS_PER_ACCOUNT"] = 1
    sso = Sso(make, idp)
    member = make.user(org=sso.org, email=f"limit-{secrets.token_hex(3)}@{DOMAIN}", password=None)
    sub = sso.account(email=member.email)
    sso.link(member, sub)
    first, second = app.test_client(), app.test_client()
    assert sso_login(first, sso, sub, email=member.email).headers["Location"] == "/dashboard"
    assert sso_login(second, sso, sub, email=member.email).headers["Location"] == "/dashboard"
    assert "You were signed in on too many devices" in second.get("/dashboard").get_data(as_text=True)
    assert "you signed in elsewhere" in first.get("/dashboard", follow_redirects=True).get_data(as_text=True)
    assert first.get("/dashboard").status_code == 302
