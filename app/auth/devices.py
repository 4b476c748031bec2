"""What the session list says about a session: its device and its place, and no more.

No User-Agent parser is installed, so the device is a small bounded mapping of the well-known
browsers and systems ("Firefox on Windows"); anything else is "Other browser". The place is the
client's network, not a location: PAX has no GeoIP database. The address is the one the portal
sees after its trusted reverse proxies (``PAX_PROXY_HOPS``, ProxyFix), coarsened to its /24
(IPv4) or /48 (IPv6) so that the list helps a member recognise a session without keeping where
exactly they were.
"""

from __future__ import annotations

import ipaddress

from flask_babel import gettext as _

#: First match wins: (marker in the User-Agent, name). Order matters: Edge and Opera also say
#: "Chrome", and Chrome also says "Safari".
_BROWSERS = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Windows", "Windows"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)
#: Longest User-Agent read: the markers are near the start, and nothing longer is scanned.
_READ = 512


def device_summary(user_agent: str | None) -> str:
    """``Firefox on Windows``, ``Safari on iOS``, ``Chrome``, ``Other browser`` or ``""`` (none sent)."""
    text = (user_agent or "")[:_READ]
    if not text.strip():
        return ""
    browser = next((name for marker, name in _BROWSERS if marker in text), None)
    system = next((name for marker, name in _SYSTEMS if marker in text), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser:
        return browser
    return f"Other browser on {system}" if system else "Other browser"


def device_label(summary: str | None) -> str:
    """``device_summary``'s stored English (``Firefox on Windows``, ``Other browser``) in the
    reader's language; ``""`` for none. The browser and system names are names and stay as they are."""
    if not summary:
        return ""
    browser, sep, system = summary.partition(" on ")
    if browser == "Other browser":
        return _("Other browser on %(system)s", system=system) if sep else _("Other browser")
    return _("%(browser)s on %(system)s", browser=browser, system=system) if sep else summary


def coarse_network(address: str | None) -> str:
    """The network of ``address``: ``203.0.113.0/24`` or ``2001:db8:1::/48``; ``""`` if it is not
    an IP address (a test client, a Unix socket)."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
