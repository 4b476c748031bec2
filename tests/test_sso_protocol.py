"""SSO against oidc-provider as company deployments run it, and the logout protocols.

Every provider here runs oidc-provider's default configuration (tests/oidc/provider.mjs says
what a deployment configures besides): ``conformIdTokenClaims`` at its default, so the ID token
carries ``sub`` only and ``email``/``name`` come from the UserInfo endpoint; PKCE required. The
variants are what real deployments have: claims in the ID token too, ES256 keys, a key rotated
between two sign-ins, no ``email`` claim (Entra ID's ``preferred_username``), a UserInfo answer
for another subject, and back-channel logout ending live sessions.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import ECKey

from app.auth.models import Identity, IdentityProvider, ProviderStatus, User, UserSession, UserStatus
from app.auth.sso import add_provider
from app.db import utcnow
from app.extensions import db
from tests.conftest import csrf_token_from
from tests.support.oidc import OidcProvider, TamperingProxy, complete_login, sign_out_at_provider

DOMAIN = "conformant-sso.example"
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def enable(provider: IdentityProvider) -> None:
    """As after an administrator's successful test sign-in (tests/test_provider_lifecycle.py)."""
    provider.status = ProviderStatus.ENABLED
    provider.last_test_ok_at = utcnow()
    db.session.commit()


class Company:
    """An organisation, its provider registered in PAX, and PAX registered as a client there."""

    def __init__(self, make, oidc: OidcProvider, *, metadata_url: str | None = None, **client_metadata: Any):  # type: ignore[no-untyped-def]
        self.oidc = oidc
        self.org = make.org("terminal_operator", domain=DOMAIN)
        self.client_id = f"pax-{secrets.token_hex(4)}"
        self.client_secret = secrets.token_urlsafe(24)
        self.provider = add_provider(
            self.org, "Company sign-in", oidc.issuer, self.client_id, self.client_secret, metadata_url=metadata_url
        )
        enable(self.provider)
        self.redirect_uri = f"http://localhost/login/sso/{self.provider.id}/callback"
        oidc.add_client(self.client_id, self.client_secret, [self.redirect_uri], **client_metadata)

    def member(self, make, name: str = "Pia Terminal", **account: Any) -> tuple[User, str]:  # type: ignore[no-untyped-def]
        """An active PAX account already linked to a new account at the provider."""
        sub = f"sub-{secrets.token_hex(6)}"
        email = f"{sub}@{DOMAIN}"
        user = make.user(org=self.org, email=email, password=None)
        db.session.add(Identity(user_id=user.id, provider_id=self.provider.id, subject=sub))
        db.session.commit()
        self.oidc.add_account(sub, email, name, **account)
        return user, sub


def start(client, email: str) -> str:  # type: ignore[no-untyped-def]
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    to_provider = client.get(response.headers["Location"])
    assert to_provider.status_code == 302, to_provider.get_data(as_text=True)[:300]
    return to_provider.headers["Location"]


def finish(client, callback_url: str):  # type: ignore[no-untyped-def]
    parts = urlsplit(callback_url)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client, email: str, login: str, browser: requests.Session | None = None):  # type: ignore[no-untyped-def]
    return finish(client, complete_login(start(client, email), login, browser))


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcProvider]:
    """oidc-provider as it comes: claims at UserInfo, RS256."""
    with OidcProvider() as provider:
        yield provider


# --- claims ---------------------------------------------------------------------------------------


def test_default_provider_gives_claims_at_userinfo_and_pax_reads_them(client, make, idp, db_session):
    with TamperingProxy(idp.base_url) as proxy:
        company = Company(make, idp, metadata_url=proxy.discovery_url)
        sub = f"sub-{secrets.token_hex(6)}"
        idp.add_account(sub, f"{sub}@{DOMAIN}", "Noor Userinfo")
        response = sign_in(client, f"{sub}@{DOMAIN}", sub)
        seen = list(proxy.requests_seen)
    assert response.headers["Location"] == "/login/pending", response.get_data(as_text=True)[:300]
    user = db_session.scalar(sa.select(User).where(User.email == f"{sub}@{DOMAIN}"))
    assert user is not None and user.name == "Noor Userinfo" and user.organisation_id == company.org.id
    # The ID token carried no address: only UserInfo, asked with the access token, could give it.
    assert ("GET", "/me") in seen


def test_default_id_token_really_lacks_the_email(idp):
    """Guards the fixture itself: were the provider configured to put email in the ID token,
    the test above would pass without PAX ever reading UserInfo."""
    client_id, secret = f"probe-{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    idp.add_client(client_id, secret, ["http://localhost/probe"])
    sub = f"sub-{secrets.token_hex(6)}"
    idp.add_account(sub, f"{sub}@{DOMAIN}", "Probe")
    verifier = secrets.token_urlsafe(48)
    import base64
    import hashlib

    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    authorize = requests.Request(
        "GET",
        idp.metadata["authorization_endpoint"],
        params={
            "client_id": client_id,
            "response_type": "code",
            "scope": "openid email profile",
            "redirect_uri": "http://localhost/probe",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "nonce": "n",
            "state": "s",
        },
    ).prepare()
    code = parse_qs(urlsplit(complete_login(authorize.url, sub)).query)["code"][0]
    tokens = requests.post(
        idp.metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://localhost/probe",
            "code_verifier": verifier,
        },
        auth=(client_id, secret),
        timeout=10,
    ).json()
    payload = json.loads(base64.urlsafe_b64decode(tokens["id_token"].split(".")[1] + "=="))
    assert payload["sub"] == sub and "email" not in payload and "name" not in payload


def test_claims_in_the_id_token_are_used_without_userinfo(client, make, db_session):
    with OidcProvider(id_token_claims=True) as provider, TamperingProxy(provider.base_url) as proxy:
        Company(make, provider, metadata_url=proxy.discovery_url)
        sub = f"sub-{secrets.token_hex(6)}"
        provider.add_account(sub, f"{sub}@{DOMAIN}", "Ida Token")
        response = sign_in(client, f"{sub}@{DOMAIN}", sub)
        seen = list(proxy.requests_seen)
    assert response.headers["Location"] == "/login/pending"
    assert db_session.scalar(sa.select(User.name).where(User.email == f"{sub}@{DOMAIN}")) == "Ida Token"
    assert ("GET", "/me") not in seen


def test_userinfo_for_another_subject_is_refused(client, make, idp, db_session):
    with TamperingProxy(idp.base_url) as proxy:
        Company(make, idp, metadata_url=proxy.discovery_url)
        proxy.userinfo_subject = "someone-else"
        sub = f"sub-{secrets.token_hex(6)}"
        idp.add_account(sub, f"{sub}@{DOMAIN}", "Mallory")
        response = sign_in(client, f"{sub}@{DOMAIN}", sub)
    assert response.status_code == 400
    assert "conflicting answers" in response.get_data(as_text=True)
    assert db_session.scalar(sa.select(User).where(User.email == f"{sub}@{DOMAIN}")) is None
    assert client.get("/dashboard").status_code == 302


def test_address_from_preferred_username_when_the_provider_sends_no_email(client, make, idp, db_session):
    company = Company(make, idp)
    sub = f"sub-{secrets.token_hex(6)}"
    address = f"entra.{sub}@{DOMAIN}"
    # An Entra ID-like account: no email claim, the address in preferred_username.
    idp.add_account(sub, None, "Eli Entra", extra_claims={"preferred_username": address})  # type: ignore[arg-type]

    refused = sign_in(client, address, sub)
    assert refused.status_code == 400
    assert "did not share your e-mail address" in refused.get_data(as_text=True)

    company.provider.email_claim = "preferred_username"
    db.session.commit()
    accepted = sign_in(client, address, sub)
    assert accepted.headers["Location"] == "/login/pending", accepted.get_data(as_text=True)[:300]
    assert db_session.scalar(sa.select(User.name).where(User.email == address)) == "Eli Entra"


# --- keys -----------------------------------------------------------------------------------------


def test_es256_id_tokens(client, make):
    with OidcProvider(signing_alg="ES256") as provider:
        assert "ES256" in provider.metadata["id_token_signing_alg_values_supported"]
        company = Company(make, provider)
        user, sub = company.member(make)
        response = sign_in(client, user.email, sub)
    assert response.headers["Location"] == "/dashboard", response.get_data(as_text=True)[:300]
    assert client.get("/dashboard").status_code == 200


def test_key_rotated_between_two_sign_ins(app, make):
    with OidcProvider() as provider:
        company = Company(make, provider)
        user, sub = company.member(make)
        first = app.test_client()
        assert sign_in(first, user.email, sub).headers["Location"] == "/dashboard"
        old_kid = provider.jwks()["keys"][0]["kid"]
        new_kid = provider.rotate_keys()
        assert new_kid != old_kid and [k["kid"] for k in provider.jwks()["keys"]] == [new_kid]
        second = app.test_client()
        response = sign_in(second, user.email, sub)
    # PAX had the old key cached; the unknown key id made it fetch the provider's keys again.
    assert response.headers["Location"] == "/dashboard", response.get_data(as_text=True)[:300]


# --- back-channel logout --------------------------------------------------------------------------


class LogoutCatcher:
    """Stands where the provider posts back-channel logout tokens, and keeps them."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                catcher.tokens += parse_qs(body).get("logout_token", [])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/backchannel"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def catcher() -> Iterator[LogoutCatcher]:
    catching = LogoutCatcher()
    yield catching
    catching.close()


def logout_post(client, provider: IdentityProvider, token: str):  # type: ignore[no-untyped-def]
    return client.post(f"/login/sso/{provider.id}/backchannel-logout", data={"logout_token": token})


def test_backchannel_logout_ends_the_session_and_a_replay_is_refused(client, make, idp, catcher, db_session):
    company = Company(make, idp, backchannel_logout_uri=catcher.url, backchannel_logout_session_required=True)
    user, sub = company.member(make)
    browser = requests.Session()  # the person's browser at the provider
    assert sign_in(client, user.email, sub, browser).headers["Location"] == "/dashboard"
    row = db_session.scalar(sa.select(UserSession).where(UserSession.user_id == user.id))
    assert row.identity_provider_id == company.provider.id and row.sso_subject == sub and row.sso_sid

    sign_out_at_provider(idp.base_url, company.client_id, browser)
    assert len(catcher.tokens) == 1
    answer = logout_post(app_client := client.application.test_client(), company.provider, catcher.tokens[0])
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert client.get("/dashboard").status_code == 302  # that browser's PAX session is over

    replay = logout_post(app_client, company.provider, catcher.tokens[0])
    assert replay.status_code == 400 and replay.json["error"] == "invalid_request"


def test_logout_token_of_one_provider_is_refused_by_another(client, make, idp, catcher):
    company = Company(make, idp, backchannel_logout_uri=catcher.url)
    user, sub = company.member(make)
    browser = requests.Session()
    assert sign_in(client, user.email, sub, browser).headers["Location"] == "/dashboard"
    other_org = make.org("shipping_line", domain="other-line.example")
    other = add_provider(other_org, "Other", idp.issuer, "someone-else", "secret")
    enable(other)
    sign_out_at_provider(idp.base_url, company.client_id, browser)
    assert logout_post(client, other, catcher.tokens[0]).status_code == 400  # audience is not its client
    assert client.get("/dashboard").status_code == 200


class Issuer:
    """A provider of our own making, for logout tokens a conformant provider would never send:
    its discovery document and JWKS are served on loopback, and it signs with its own key."""

    def __init__(self) -> None:
        self.key = ECKey.generate_key("P-256", parameters={"kid": "k1", "alg": "ES256", "use": "sig"})
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.endswith("/.well-known/openid-configuration"):
                    body = {
                        "issuer": issuer.url,
                        "authorization_endpoint": issuer.url + "/auth",
                        "token_endpoint": issuer.url + "/token",
                        "jwks_uri": issuer.url + "/jwks",
                        "id_token_signing_alg_values_supported": ["ES256"],
                    }
                else:
                    body = {"keys": [issuer.key.as_dict(private=False)]}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": self.url,
            "aud": "pax",
            "iat": now,
            "jti": secrets.token_hex(8),
            "sub": "s1",
            "events": {BACKCHANNEL_EVENT: {}},
            **claims,
        }
        return jwt.encode(
            {"alg": "ES256", "kid": "k1", "typ": "logout+jwt"},
            {k: v for k, v in payload.items() if v is not None},
            self.key,
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    ("why", "claims"),
    [
        ("nonce present", {"nonce": "n"}),
        ("no events claim", {"events": None}),
        ("another event", {"events": {"http://schemas.openid.net/event/other": {}}}),
        ("another audience", {"aud": "someone-else"}),
        ("another issuer", {"iss": "https://elsewhere.example"}),
        ("issued long ago", {"iat": int(time.time()) - 3600}),
        ("issued in the future", {"iat": int(time.time()) + 3600}),
        ("no jti", {"jti": None}),
        ("neither sub nor sid", {"sub": None}),
    ],
)
def test_malformed_logout_tokens_are_refused(client, make, why, claims, db_session):
    issuer = Issuer()
    try:
        org = make.org("terminal_operator", domain=f"{secrets.token_hex(3)}.example")
        provider = add_provider(org, "Own", issuer.url, "pax", "secret")
        enable(provider)
        user = make.user(org=org, password=None)
        session_row = UserSession(
            user_id=user.id,
            token_hash=secrets.token_hex(32),
            expires_at=utcnow().replace(year=utcnow().year + 1),
            auth_method=f"sso:{provider.id}",
            identity_provider_id=provider.id,
            sso_subject="s1",
        )
        db.session.add(session_row)
        db.session.commit()
        assert logout_post(client, provider, issuer.token(**claims)).status_code == 400, why
        assert db_session.get(UserSession, session_row.id).revoked_at is None
        # The same checks pass a well-formed token, which ends the session.
        assert logout_post(client, provider, issuer.token()).status_code == 200
        db_session.expire_all()
        assert db_session.get(UserSession, session_row.id).revoked_at is not None
    finally:
        issuer.close()


def test_unsigned_logout_token_is_refused(client, make):
    issuer = Issuer()
    try:
        org = make.org("terminal_operator", domain=f"{secrets.token_hex(3)}.example")
        provider = add_provider(org, "Own", issuer.url, "pax", "secret")
        enable(provider)
        signed = issuer.token()
        header, payload, _ = signed.split(".")
        import base64

        none_header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
        assert logout_post(client, provider, f"{none_header}.{payload}.").status_code == 400
        assert logout_post(client, provider, f"{header}.{payload}.AAAA").status_code == 400
        assert logout_post(client, provider, "").status_code == 400
    finally:
        issuer.close()


# --- RP-initiated logout --------------------------------------------------------------------------


def test_signing_out_of_pax_ends_the_provider_session_too(client, make, idp, catcher):
    company = Company(make, idp, post_logout_redirect_uris=["http://localhost/"], backchannel_logout_uri=catcher.url)
    user, sub = company.member(make)
    browser = requests.Session()
    assert sign_in(client, user.email, sub, browser).headers["Location"] == "/dashboard"
    token = csrf_token_from(client.get("/dashboard").get_data(as_text=True))
    page = client.post("/logout", data={"csrf_token": token})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "You have signed out of PAX" in html
    end_session = idp.metadata["end_session_endpoint"]
    assert f'content="2;url={end_session}?' in html.replace("&amp;", "&")
    assert client.get("/dashboard").status_code == 302

    # The browser follows the page to the provider, which asks and then ends its own session.
    url = html.replace("&amp;", "&").split('content="2;url=', 1)[1].split('"', 1)[0]
    query = parse_qs(urlsplit(url).query)
    assert query["client_id"] == [company.client_id] and query["post_logout_redirect_uri"] == ["http://localhost/"]
    confirm_page = browser.get(url, timeout=10)
    assert confirm_page.status_code == 200 and "op.logoutForm" in confirm_page.text
    done = sign_out_at_provider(idp.base_url, company.client_id, browser)
    assert done.status_code in (302, 303)
    # The provider's session is gone: a new sign-in asks for the login again.
    again = start(client, user.email)
    assert "login-form" in browser.get(again, timeout=10).text


def test_password_sessions_sign_out_without_a_provider(client, make):
    member = make.user()
    from tests.conftest import login

    login(client, member.email)
    token = csrf_token_from(client.get("/dashboard").get_data(as_text=True))
    answer = client.post("/logout", data={"csrf_token": token})
    assert answer.status_code == 302 and answer.headers["Location"] == "/"


def test_unknown_provider_backchannel_is_404(client):
    assert client.post("/login/sso/999999/backchannel-logout", data={"logout_token": "x"}).status_code == 404


def test_session_sso_columns_are_empty_for_password_sign_ins(client, make, db_session):
    member = make.user()
    from tests.conftest import login

    login(client, member.email)
    row = db_session.scalar(sa.select(UserSession).where(UserSession.user_id == member.id))
    assert row.identity_provider_id is None and row.sso_subject is None and row.sso_sid is None
    assert member.status is UserStatus.ACTIVE


# --- two app servers ------------------------------------------------------------------------------


@pytest.mark.slow
def test_backchannel_logout_ends_a_live_session_on_two_app_servers(tmp_path, idp, capsys):
    """A company offboards an employee: signing them out at the provider ends their PAX session on
    every app server, since sessions live in the shared database. Prints how long it took."""
    from app import create_app
    from tests.conftest import Factory, make_config
    from tests.support import databases
    from tests.support import gunicorn as gunicorn_support

    secret_key = secrets.token_urlsafe(40)
    client_id, client_secret = f"pax-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    sub = f"sub-{secrets.token_hex(6)}"
    with databases.fresh_database(tmp_path, "bcl") as url:
        databases.upgrade(url)
        seeder = create_app(make_config(tmp_path, url, SECRET_KEY=secret_key))
        with seeder.app_context():
            org = Factory().org("terminal_operator", domain=DOMAIN)
            provider = add_provider(org, "Company sign-in", idp.issuer, client_id, client_secret)
            enable(provider)
            user = Factory().user(org=org, email=f"{sub}@{DOMAIN}", password=None)
            db.session.add(Identity(user_id=user.id, provider_id=provider.id, subject=sub))
            db.session.commit()
            provider_id, email = provider.id, user.email
            db.session.remove()
        db.engine.dispose()
        env = gunicorn_support.portal_env(tmp_path, url, secret_key)
        with gunicorn_support.running(["one", "two"], env, tmp_path) as (one, two):
            idp.add_client(
                client_id,
                client_secret,
                [f"{one.url}/login/sso/{provider_id}/callback"],
                backchannel_logout_uri=f"{one.url}/login/sso/{provider_id}/backchannel-logout",
            )
            idp.add_account(sub, email, "Olav Offboarded")
            pax = requests.Session()  # cookies for 127.0.0.1 reach both servers, as behind a balancer
            at_provider = requests.Session()
            page = pax.get(one.url + "/login", timeout=10)
            to_sso = pax.post(
                one.url + "/login",
                data={"email": email, "csrf_token": csrf_token_from(page.text)},
                allow_redirects=False,
                timeout=10,
            )
            to_provider = pax.get(one.url + to_sso.headers["Location"], allow_redirects=False, timeout=10)
            callback = complete_login(to_provider.headers["Location"], sub, at_provider)
            assert pax.get(callback, allow_redirects=False, timeout=10).headers["Location"] == "/dashboard"
            assert pax.get(two.url + "/account/", allow_redirects=False, timeout=10).status_code == 200

            started = time.monotonic()
            sign_out_at_provider(idp.base_url, client_id, at_provider)
            dead_after = None
            while time.monotonic() - started < 10:
                if pax.get(two.url + "/account/", allow_redirects=False, timeout=10).status_code == 302:
                    dead_after = time.monotonic() - started
                    break
                time.sleep(0.01)
            assert dead_after is not None, one.log_tail()
            assert pax.get(one.url + "/account/", allow_redirects=False, timeout=10).status_code == 302
    with capsys.disabled():
        print(
            f"\nback-channel logout: session dead on the second app server {dead_after * 1000:.0f} ms "
            "after the provider's sign-out began"
        )


def test_invited_colleagues_first_sso_sign_in_needs_no_approval(client, make, idp, db_session):
    from app.auth.invitations import invite

    company = Company(make, idp)
    focal = make.user(org=company.org, focal_point=True)
    sub = f"sub-{secrets.token_hex(6)}"
    address = f"{sub}@{DOMAIN}"
    invite(focal, company.org, address, "Ivo Invited")
    db.session.commit()
    idp.add_account(sub, address, "Ivo Invited")
    response = sign_in(client, address, sub)
    assert response.headers["Location"] == "/dashboard", response.get_data(as_text=True)[:300]
    assert db_session.scalar(sa.select(User.status).where(User.email == address)) is UserStatus.ACTIVE
    # Not invited: the first sign-in still waits for approval.
    other = f"sub-{secrets.token_hex(6)}"
    idp.add_account(other, f"{other}@{DOMAIN}", "Una Uninvited")
    assert (
        sign_in(app_client := client.application.test_client(), f"{other}@{DOMAIN}", other).headers["Location"]
        == "/login/pending"
    )
    assert app_client.get("/dashboard").status_code == 302
