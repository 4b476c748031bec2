"""Outbound HTTP to addresses that administrators enter, kept off the portal's own network.

PAX fetches what an identity provider's settings point at: the discovery document, the signing
keys (JWKS), the token and UserInfo endpoints. Those addresses are typed by an administrator or
published by the provider, so a mistake or a hostile provider could aim PAX's server at its own
network (a database, Redis, a cloud metadata service). Every such fetch goes through
``guard(session)`` (or ``get_json``), which promises:

- https only, unless ``OUTBOUND_ALLOW_HTTP`` (local and test runs; refused in production);
- the host is resolved, every address it resolves to is checked, and the connection is made to
  an address that was checked (a name that resolves differently a moment later, DNS rebinding,
  gains nothing); TLS still names the host (SNI, certificate check) and so does ``Host``.
  Refused: loopback, private networks (RFC 1918, fc00::/7), shared address space (100.64/10),
  link-local (169.254/16 with the metadata service, fe80::/10), unspecified, multicast,
  reserved and documentation ranges, and IPv4 addresses wrapped in IPv6 (mapped, 6to4, NAT64,
  Teredo), unless the address is in ``OUTBOUND_ALLOW_NETWORKS``;
- at most ``OUTBOUND_MAX_REDIRECTS`` redirects, each hop checked the same way;
- ``OUTBOUND_TIMEOUT_SECONDS`` to connect, and as much again for the whole answer to arrive;
- at most ``OUTBOUND_MAX_BYTES`` of (decompressed) answer, read in chunks and abandoned beyond;
- no proxy or ``.netrc`` from the environment.

A refusal raises ``OutboundRefused``, whose ``message`` is plain words for an administrator and
whose ``reason`` is a short code for logs; it is logged with the host only, never the path or
query. ``url_problem`` gives the same answer for an address about to be saved.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import current_app
from flask_babel import gettext
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.util.connection import create_connection

log = logging.getLogger("pax.outbound")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Ranges named in refusals; any other address that is not globally reachable is "reserved".
_NAMED_RANGES: tuple[tuple[str, str], ...] = (
    ("127.0.0.0/8", "loopback"),
    ("::1/128", "loopback"),
    ("169.254.0.0/16", "link_local"),
    ("fe80::/10", "link_local"),
    ("10.0.0.0/8", "private"),
    ("172.16.0.0/12", "private"),
    ("192.168.0.0/16", "private"),
    ("fc00::/7", "private"),
    ("100.64.0.0/10", "private"),
    ("0.0.0.0/8", "unspecified"),
    ("::/128", "unspecified"),
    ("224.0.0.0/4", "multicast"),
    ("ff00::/8", "multicast"),
)
_RANGES = tuple((ipaddress.ip_network(net), kind) for net, kind in _NAMED_RANGES)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

#: What each kind of refused address is called in the administrator's message.
WORDS = {
    "loopback": "a loopback address (the portal's own machine)",
    "link_local": "a link-local address (such as a cloud metadata service)",
    "private": "a private network",
    "unspecified": "an unspecified address",
    "multicast": "a multicast address",
    "reserved": "an address reserved for special use",
}


def N_(text: str) -> str:
    """Marks a msgid for extraction; ``gettext`` translates it where the message is given."""
    return text


#: The administrator's message for each kind of refused address, a whole sentence each.
REFUSED_ADDRESS = {
    "loopback": N_(
        "The address %(address)s is a loopback address (the portal's own machine), which PAX does not contact."
    ),
    "link_local": N_(
        "The address %(address)s is a link-local address (such as a cloud metadata service), "
        "which PAX does not contact."
    ),
    "private": N_("The address %(address)s is a private network, which PAX does not contact."),
    "unspecified": N_("The address %(address)s is an unspecified address, which PAX does not contact."),
    "multicast": N_("The address %(address)s is a multicast address, which PAX does not contact."),
    "reserved": N_("The address %(address)s is an address reserved for special use, which PAX does not contact."),
}


class OutboundRefused(Exception):
    """PAX will not send this request. ``message``: plain words for an administrator (never a
    secret: the host at most); ``reason``: a short code for logs and the audit trail.

    Deliberately not an ``OSError``: urllib3 would take it for a network failure and retry."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class OutboundPolicy:
    allow_http: bool
    allowed_networks: tuple[IPNetwork, ...]
    timeout: float
    max_bytes: int
    max_redirects: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> OutboundPolicy:
        return cls(
            allow_http=bool(config["OUTBOUND_ALLOW_HTTP"]),
            allowed_networks=parse_networks(config["OUTBOUND_ALLOW_NETWORKS"]),
            timeout=float(config["OUTBOUND_TIMEOUT_SECONDS"]),
            max_bytes=int(config["OUTBOUND_MAX_BYTES"]),
            max_redirects=int(config["OUTBOUND_MAX_REDIRECTS"]),
        )


def parse_networks(value: str | Iterable[str] | None) -> tuple[IPNetwork, ...]:
    """``"127.0.0.0/8, ::1"`` as networks; ``ValueError`` names an entry that is not one."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    networks = []
    for item in (i.strip() for i in items):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
    return tuple(networks)


def current_policy() -> OutboundPolicy:
    return OutboundPolicy.from_config(current_app.config)


def _embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64): each is checked too."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _kind(ip: IPAddress) -> str | None:
    for network, kind in _RANGES:
        if ip.version == network.version and ip in network:
            return kind
    return None if ip.is_global else "reserved"


def forbidden_kind(ip: IPAddress, policy: OutboundPolicy) -> str | None:
    """Why PAX will not connect to ``ip`` (a ``WORDS`` key), or None when it may."""
    for candidate in _embedded_ipv4(ip) or [ip]:  # a wrapped IPv4 address is judged as itself
        if any(candidate.version == n.version and candidate in n for n in policy.allowed_networks):
            continue
        kind = _kind(candidate)
        if kind is not None:
            return kind
    return None


def _refuse_address(host: str, ip: IPAddress, kind: str) -> OutboundRefused:
    log.warning("outbound request to %s refused: %s address", host, kind)
    shown = host if host == str(ip) else f"{host} ({ip})"
    return OutboundRefused(f"{kind}_address", gettext(REFUSED_ADDRESS[kind], address=shown))


def check_address(host: str, address: str, policy: OutboundPolicy) -> None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone index is not part of the address
    kind = forbidden_kind(ip, policy)
    if kind is not None:
        raise _refuse_address(host, ip, kind)


def resolve(host: str, port: int, policy: OutboundPolicy) -> list[tuple[Any, ...]]:
    """``getaddrinfo`` for ``host``; ``OutboundRefused`` if any address it gives is forbidden.
    ``socket.gaierror`` when the name does not resolve."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for info in infos:
        check_address(host, str(info[4][0]), policy)
    return infos


def check_url(url: str, policy: OutboundPolicy, *, resolve_host: bool = True) -> None:
    """Refuse ``url`` (``OutboundRefused``) for its scheme, credentials, or a forbidden address.

    With ``resolve_host`` the name is looked up and every address checked; a name that does not
    resolve is not refused here (it may resolve later, and every fetch checks again)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundRefused("malformed", gettext("The address is not a valid URL.")) from None
    allowed = ("https", "http") if policy.allow_http else ("https",)
    if parts.scheme not in allowed:
        log.warning("outbound request refused: scheme %r", parts.scheme[:20])
        raise OutboundRefused(
            "scheme",
            gettext("The address must start with https://.")
            if not policy.allow_http
            else gettext("The address must be http or https."),
        )
    if not parts.hostname:
        raise OutboundRefused("malformed", gettext("The address names no host."))
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("credentials", gettext("The address must not contain a user name or password."))
    host = parts.hostname
    try:
        literal = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        literal = None
    if literal is not None:
        check_address(host, host, policy)
    elif resolve_host:
        try:
            resolve(host, port or (443 if parts.scheme == "https" else 80), policy)
        except (socket.gaierror, UnicodeError):
            return


def url_problem(url: str) -> str | None:
    """The administrator's message if PAX would refuse to fetch ``url``, else None (for forms)."""
    try:
        check_url(url, current_policy())
    except OutboundRefused as exc:
        return exc.message
    return None


# --- the requests plumbing ---------------------------------------------------------------------------


class _CheckedConnectionMixin:
    """Resolve once, check every address, connect to a checked one (never resolve again)."""

    policy: OutboundPolicy
    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any
    _dns_host: str

    def _new_conn(self) -> socket.socket:
        try:
            infos = resolve(self._dns_host, self.port, self.policy)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        last: OSError | None = None
        for info in infos:
            try:
                return create_connection(
                    (str(info[4][0]), self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
                ) from exc
            except OSError as exc:
                last = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {last}")  # type: ignore[arg-type]


class GuardedAdapter(HTTPAdapter):
    """A transport adapter that applies an ``OutboundPolicy`` to every request and redirect hop."""

    def __init__(self, policy: OutboundPolicy):
        self.policy = policy
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        attrs = {"policy": self.policy}
        http_conn = type("GuardedHTTPConnection", (_CheckedConnectionMixin, HTTPConnection), attrs)
        https_conn = type("GuardedHTTPSConnection", (_CheckedConnectionMixin, HTTPSConnection), attrs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
        }

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        raise OutboundRefused("proxy", gettext("PAX does not send these requests through a proxy."))

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        check_url(str(request.url), self.policy, resolve_host=False)  # addresses: at connect time
        limit = self.policy.timeout
        response = super().send(request, stream=True, timeout=(limit, limit), verify=verify, cert=cert)
        try:
            _read_bounded(response, self.policy, time.monotonic() + limit)
        except OutboundRefused:
            response.close()
            raise
        except (ProtocolError, ReadTimeoutError, DecodeError, OSError) as exc:
            response.close()
            raise requests.ConnectionError(exc, request=request) from exc
        return response


def _read_bounded(response: requests.Response, policy: OutboundPolicy, deadline: float) -> None:
    host = urlsplit(str(response.url)).hostname or "?"
    too_large = OutboundRefused(
        "too_large",
        gettext(
            "The answer from %(host)s is larger than %(max)s bytes, more than PAX reads.",
            host=host,
            max=policy.max_bytes,
        ),
    )
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        log.warning("outbound answer from %s refused: declared %s bytes", host, declared)
        raise too_large
    chunks, total = [], 0
    for chunk in response.raw.stream(65536, decode_content=True):
        total += len(chunk)
        if total > policy.max_bytes:
            log.warning("outbound answer from %s refused: more than %s bytes", host, policy.max_bytes)
            raise too_large
        if time.monotonic() > deadline:
            log.warning("outbound answer from %s refused: slower than %ss", host, policy.timeout)
            raise OutboundRefused("too_slow", gettext("The answer from %(host)s took too long to arrive.", host=host))
        chunks.append(chunk)
    response._content = b"".join(chunks)
    response._content_consumed = True
    response.raw.release_conn()


def guard(session: requests.Session, policy: OutboundPolicy | None = None) -> requests.Session:
    """Make every request of ``session`` obey ``policy`` (default: the app's settings)."""
    adapter = GuardedAdapter(policy or current_policy())
    session.adapters.clear()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.trust_env = False
    session.proxies = {}
    session.max_redirects = adapter.policy.max_redirects
    return session


def get_json(url: str, policy: OutboundPolicy | None = None) -> Any:
    """GET ``url`` through the guard and parse JSON. Raises ``OutboundRefused``, a
    ``requests.RequestException`` (unreachable, HTTP error, too many redirects) or ``ValueError``."""
    with guard(requests.Session(), policy) as session:
        response = session.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        return response.json()
