"""Security headers on every response (a CSP without inline script, no framing, no sniffing), and
whether a request came from PAX's own pages."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from flask import Flask, Response, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def web_origin(url: str | None) -> str | None:
    """The ``scheme://host[:port]`` of an http(s) URL, or None when it cannot go in a CSP source list."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c in parts.netloc for c in " ;,'\""):
        return None
    return f"{parts.scheme}://{parts.netloc}"


def csp_with_form_targets(urls: Iterable[str | None]) -> str:
    """The CSP with ``form-action`` also admitting these URLs' origins: browsers check every hop
    of a form's navigation, so a form whose answer redirects to an identity provider needs it."""
    origins = sorted({o for o in map(web_origin, urls) if o})
    if not origins:
        return CSP
    return CSP.replace("form-action 'self'", "form-action 'self' " + " ".join(origins))


def register(app: Flask) -> None:
    local = app.config.get("LOCAL_RUN", False)

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        if not local:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # Pages, API answers and files carry marked content: no cache (a proxy's, a shared
        # computer's) may keep them. Only our static assets, the same for everyone, may be cached;
        # a response that says otherwise on purpose (the public pack-signing key) keeps its word.
        if request.endpoint != "static":
            headers.setdefault("Cache-Control", "no-store")
        return response


def from_this_site(*, typed: bool = False) -> bool:
    """Whether the request came from one of PAX's own pages: a request another site makes the
    browser send must not change what a member has (a kept form, their language). ``typed``: an
    address the person typed or bookmarked (``Sec-Fetch-Site: none``) counts too."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin" or (typed and site == "none")
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin.rstrip("/") == request.host_url.rstrip("/")
    return (request.referrer or "").startswith(request.host_url)
