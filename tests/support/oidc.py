"""A real OpenID Connect provider on loopback for SSO tests, a login robot and a tampering proxy.

``OidcProvider`` runs ``tests/oidc/provider.mjs`` (the certified npm package ``oidc-provider``
9.x from ``node_modules``) as a child process on ``127.0.0.1``, in oidc-provider's default
configuration plus what a deployment must configure (provider.mjs says what and why). Its
clients use the authorization code flow with PKCE S256 required. ID tokens are RS256 (or ES256
with ``signing_alg="ES256"``) with a key generated at start-up (published at ``jwks_uri``;
``rotate_keys()`` replaces it) and carry ``sub`` plus ``amr``/``acr`` when the account has them;
``email``/``email_verified``/``name`` come from the UserInfo endpoint, as a conformant provider
answers a code flow, or in the ID token too with ``id_token_claims=True``. Back-channel logout
is offered: a client registered with ``backchannel_logout_uri`` gets logout tokens when the
browser signs out at the provider (``sign_out_at_provider``). Clients authenticate at the token
endpoint with ``client_secret_basic`` or ``client_secret_post``.

Login needs no browser: ``complete_login(authorization_url, "user@example.org")`` walks the
provider's own interaction pages with ``requests`` and returns the redirect back to the client
(``…?code=…&state=…&iss=…``) without requesting it.

``TamperingProxy`` sits in front of the provider for negative tests (token for another
audience, ID token with a broken signature); see its docstring.

Usage::

    with OidcProvider() as idp:
        idp.add_client("pax", "s3cret", ["http://localhost/auth/oidc/callback"])
        idp.add_account("u1", "ana@example.org", "Ana", amr=["pwd", "otp"], acr="urn:pax:mfa")
        # configure PAX with idp.issuer, idp.client_id, idp.client_secret …
        response = client.get("/login/sso?email=ana@example.org")   # PAX redirects to idp
        callback = complete_login(response.headers["Location"], "ana@example.org")
        client.get(callback[len("http://localhost"):])              # PAX finishes the login

Accounts and clients may be added before or after ``start()``; after it they go to the
provider's admin endpoint (``POST /__admin/accounts`` / ``/__admin/clients`` with a per-run
bearer token), so no restart is needed and the signing key stays the same.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_plus, urlencode, urljoin, urlsplit, urlunsplit

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
PROVIDER_SCRIPT = REPO_ROOT / "tests" / "oidc" / "provider.mjs"
STARTUP_TIMEOUT = 20.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError(
            "node is not installed (or not on PATH): the OIDC test provider needs Node.js "
            "and `npm ci` having installed oidc-provider into node_modules"
        )
    return node


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class OidcProviderError(RuntimeError):
    """The provider process failed to start, or the provider refused a step of a login."""


# --- the provider process ------------------------------------------------------------------------


class OidcProvider:
    """A running oidc-provider on ``http://127.0.0.1:<port>``.

    ``issuer`` is a template where ``{origin}`` stands for ``http://127.0.0.1:<port>``; the
    default ``"{origin}"`` is a well-behaved provider. ``issuer="{origin}/other"`` starts a
    provider that is served at the origin but claims another issuer in its discovery document and
    tokens (oidc-provider accepts any issuer string; its routes stay at the root), for
    issuer-mismatch tests.

    ``client_id``/``client_secret`` are those of the first client added (or of the client given
    to the constructor).
    """

    def __init__(
        self,
        *,
        port: int = 0,
        issuer: str = "{origin}",
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uris: Iterable[str] = (),
        startup_timeout: float = STARTUP_TIMEOUT,
        signing_alg: str = "RS256",
        id_token_claims: bool = False,
    ) -> None:
        self._signing_alg = signing_alg
        self._id_token_claims = id_token_claims
        self._requested_port = port
        self._issuer_template = issuer
        self._startup_timeout = startup_timeout
        self._clients: list[dict[str, Any]] = []
        self._accounts: list[dict[str, Any]] = []
        self._admin_token = secrets.token_urlsafe(24)
        self._process: subprocess.Popen[str] | None = None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._stderr_path: Path | None = None
        self._stdout_thread: threading.Thread | None = None
        self.port: int | None = None
        self.metadata: dict[str, Any] = {}
        if client_id is not None:
            self.add_client(client_id, client_secret or secrets.token_urlsafe(24), list(redirect_uris))

    # -- configuration --

    def add_account(
        self,
        sub: str,
        email: str,
        name: str,
        amr: list[str] | None = None,
        acr: str | None = None,
        *,
        email_verified: bool = True,
        password: str | None = None,
        extra_claims: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Add a user; ``amr``/``acr``, when given, end up in that user's ID tokens."""
        account: dict[str, Any] = {"sub": sub, "email": email, "email_verified": email_verified, "name": name}
        if amr is not None:
            account["amr"] = list(amr)
        if acr is not None:
            account["acr"] = acr
        if password is not None:
            account["password"] = password
        if extra_claims:
            account["extra_claims"] = dict(extra_claims)
        self._accounts = [a for a in self._accounts if a["sub"] != sub] + [account]
        if self.running:
            self._admin("/__admin/accounts", account)
        return account

    def add_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: Iterable[str],
        **metadata: Any,
    ) -> dict[str, Any]:
        """Register a confidential web client (code flow, PKCE S256 required).

        Extra keyword arguments are client metadata, e.g.
        ``token_endpoint_auth_method="client_secret_post"`` or ``post_logout_redirect_uris=[…]``.
        """
        client: dict[str, Any] = {
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uris": list(redirect_uris),
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
            **metadata,
        }
        if not client["redirect_uris"]:
            raise ValueError("a client needs at least one redirect URI")
        if self.running:
            self._admin("/__admin/clients", client)
        self._clients = [c for c in self._clients if c["client_id"] != client_id] + [client]
        return client

    @property
    def client_id(self) -> str:
        return str(self._default_client()["client_id"])

    @property
    def client_secret(self) -> str:
        return str(self._default_client()["client_secret"])

    def _default_client(self) -> dict[str, Any]:
        if not self._clients:
            raise RuntimeError("no client registered: call add_client() first")
        return self._clients[0]

    # -- addresses --

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None and self.port is not None

    @property
    def base_url(self) -> str:
        """Where the provider listens: ``http://127.0.0.1:<port>`` (no trailing slash)."""
        if self.port is None:
            raise RuntimeError("the provider is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        """The issuer the provider claims (its discovery document's ``issuer``)."""
        if self.metadata:
            return str(self.metadata["issuer"])
        return self._issuer_template.replace("{origin}", self.base_url).replace("{port}", str(self.port))

    @property
    def discovery_url(self) -> str:
        return f"{self.base_url}/.well-known/openid-configuration"

    def jwks(self) -> dict[str, Any]:
        response = requests.get(self.metadata["jwks_uri"], timeout=10)
        response.raise_for_status()
        return dict(response.json())

    # -- lifecycle --

    def start(self) -> OidcProvider:
        if self._process is not None:
            raise RuntimeError("the provider is already started")
        node = node_binary()
        if not PROVIDER_SCRIPT.is_file():
            raise OidcProviderError(f"missing {PROVIDER_SCRIPT}")
        if not (REPO_ROOT / "node_modules" / "oidc-provider").is_dir():
            raise OidcProviderError("node_modules/oidc-provider is missing: run `npm ci` (make does)")
        self._tmpdir = tempfile.TemporaryDirectory(prefix="pax-oidc-")
        tmp = Path(self._tmpdir.name)
        config_path = tmp / "config.json"
        config_path.write_text(
            json.dumps(
                {
                    "issuer": self._issuer_template,
                    "admin_token": self._admin_token,
                    "clients": self._clients,
                    "accounts": self._accounts,
                    "signing_alg": self._signing_alg,
                    "id_token_claims": self._id_token_claims,
                },
                indent=2,
            ),
            encoding="utf-8",
        )
        self._stderr_path = tmp / "stderr.log"
        stderr = self._stderr_path.open("w", encoding="utf-8")
        try:
            self._process = subprocess.Popen(
                [
                    node,
                    str(PROVIDER_SCRIPT),
                    "--config",
                    str(config_path),
                    "--port",
                    str(self._requested_port),
                    "--watch-stdin",
                ],
                cwd=REPO_ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env={**os.environ, "NODE_ENV": "test"},
            )
        finally:
            stderr.close()

        lines: queue.Queue[str | None] = queue.Queue()

        def pump(stream: Any) -> None:
            for line in stream:
                lines.put(line.rstrip("\n"))
            lines.put(None)

        assert self._process.stdout is not None
        self._stdout_thread = threading.Thread(target=pump, args=(self._process.stdout,), daemon=True)
        self._stdout_thread.start()

        deadline = time.monotonic() + self._startup_timeout
        port: int | None = None
        while port is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._fail(f"did not print READY within {self._startup_timeout:.0f} s")
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self._fail("exited before it was ready")
            elif line.startswith("READY "):
                port = int(line.split()[1])
        self.port = port
        try:
            response = requests.get(self.discovery_url, timeout=10)
            response.raise_for_status()
            self.metadata = dict(response.json())
        except Exception as exc:  # pragma: no cover - diagnostics only
            self._fail(f"discovery failed: {exc}")
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        if self._stdout_thread is not None:
            self._stdout_thread.join(timeout=5)
            self._stdout_thread = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None
        self.port = None
        self.metadata = {}

    def stderr_text(self) -> str:
        """What the provider wrote on stderr so far (warnings, server errors)."""
        if self._stderr_path is None or not self._stderr_path.exists():
            return ""
        return self._stderr_path.read_text(encoding="utf-8", errors="replace")

    def _fail(self, why: str) -> None:
        stderr = self.stderr_text()
        self.stop()
        raise OidcProviderError(f"OIDC test provider {why}; its stderr:\n{stderr or '(empty)'}")

    def rotate_keys(self) -> str:
        """Replace the provider's signing key, as a provider's key rotation does; returns the new kid."""
        return str(self._admin("/__admin/rotate-keys", {})["kid"])

    def _admin(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(
            self.base_url + path,
            json=payload,
            headers={"Authorization": f"Bearer {self._admin_token}"},
            timeout=10,
        )
        if response.status_code != 201:
            raise OidcProviderError(f"provider refused {path}: {response.status_code} {response.text}")
        return dict(response.json())

    def __enter__(self) -> OidcProvider:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# --- logging in through the provider's pages -----------------------------------------------------


class _FormFinder(HTMLParser):
    """Collects <form id=… action=…> and their named inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, Any]] = {}
        self._current: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = {"action": values.get("action", ""), "method": values.get("method", "get"), "inputs": {}}
            self.forms[values.get("id", f"form{len(self.forms)}")] = self._current
        elif tag == "input" and self._current is not None and values.get("name"):
            self._current["inputs"][values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def _error_text(response: requests.Response) -> str:
    return f"{response.status_code} {response.request.method} {response.url}: {response.text[:2000]}"


def _walk(
    authorization_url: str,
    form_id: str,
    fields: dict[str, str],
    session: requests.Session | None,
    max_steps: int = 20,
) -> str:
    http_session = session if session is not None else requests.Session()
    provider_origin = _origin(authorization_url)
    query = dict(parse_qsl(urlsplit(authorization_url).query, keep_blank_values=True))
    redirect_uri = query.get("redirect_uri")

    def is_client_redirect(url: str) -> bool:
        if redirect_uri is not None:
            target = urlsplit(url)
            wanted = urlsplit(redirect_uri)
            if (target.scheme, target.netloc.lower(), target.path) == (
                wanted.scheme,
                wanted.netloc.lower(),
                wanted.path,
            ):
                return True
        return _origin(url) != provider_origin

    response = http_session.get(authorization_url, allow_redirects=False, timeout=10)
    submitted = False
    for _ in range(max_steps):
        if response.is_redirect or response.status_code in (301, 302, 303, 307, 308):
            location = response.headers.get("Location")
            if not location:
                raise OidcProviderError(f"redirect without Location: {_error_text(response)}")
            target = urljoin(response.url, location)
            if is_client_redirect(target):
                if redirect_uri is not None and not target.startswith(redirect_uri.split("?")[0]):
                    raise OidcProviderError(f"provider redirected off its origin to {target}, not to {redirect_uri}")
                return target
            response = http_session.get(target, allow_redirects=False, timeout=10)
            continue
        if response.status_code == 200 and "text/html" in response.headers.get("Content-Type", ""):
            finder = _FormFinder()
            finder.feed(response.text)
            form = finder.forms.get(form_id)
            if form is None:
                raise OidcProviderError(f"no {form_id} on the provider page: {_error_text(response)}")
            if submitted and form_id == "login-form":
                raise OidcProviderError(f"the provider asked for a login again: {_error_text(response)}")
            action = urljoin(response.url, form["action"])
            if _origin(action) != provider_origin:
                raise OidcProviderError(f"form posts off the provider's origin: {action}")
            data = {**form["inputs"], **fields}
            response = http_session.post(action, data=data, allow_redirects=False, timeout=10)
            submitted = True
            continue
        raise OidcProviderError(f"unexpected provider response: {_error_text(response)}")
    raise OidcProviderError(f"no redirect back to the client after {max_steps} steps")


def complete_login(
    authorization_url: str,
    login: str,
    session: requests.Session | None = None,
    *,
    password: str | None = None,
) -> str:
    """Log ``login`` (an account's e-mail or sub) in at the provider and return the client redirect.

    ``authorization_url`` is where the relying party sent the browser (the provider's
    authorization endpoint, or a ``TamperingProxy`` in front of it). Redirects are followed only
    on that URL's own origin; the first redirect elsewhere (the client's ``redirect_uri`` with
    ``code``, ``state`` and ``iss``, or ``error`` when the provider refused the request, e.g. no
    PKCE) is returned, not requested. Pass a ``requests.Session`` to keep the provider's session
    cookie between logins (a second authorization then skips the login page). Raises
    ``OidcProviderError`` when the provider shows an error page or rejects the login.
    """
    fields = {"login": login}
    if password is not None:
        fields["password"] = password
    return _walk(authorization_url, "login-form", fields, session)


def sign_out_at_provider(base_url: str, client_id: str, session: requests.Session) -> requests.Response:
    """Sign the browser ``session`` out at the provider (RP-Initiated Logout's end-session page,
    answering "Yes, sign me out"): the provider then sends back-channel logout tokens to every
    client that has a ``backchannel_logout_uri`` and took part in that session."""
    page = session.get(f"{base_url}/session/end", params={"client_id": client_id}, timeout=10)
    page.raise_for_status()
    finder = _FormFinder()
    finder.feed(page.text)
    form = finder.forms.get("op.logoutForm")
    if form is None:
        raise OidcProviderError(f"no logout form on the provider's page: {_error_text(page)}")
    action = urljoin(page.url, form["action"])
    return session.post(action, data={**form["inputs"], "logout": "yes"}, allow_redirects=False, timeout=15)


def deny_login(authorization_url: str, session: requests.Session | None = None) -> str:
    """Press "Cancel" at the provider: returns the client redirect with ``error=access_denied``."""
    return _walk(authorization_url, "abort-form", {}, session)


# --- the tampering proxy -------------------------------------------------------------------------

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "accept-encoding",
}


def corrupt_jws_signature(token: str) -> str:
    """The same compact JWS with a few characters in the middle of its signature changed."""
    header, payload, signature = token.split(".")
    chars = list(signature)
    middle = len(chars) // 2
    for i in range(middle, min(middle + 4, len(chars))):
        chars[i] = "A" if chars[i] != "A" else "B"
    return ".".join([header, payload, "".join(chars)])


class TamperingProxy:
    """A reverse proxy on ``http://127.0.0.1:<port>`` in front of an ``OidcProvider``.

    Every request is forwarded to ``upstream_base_url``. The discovery document is rewritten so
    that every endpoint (authorization, token, jwks, userinfo, …) points at the proxy, while its
    ``issuer`` stays the provider's real issuer (tokens keep that ``iss``); ``Location`` headers
    pointing at the upstream are rewritten to the proxy too. A relying party configured with
    ``proxy.discovery_url`` (or with ``proxy.url`` as server metadata base) thus sends the
    browser and its back-channel calls through the proxy.

    Tampering, all off by default:

    * ``swap_client(a, b, to_secret=…)``: wrong audience: ``client_id=a`` becomes ``b`` in
      authorization query strings, token request bodies and the Basic ``Authorization`` header
      (the secret is replaced by ``to_secret`` when given, so register ``b`` with the same
      redirect URI as ``a``). The provider then issues a validly signed ID token with
      ``aud == b`` to a relying party that believes it is ``a``; it must refuse it.
    * ``corrupt_id_token = True``: in token endpoint JSON responses the ``id_token`` keeps its
      header and payload but gets a broken signature; the relying party must refuse it.

    ``requests_seen`` lists ``(method, path)`` of what went through.
    """

    def __init__(self, upstream_base_url: str) -> None:
        parts = urlsplit(upstream_base_url)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the tampering proxy only forwards to loopback")
        self.upstream = f"{parts.scheme}://{parts.netloc}"
        self._upstream_host = parts.hostname
        self._upstream_port = parts.port or 80
        self._lock = threading.Lock()
        self._swap: tuple[str, str, str | None, str | None] | None = None
        self.corrupt_id_token = False
        #: When set, UserInfo answers name this subject instead of the real one.
        self.userinfo_subject: str | None = None
        self.requests_seen: list[tuple[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- switches --

    def swap_client(
        self,
        from_client_id: str,
        to_client_id: str,
        *,
        to_secret: str | None = None,
        from_secret: str | None = None,
    ) -> None:
        """Rewrite ``from_client_id`` (and optionally its secret) to ``to_client_id``."""
        with self._lock:
            self._swap = (from_client_id, to_client_id, from_secret, to_secret)

    def reset(self) -> None:
        with self._lock:
            self._swap = None
            self.corrupt_id_token = False
            self.userinfo_subject = None
            self.requests_seen.clear()

    # -- addresses --

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the proxy is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    # -- lifecycle --

    def start(self) -> TamperingProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                proxy._forward(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="oidc-tampering-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> TamperingProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- rewriting --

    def _swap_params(
        self, pairs: list[tuple[str, str]], swap: tuple[str, str, str | None, str | None]
    ) -> list[tuple[str, str]]:
        from_id, to_id, from_secret, to_secret = swap
        swapped = any(k == "client_id" and v == from_id for k, v in pairs)
        out = []
        for key, value in pairs:
            if key == "client_id" and value == from_id:
                value = to_id
            elif (
                key == "client_secret"
                and swapped
                and to_secret is not None
                and (from_secret is None or value == from_secret)
            ):
                value = to_secret
            out.append((key, value))
        return out

    def _swap_basic(self, header: str, swap: tuple[str, str, str | None, str | None]) -> str:
        from_id, to_id, from_secret, to_secret = swap
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "basic":
            return header
        try:
            decoded = base64.b64decode(credentials).decode("utf-8")
        except Exception:
            return header
        raw_id, sep, raw_secret = decoded.partition(":")
        if not sep or unquote_plus(raw_id) != from_id:
            return header
        secret = unquote_plus(raw_secret)
        if to_secret is not None and (from_secret is None or secret == from_secret):
            secret = to_secret
        pair = f"{quote(to_id, safe='')}:{quote(secret, safe='')}"
        return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")

    def _rewrite_url(self, value: str) -> str:
        if value.startswith(self.upstream):
            return self.url + value[len(self.upstream) :]
        return value

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            swap = self._swap
            corrupt = self.corrupt_id_token
            userinfo_subject = self.userinfo_subject
            self.requests_seen.append((handler.command, handler.path))

        target = urlsplit(handler.path)
        path = target.path or "/"
        query = target.query
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}

        if swap is not None:
            if query:
                query = urlencode(self._swap_params(parse_qsl(query, keep_blank_values=True), swap))
            content_type = handler.headers.get("Content-Type", "")
            if body and content_type.startswith("application/x-www-form-urlencoded"):
                pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
                body = urlencode(self._swap_params(pairs, swap)).encode("utf-8")
            for key in list(headers):
                if key.lower() == "authorization":
                    headers[key] = self._swap_basic(headers[key], swap)

        headers["Host"] = f"{self._upstream_host}:{self._upstream_port}"
        if body or handler.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        upstream_path = urlunsplit(("", "", path, query, ""))

        connection = http.client.HTTPConnection(self._upstream_host, self._upstream_port, timeout=15)
        try:
            connection.request(handler.command, upstream_path, body=body or None, headers=headers)
            response = connection.getresponse()
            status, reason = response.status, response.reason
            response_headers = response.getheaders()
            payload = response.read()
        except OSError as exc:
            handler.send_error(502, f"upstream failed: {exc}")
            return
        finally:
            connection.close()

        content_type = next((v for k, v in response_headers if k.lower() == "content-type"), "")
        if "json" in content_type and payload:
            try:
                document = json.loads(payload)
            except ValueError:
                document = None
            if isinstance(document, dict):
                changed = False
                if path.endswith("/.well-known/openid-configuration"):
                    for key, value in list(document.items()):
                        if key != "issuer" and isinstance(value, str):
                            document[key] = self._rewrite_url(value)
                        elif isinstance(value, dict):  # mtls_endpoint_aliases
                            document[key] = {
                                k: self._rewrite_url(v) if isinstance(v, str) else v for k, v in value.items()
                            }
                    changed = True
                if userinfo_subject is not None and path.endswith("/me") and "sub" in document:
                    document["sub"] = userinfo_subject
                    changed = True
                if corrupt and isinstance(document.get("id_token"), str):
                    document["id_token"] = corrupt_jws_signature(document["id_token"])
                    changed = True
                if changed:
                    payload = json.dumps(document).encode("utf-8")

        handler.send_response(status, reason)
        for key, value in response_headers:
            lower = key.lower()
            if lower in _HOP_BY_HOP:
                continue
            if lower == "location":
                value = self._rewrite_url(value)
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)


@contextlib.contextmanager
def tampering_proxy(upstream_base_url: str) -> Iterator[TamperingProxy]:
    """``with tampering_proxy(idp.base_url) as proxy: …``"""
    proxy = TamperingProxy(upstream_base_url).start()
    try:
        yield proxy
    finally:
        proxy.stop()
