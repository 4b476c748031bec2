"""The OIDC test provider itself (tests/oidc, tests/support/oidc.py), without PAX code.

A relying party is played by hand: authorization URL with PKCE S256, state and nonce, the login
robot, the token request, and ID token verification with authlib.jose against the provider's JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import authlib.deprecate  # noqa: F401 - installs authlib's own "always" filter first, overridden below
import pytest
import requests

with warnings.catch_warnings():  # authlib 1.x deprecates authlib.jose in favour of joserfc
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey, JsonWebToken
    from authlib.jose.errors import BadSignatureError, InvalidClaimError

from tests.support.oidc import (
    OidcProvider,
    OidcProviderError,
    TamperingProxy,
    complete_login,
    deny_login,
    free_port,
)

REDIRECT_URI = "http://localhost/auth/oidc/callback"
CLIENT_ID = "pax-test"
CLIENT_SECRET = "pax-test-secret"
OTHER_CLIENT_ID = "someone-else"
OTHER_CLIENT_SECRET = "someone-else-secret"
MFA_AMR = ["pwd", "otp"]
MFA_ACR = "urn:pax:test:mfa"


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcProvider]:
    provider = OidcProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[REDIRECT_URI])
    provider.add_client(OTHER_CLIENT_ID, OTHER_CLIENT_SECRET, [REDIRECT_URI])
    provider.add_account("ana-1", "ana@example.org", "Ana Example", amr=MFA_AMR, acr=MFA_ACR)
    provider.add_account("bob-2", "bob@example.org", "Bob Example")
    with provider:
        yield provider
        stderr = provider.stderr_text()
    assert "server_error" not in stderr and "interaction error" not in stderr, stderr


@pytest.fixture(scope="module")
def proxy(idp: OidcProvider) -> Iterator[TamperingProxy]:
    with TamperingProxy(idp.base_url) as tampering:
        yield tampering


@pytest.fixture
def clean_proxy(proxy: TamperingProxy) -> Iterator[TamperingProxy]:
    proxy.reset()
    yield proxy
    proxy.reset()


# --- a hand-made relying party -----------------------------------------------------------------


class Request:
    """One authorization request's secrets."""

    def __init__(self, metadata: dict[str, Any], client_id: str = CLIENT_ID, *, pkce: bool = True) -> None:
        self.metadata = metadata
        self.client_id = client_id
        self.state = secrets.token_urlsafe(16)
        self.nonce = secrets.token_urlsafe(16)
        self.verifier = secrets.token_urlsafe(48)
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid email profile",
            "state": self.state,
            "nonce": self.nonce,
        }
        if pkce:
            digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
            params["code_challenge"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
            params["code_challenge_method"] = "S256"
        self.url = f"{metadata['authorization_endpoint']}?{urlencode(params)}"


def callback_params(url: str) -> dict[str, str]:
    assert url.startswith(REDIRECT_URI + "?"), url
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def exchange(
    request: Request,
    code: str,
    *,
    secret: str = CLIENT_SECRET,
    method: str = "basic",
    verifier: str | None = None,
) -> requests.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier if verifier is not None else request.verifier,
    }
    auth = None
    if method == "basic":
        auth = (request.client_id, secret)
    else:
        data |= {"client_id": request.client_id, "client_secret": secret}
    return requests.post(request.metadata["token_endpoint"], data=data, auth=auth, timeout=10)


def verify_id_token(id_token: str, jwks_uri: str, *, issuer: str, audience: str, nonce: str) -> dict[str, Any]:
    keys = JsonWebKey.import_key_set(requests.get(jwks_uri, timeout=10).json())
    claims = JsonWebToken(["RS256"]).decode(
        id_token,
        keys,
        claims_options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": audience},
            "nonce": {"essential": True, "value": nonce},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
        },
    )
    claims.validate(leeway=5)
    return dict(claims)


def login_and_get_tokens(
    metadata: dict[str, Any], login: str, *, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET
) -> tuple[Request, dict[str, Any]]:
    request = Request(metadata, client_id)
    params = callback_params(complete_login(request.url, login))
    assert params["state"] == request.state
    response = exchange(request, params["code"], secret=secret)
    assert response.status_code == 200, response.text
    return request, response.json()


# --- the provider --------------------------------------------------------------------------------


def test_discovery_document(idp: OidcProvider) -> None:
    metadata = idp.metadata
    assert metadata["issuer"] == idp.issuer == idp.base_url
    assert idp.base_url.startswith("http://127.0.0.1:")
    assert metadata["authorization_endpoint"].startswith(idp.base_url)
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "RS256" in metadata["id_token_signing_alg_values_supported"]
    assert {"client_secret_basic", "client_secret_post"} <= set(metadata["token_endpoint_auth_methods_supported"])
    assert {"amr", "acr", "email", "name"} <= set(metadata["claims_supported"])
    assert idp.client_id == CLIENT_ID and idp.client_secret == CLIENT_SECRET
    keys = idp.jwks()["keys"]
    assert [key["alg"] for key in keys] == ["RS256"] and "d" not in keys[0]


def test_code_flow_with_pkce_yields_verified_id_token(idp: OidcProvider) -> None:
    request = Request(idp.metadata)
    callback = complete_login(request.url, "ana@example.org")
    params = callback_params(callback)
    assert params["state"] == request.state
    assert params["iss"] == idp.issuer
    assert params["code"]

    response = exchange(request, params["code"])
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"].lower() == "bearer"
    claims = verify_id_token(
        tokens["id_token"], idp.metadata["jwks_uri"], issuer=idp.issuer, audience=CLIENT_ID, nonce=request.nonce
    )
    assert claims["sub"] == "ana-1"
    # oidc-provider's default (conformIdTokenClaims): with an access token issued, the scope
    # claims are served at UserInfo, not in the ID token (OpenID Connect Core 5.4).
    assert "email" not in claims and "name" not in claims
    userinfo = requests.get(
        idp.metadata["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    ).json()
    assert userinfo["sub"] == "ana-1"
    assert userinfo["email"] == "ana@example.org"
    assert userinfo["email_verified"] is True
    assert userinfo["name"] == "Ana Example"
    assert claims["amr"] == MFA_AMR
    assert claims["acr"] == MFA_ACR

    # A code is single-use.
    assert exchange(request, params["code"]).json()["error"] == "invalid_grant"


def test_account_without_amr_gets_no_amr_and_login_by_sub_works(idp: OidcProvider) -> None:
    request, tokens = login_and_get_tokens(idp.metadata, "bob-2")
    claims = verify_id_token(
        tokens["id_token"], idp.metadata["jwks_uri"], issuer=idp.issuer, audience=CLIENT_ID, nonce=request.nonce
    )
    assert claims["sub"] == "bob-2"
    assert "amr" not in claims and "acr" not in claims


def test_client_secret_post_is_accepted(idp: OidcProvider) -> None:
    request = Request(idp.metadata)
    params = callback_params(complete_login(request.url, "bob@example.org"))
    response = exchange(request, params["code"], method="post")
    assert response.status_code == 200, response.text


def test_request_without_pkce_is_refused(idp: OidcProvider) -> None:
    request = Request(idp.metadata, pkce=False)
    params = callback_params(complete_login(request.url, "ana@example.org"))
    assert params["error"] == "invalid_request"
    assert "PKCE" in params["error_description"]
    assert params["state"] == request.state
    assert "code" not in params


def test_wrong_code_verifier_and_wrong_secret_are_refused(idp: OidcProvider) -> None:
    request = Request(idp.metadata)
    params = callback_params(complete_login(request.url, "ana@example.org"))
    assert exchange(request, params["code"], secret="wrong").json()["error"] == "invalid_client"
    request2 = Request(idp.metadata)
    params2 = callback_params(complete_login(request2.url, "ana@example.org"))
    assert exchange(request2, params2["code"], verifier=secrets.token_urlsafe(48)).json()["error"] == "invalid_grant"


def test_unknown_login_raises_and_cancel_returns_access_denied(idp: OidcProvider) -> None:
    with pytest.raises(OidcProviderError, match="unknown account"):
        complete_login(Request(idp.metadata).url, "nobody@example.org")
    request = Request(idp.metadata)
    params = callback_params(deny_login(request.url))
    assert params["error"] == "access_denied"
    assert params["state"] == request.state


def test_session_is_reused_when_the_same_requests_session_is_passed(idp: OidcProvider) -> None:
    browser = requests.Session()
    first = Request(idp.metadata)
    assert "code" in callback_params(complete_login(first.url, "ana@example.org", browser))
    second = Request(idp.metadata)
    # The provider remembers the login; the login name is not even looked at.
    params = callback_params(complete_login(second.url, "ignored", browser))
    assert params["state"] == second.state
    response = exchange(second, params["code"])
    claims = verify_id_token(
        response.json()["id_token"], idp.metadata["jwks_uri"], issuer=idp.issuer, audience=CLIENT_ID, nonce=second.nonce
    )
    assert claims["sub"] == "ana-1"


def test_accounts_and_clients_can_be_added_while_running(idp: OidcProvider) -> None:
    idp.add_client("late-client", "late-secret", [REDIRECT_URI], token_endpoint_auth_method="client_secret_post")
    idp.add_account("cleo-3", "cleo@example.org", "Cleo Late", amr=["hwk"])
    request, tokens = login_and_get_tokens(
        idp.metadata, "cleo@example.org", client_id="late-client", secret="late-secret"
    )
    claims = verify_id_token(
        tokens["id_token"], idp.metadata["jwks_uri"], issuer=idp.issuer, audience="late-client", nonce=request.nonce
    )
    assert claims["amr"] == ["hwk"]
    assert idp.client_id == CLIENT_ID


def test_invalid_client_is_refused_while_running(idp: OidcProvider) -> None:
    with pytest.raises(OidcProviderError, match="redirect_uris"):
        idp.add_client("broken", "secret", ["not a url"])


def test_provider_claiming_another_issuer() -> None:
    port = free_port()
    with OidcProvider(
        port=port, issuer="{origin}/other", client_id="c", client_secret="s", redirect_uris=[REDIRECT_URI]
    ) as odd:
        odd.add_account("u", "u@example.org", "U")
        assert odd.base_url == f"http://127.0.0.1:{port}"
        assert odd.issuer == f"http://127.0.0.1:{port}/other" == odd.metadata["issuer"]
        assert odd.metadata["authorization_endpoint"] == f"http://127.0.0.1:{port}/auth"
        request, tokens = login_and_get_tokens(odd.metadata, "u@example.org", client_id="c", secret="s")
        claims = verify_id_token(
            tokens["id_token"], odd.metadata["jwks_uri"], issuer=odd.issuer, audience="c", nonce=request.nonce
        )
        assert claims["iss"] != odd.base_url
    assert not odd.running


def test_missing_node_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tests.support.oidc.shutil.which", lambda name: None)
    with pytest.raises(RuntimeError, match="node is not installed"):
        OidcProvider().start()


# --- the tampering proxy -------------------------------------------------------------------------


def proxied_metadata(proxy: TamperingProxy) -> dict[str, Any]:
    response = requests.get(proxy.discovery_url, timeout=10)
    response.raise_for_status()
    return dict(response.json())


def test_proxy_rewrites_endpoints_but_not_issuer(idp: OidcProvider, clean_proxy: TamperingProxy) -> None:
    metadata = proxied_metadata(clean_proxy)
    assert metadata["issuer"] == idp.issuer
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        assert metadata[key].startswith(clean_proxy.url + "/"), key
    # Untampered, a flow through the proxy is a normal, valid login.
    request, tokens = login_and_get_tokens(metadata, "ana@example.org")
    claims = verify_id_token(
        tokens["id_token"], metadata["jwks_uri"], issuer=idp.issuer, audience=CLIENT_ID, nonce=request.nonce
    )
    assert claims["sub"] == "ana-1"
    assert ("POST", "/token") in clean_proxy.requests_seen


def test_proxy_client_swap_yields_token_for_another_audience(idp: OidcProvider, clean_proxy: TamperingProxy) -> None:
    clean_proxy.swap_client(CLIENT_ID, OTHER_CLIENT_ID, to_secret=OTHER_CLIENT_SECRET)
    metadata = proxied_metadata(clean_proxy)
    request, tokens = login_and_get_tokens(metadata, "ana@example.org")
    assert request.client_id == CLIENT_ID
    keys = JsonWebKey.import_key_set(idp.jwks())
    claims = JsonWebToken(["RS256"]).decode(tokens["id_token"], keys)  # the signature is valid
    assert claims["aud"] == OTHER_CLIENT_ID
    assert claims["iss"] == idp.issuer
    with pytest.raises(InvalidClaimError):
        verify_id_token(
            tokens["id_token"], metadata["jwks_uri"], issuer=idp.issuer, audience=CLIENT_ID, nonce=request.nonce
        )


def test_proxy_client_swap_with_client_secret_post(idp: OidcProvider, clean_proxy: TamperingProxy) -> None:
    clean_proxy.swap_client(CLIENT_ID, OTHER_CLIENT_ID, to_secret=OTHER_CLIENT_SECRET)
    metadata = proxied_metadata(clean_proxy)
    request = Request(metadata)
    params = callback_params(complete_login(request.url, "bob@example.org"))
    response = exchange(request, params["code"], method="post")
    assert response.status_code == 200, response.text
    claims = JsonWebToken(["RS256"]).decode(response.json()["id_token"], JsonWebKey.import_key_set(idp.jwks()))
    assert claims["aud"] == OTHER_CLIENT_ID


def test_proxy_corruption_breaks_the_signature(idp: OidcProvider, clean_proxy: TamperingProxy) -> None:
    clean_proxy.corrupt_id_token = True
    metadata = proxied_metadata(clean_proxy)
    request, tokens = login_and_get_tokens(metadata, "ana@example.org")
    with pytest.raises(BadSignatureError):
        verify_id_token(
            tokens["id_token"], metadata["jwks_uri"], issuer=idp.issuer, audience=CLIENT_ID, nonce=request.nonce
        )
    # Header and payload are untouched: only the signature gives the tampering away.
    _, payload, _ = tokens["id_token"].split(".")
    padded = payload + "=" * (-len(payload) % 4)
    assert b'"sub":"ana-1"' in base64.urlsafe_b64decode(padded)
