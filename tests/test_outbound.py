"""The outbound guard (``app.outbound``): administrator-entered addresses never reach PAX's own network.

Real HTTP servers on loopback stand in for the outside world. The guard's allow-list is set to
exactly ``127.0.0.2/32`` (Linux routes all of 127/8 to the loopback interface), where the
"provider" listens; a second server on ``127.0.0.1`` plays the portal's own network (a database,
an admin interface). A redirect, a discovery document or a token endpoint that points there must
be refused without that server ever being contacted: it counts every request it gets.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import IdentityProvider
from app.auth.sso import add_provider, update_provider
from app.extensions import db
from app.outbound import OutboundPolicy, OutboundRefused, check_url, forbidden_kind, get_json, guard, parse_networks
from app.validation import ValidationError
from tests.conftest import csrf_token_from, sign_in
from tests.support.providers import ready

LIMIT = 64 * 1024


class Server:
    """A tiny HTTP server on ``host``: ``routes`` maps a path to a function answering
    ``(status, headers, body)``; ``hits`` lists the paths asked for."""

    def __init__(self, host: str, tls: tuple[Path, Path] | None = None) -> None:
        self.routes: dict[str, Callable[[], tuple[int, dict[str, str], bytes]]] = {}
        self.hits: list[str] = []
        self.hosts: list[str | None] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                path = urlsplit(self.path).path
                owner.hits.append(path)
                owner.hosts.append(self.headers.get("Host"))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                route = owner.routes.get(path)
                status, headers, body = route() if route else (404, {}, b"not here")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in headers:
                    self.send_header("Connection", "close")  # the body ends when the connection does
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

            do_GET = _answer
            do_POST = _answer

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.base = f"{'https' if tls else 'http'}://{host}:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def json(self, path: str, document: dict[str, Any]) -> str:
        body = json.dumps(document).encode()
        self.routes[path] = lambda: (200, {"Content-Type": "application/json", "Content-Length": str(len(body))}, body)
        return self.base + path

    def redirect(self, path: str, target: str) -> str:
        self.routes[path] = lambda: (302, {"Location": target, "Content-Length": "0"}, b"")
        return self.base + path

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def outside() -> Iterator[Server]:
    """The provider's side: the only address the guard is told to allow."""
    server = Server("127.0.0.2")
    yield server
    server.close()


@pytest.fixture(scope="module")
def inside() -> Iterator[Server]:
    """PAX's own network: nothing may ever reach it."""
    server = Server("127.0.0.1")
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _clean(outside: Server, inside: Server) -> Iterator[None]:
    outside.routes.clear()
    outside.hits.clear()
    inside.routes.clear()
    inside.hits.clear()
    yield
    assert inside.hits == [], "the portal's own network was contacted"


def policy(**changes: Any) -> OutboundPolicy:
    settings: dict[str, Any] = {
        "allow_http": True,
        "allowed_networks": parse_networks("127.0.0.2/32"),
        "timeout": 5.0,
        "max_bytes": LIMIT,
        "max_redirects": 3,
    }
    settings.update(changes)
    return OutboundPolicy(**settings)


@pytest.fixture
def guarded(app: Any) -> Any:
    """The app's guard allows exactly the outside server's address, as in ``policy()``."""
    app.config.update(OUTBOUND_ALLOW_NETWORKS="127.0.0.2/32", OUTBOUND_ALLOW_HTTP=True, OUTBOUND_MAX_BYTES=LIMIT)
    return app


# --- which addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.169.254", "link_local"),  # cloud metadata service
        ("fe80::1", "link_local"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),  # carrier-grade NAT, shared address space
        ("fd00::1", "private"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
        ("::ffff:169.254.169.254", "link_local"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:a9fe:a9fe::", "link_local"),  # 6to4 wrapping 169.254.169.254
        ("64:ff9b::a00:1", "private"),  # NAT64 wrapping 10.0.0.1
        ("0.0.0.0", "unspecified"),  # noqa: S104 (an address refused, not one bound)
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("192.0.2.10", "reserved"),  # documentation
        ("8.8.8.8", None),
        ("2a00:1450:4001::1", None),
    ],
)
def test_forbidden_addresses(address, kind):
    assert forbidden_kind(ipaddress.ip_address(address), policy(allowed_networks=())) == kind


def test_the_allow_list_opens_exactly_its_networks():
    allowed = policy()
    assert forbidden_kind(ipaddress.ip_address("127.0.0.2"), allowed) is None
    assert forbidden_kind(ipaddress.ip_address("::ffff:127.0.0.2"), allowed) is None
    assert forbidden_kind(ipaddress.ip_address("127.0.0.1"), allowed) == "loopback"
    assert (
        forbidden_kind(ipaddress.ip_address("10.0.0.1"), policy(allowed_networks=parse_networks("10.0.0.0/8"))) is None
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://10.0.0.1/.well-known/openid-configuration",
        "http://[::1]:8080/jwks",
        "http://[::ffff:169.254.169.254]/",
        "http://0x7f000001/",  # 127.0.0.1 written as one number
    ],
)
def test_literal_addresses_are_refused_without_connecting(url):
    # The conftest's loopback guard would raise RuntimeError for a connection to 169.254/10/...:
    # the refusal comes first.
    with pytest.raises(OutboundRefused) as refused:
        get_json(url, policy())
    assert "which PAX does not contact" in refused.value.message


def test_a_name_resolving_to_loopback_is_refused(outside):
    port = urlsplit(outside.base).port
    with pytest.raises(OutboundRefused, match="loopback"):
        get_json(f"http://localhost:{port}/anything", policy())
    with pytest.raises(OutboundRefused, match="loopback"):
        check_url(f"https://localhost:{port}/", policy())


def test_a_name_is_refused_when_any_of_its_addresses_is(outside, monkeypatch):
    real = socket.getaddrinfo

    def mixed(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "mixed.example":
            return real("127.0.0.2", *args, **kwargs) + real("10.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", mixed)
    outside.json("/x", {"ok": True})
    with pytest.raises(OutboundRefused, match="private network"):
        get_json(f"http://mixed.example:{urlsplit(outside.base).port}/x", policy())
    assert outside.hits == []


def test_dns_rebinding_gains_nothing(outside, inside, monkeypatch):
    """A name answering an allowed address to the check and a forbidden one to the connection:
    PAX resolves once per connection and connects to the address it checked."""
    real = socket.getaddrinfo
    answers = iter(["127.0.0.2", "127.0.0.1", "127.0.0.1"])

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.example":
            return real(next(answers), *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = urlsplit(outside.base).port
    outside.json("/doc", {"from": "outside"})
    inside.json("/doc", {"from": "inside"})
    assert get_json(f"http://rebind.example:{port}/doc", policy()) == {"from": "outside"}
    with pytest.raises(OutboundRefused, match="loopback"):  # the next connection's answer is checked too
        get_json(f"http://rebind.example:{port}/doc", policy())


def _certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for the DNS name ``name`` only (no IP address in it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_https_connects_to_the_checked_address_and_still_names_the_host(tmp_path, monkeypatch, outside):
    """The connection goes to the address that was checked, yet TLS (SNI, certificate check) and
    ``Host`` name the host: the certificate names idp.test only, so the same server reached by its
    address fails the check."""
    cert, key = _certificate(tmp_path, "idp.test")
    server = Server("127.0.0.2", tls=(cert, key))
    real = socket.getaddrinfo

    def idp_test(host: str, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.2" if host == "idp.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", idp_test)
    port = urlsplit(server.base).port
    try:
        server.json("/doc", {"tls": True})
        with guard(requests.Session(), policy(allow_http=False)) as session:
            session.verify = str(cert)
            assert session.get(f"https://idp.test:{port}/doc").json() == {"tls": True}
            with pytest.raises(requests.exceptions.SSLError):
                session.get(f"https://127.0.0.2:{port}/doc")
            server.redirect("/down", outside.json("/doc", {"tls": False}))  # a downgrade to plain http
            with pytest.raises(OutboundRefused, match="https://"):
                session.get(f"https://idp.test:{port}/down")
        assert server.hosts == [f"idp.test:{port}", f"idp.test:{port}"]
        assert outside.hits == []
    finally:
        server.close()


# --- scheme, redirects, size ---------------------------------------------------------------------------


def test_plain_http_is_refused_unless_allowed(outside):
    url = outside.json("/doc", {"ok": True})
    with pytest.raises(OutboundRefused, match="https://"):
        get_json(url, policy(allow_http=False))
    assert outside.hits == []
    assert get_json(url, policy()) == {"ok": True}


def test_a_redirect_to_the_portals_network_is_refused(outside, inside):
    inside.json("/secret", {"inside": True})
    url = outside.redirect("/moved", inside.base + "/secret")
    with pytest.raises(OutboundRefused, match=r"127\.0\.0\.1 is a loopback address"):
        get_json(url, policy())
    assert outside.hits == ["/moved"]


def test_a_redirect_to_the_metadata_service_is_refused(outside):
    url = outside.redirect("/moved", "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(OutboundRefused, match="link-local"):
        get_json(url, policy())


def test_redirects_are_bounded(outside):
    outside.json("/end", {"ok": True})
    for hop in range(1, 5):
        outside.redirect(f"/hop{hop}", outside.base + (f"/hop{hop - 1}" if hop > 1 else "/end"))
    assert get_json(outside.base + "/hop3", policy()) == {"ok": True}  # three redirects: followed
    with pytest.raises(requests.TooManyRedirects):
        get_json(outside.base + "/hop4", policy())


@pytest.mark.parametrize("declared", [True, False])
def test_answers_beyond_the_size_limit_are_abandoned(outside, declared):
    body = b'{"keys": "' + b"x" * (LIMIT + 10) + b'"}'
    headers = {"Content-Length": str(len(body))} if declared else {}  # without it: read until the limit
    outside.routes["/big"] = lambda: (200, headers, body)
    with pytest.raises(OutboundRefused, match="larger than"):
        get_json(outside.base + "/big", policy())


def test_a_silent_server_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.2", 0))
    listener.listen(1)  # accepts the connection, never answers
    try:
        with pytest.raises(requests.Timeout):
            get_json(f"http://127.0.0.2:{listener.getsockname()[1]}/", policy(timeout=1.0))
    finally:
        listener.close()


def test_production_allows_only_https(monkeypatch, tmp_path):
    from config import ConfigError, ProductionConfig

    keys = tmp_path / "keys.json"
    keys.write_text("{}")
    for name, value in {"PAX_SECRET_KEY": "s" * 40, "PAX_KEYS_FILE": str(keys), "PAX_DEBUG": "0"}.items():
        monkeypatch.setenv(name, value)
    config = ProductionConfig()
    config.check()
    production = OutboundPolicy.from_config(vars(config))
    assert not production.allow_http and production.allowed_networks == ()
    with pytest.raises(OutboundRefused, match="https://"):
        check_url("http://login.example.org/.well-known/openid-configuration", production)
    with pytest.raises(OutboundRefused, match="loopback"):
        check_url("https://127.0.0.1/", production)
    monkeypatch.setenv("PAX_OUTBOUND_ALLOW_HTTP", "1")
    with pytest.raises(ConfigError, match="PAX_OUTBOUND_ALLOW_HTTP"):
        ProductionConfig().check()
    monkeypatch.setenv("PAX_OUTBOUND_ALLOW_HTTP", "0")
    monkeypatch.setenv("PAX_OUTBOUND_ALLOW_NETWORKS", "10.20.0.0/16, not-a-network")
    with pytest.raises(ConfigError, match="PAX_OUTBOUND_ALLOW_NETWORKS"):
        ProductionConfig().check()


# --- through the portal: save, test connection, sign-in, logout -----------------------------------------


def _provider(make: Any, issuer: str, metadata_url: str | None = None) -> IdentityProvider:
    """A provider saved before the rule existed (or whose addresses changed since): straight to
    the database, past the save-time check."""
    org = make.org("terminal_operator", domain=f"ssrf{make._next()}.example")
    provider = add_provider(org, "Guarded SSO", "https://login.example.org", "pax", "secret")
    provider.issuer, provider.metadata_url = issuer, metadata_url
    db.session.commit()
    return provider


@pytest.mark.parametrize(
    ("field", "url", "words"),
    [
        ("issuer", "http://169.254.169.254/", "link-local address"),
        ("issuer", "http://10.0.0.1/realms/pax", "private network"),
        ("issuer", "http://[::1]:8080/", "loopback address"),
        ("issuer", "http://localhost:8080/", "loopback address"),
        ("metadata_url", "http://10.0.0.1/.well-known/openid-configuration", "private network"),
        ("metadata_url", "https://[fd00::5]/.well-known/openid-configuration", "private network"),
    ],
)
def test_saving_a_provider_refuses_addresses_on_the_portals_network(guarded, make, field, url, words):
    org = make.org("terminal_operator", domain="save-check.example")
    settings = {"issuer": "https://login.example.org", "metadata_url": None, field: url}
    with pytest.raises(ValidationError) as refused:
        add_provider(org, "SSO", settings["issuer"], "pax", "secret", metadata_url=settings["metadata_url"])
    assert words in refused.value.fields[field] and "which PAX does not contact" in refused.value.fields[field]
    provider = add_provider(org, "SSO", "https://login.example.org", "pax", "secret")
    with pytest.raises(ValidationError):
        update_provider(provider, name="SSO", client_id="pax", mfa_exempt_when_asserted=False, **settings)


def test_saving_refuses_http_when_only_https_is_allowed(guarded, make):
    guarded.config["OUTBOUND_ALLOW_HTTP"] = False
    org = make.org("terminal_operator", domain="https-only.example")
    with pytest.raises(ValidationError) as refused:
        add_provider(org, "SSO", "http://login.example.org", "pax", "secret")
    assert refused.value.fields["issuer"] == "The address must start with https://."


def test_the_admin_form_shows_the_refusal(guarded, make, app):
    org = make.org("terminal_operator", domain="form-check.example")
    admin = make.user(role="admin", org_type="commission")
    admin_client = sign_in(app.test_client(), make, admin)
    page = admin_client.get("/admin/identity-providers").get_data(as_text=True)
    response = admin_client.post(
        "/admin/identity-providers",
        data={
            "csrf_token": csrf_token_from(page),
            "organisation_id": str(org.id),
            "name": "Metadata SSO",
            "issuer": "http://169.254.169.254/latest",
            "client_id": "pax",
            "client_secret": "secret",
            "email_claim": "email",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code in (409, 422), html[:500]
    assert "link-local address (such as a cloud metadata service), which PAX does not contact" in html
    assert db.session.scalar(sa.select(IdentityProvider).where(IdentityProvider.name == "Metadata SSO")) is None


def _run_test(app: Any, make: Any, provider: IdentityProvider) -> str:
    admin = make.user(role="admin", org_type="commission")
    admin_client = sign_in(app.test_client(), make, admin)
    url = f"/admin/identity-providers/{provider.id}"
    page = admin_client.get(url).get_data(as_text=True)
    report = admin_client.post(f"{url}/test", data={"csrf_token": csrf_token_from(page)})
    assert report.status_code == 200
    return report.get_data(as_text=True)


def test_the_provider_test_refuses_a_discovery_address_on_the_portals_network(guarded, make, app, inside):
    provider = _provider(make, inside.base, inside.json("/.well-known/openid-configuration", {"issuer": inside.base}))
    html = _run_test(app, make, provider)
    assert "The test sign-in did not work" in html
    assert "is a loopback address (the portal&#39;s own machine), which PAX does not contact" in html


def test_the_provider_test_refuses_keys_at_the_metadata_service(guarded, make, app, outside):
    discovery = outside.json(
        "/.well-known/openid-configuration",
        {"issuer": outside.base, "jwks_uri": "http://169.254.169.254/latest/meta-data/"},
    )
    provider = _provider(make, outside.base, discovery)
    html = _run_test(app, make, provider)
    assert "Signing keys" in html and "link-local address" in html and "which PAX does not contact" in html


def _sign_in_events(provider: IdentityProvider) -> list[str]:
    db.session.commit()
    rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "auth.login").order_by(AuditEvent.seq))
    return [e.details.get("reason") for e in rows if e.details.get("provider_id") == provider.id]


def test_sign_in_with_discovery_on_the_portals_network_fails_plainly(guarded, make, client, inside):
    provider = ready(_provider(make, inside.base, inside.base + "/.well-known/openid-configuration"))
    response = client.get(f"/login/sso/{provider.id}")
    assert response.status_code == 502
    assert "cannot be reached" in response.get_data(as_text=True)
    assert _sign_in_events(provider) == ["outbound_refused"]


def test_sign_in_with_a_token_endpoint_on_the_portals_network_fails_plainly(guarded, make, client, outside, inside):
    inside.json("/token", {"access_token": "x", "token_type": "Bearer"})
    discovery = outside.json(
        "/.well-known/openid-configuration",
        {
            "issuer": outside.base,
            "authorization_endpoint": outside.base + "/authorize",
            "token_endpoint": inside.base + "/token",
            "jwks_uri": outside.base + "/jwks",
        },
    )
    provider = ready(_provider(make, outside.base, discovery))
    to_provider = client.get(f"/login/sso/{provider.id}")
    assert to_provider.status_code == 302, to_provider.get_data(as_text=True)[:300]
    state = parse_qs(urlsplit(to_provider.headers["Location"]).query)["state"][0]
    response = client.get(f"/login/sso/{provider.id}/callback?code=abc&state={state}")
    assert response.status_code == 400
    assert "could not verify the answer" in response.get_data(as_text=True)
    assert _sign_in_events(provider) == ["outbound_refused"]


def test_back_channel_logout_does_not_fetch_keys_from_the_portals_network(guarded, make, client, outside, inside):
    inside.json("/jwks", {"keys": []})
    discovery = outside.json(
        "/.well-known/openid-configuration", {"issuer": outside.base, "jwks_uri": inside.base + "/jwks"}
    )
    provider = _provider(make, outside.base, discovery)
    response = client.post(f"/login/sso/{provider.id}/backchannel-logout", data={"logout_token": "a.b.c"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_back_channel_logout_does_not_fetch_discovery_from_the_portals_network(guarded, make, client, inside):
    provider = _provider(make, inside.base, inside.json("/.well-known/openid-configuration", {"issuer": inside.base}))
    response = client.post(f"/login/sso/{provider.id}/backchannel-logout", data={"logout_token": "a.b.c"})
    assert response.status_code == 400


def test_an_end_session_endpoint_that_is_not_a_web_address_is_not_offered(guarded, make, outside):
    from app.auth.sso_protocol import end_session_url

    discovery = outside.json(
        "/.well-known/openid-configuration",
        {"issuer": outside.base, "end_session_endpoint": "javascript:alert(1)"},
    )
    provider = _provider(make, outside.base, discovery)
    assert end_session_url(provider, "http://localhost/") is None
