"""One place answers errors: an ECL page for people, the uniform JSON body for the API.

Every handler rolls the session back first, so a request that failed never commits a
half-made change (the commit happens only when a view returns, see ``PaxFlask``).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError

from app.files.services import FileUnavailable

log = logging.getLogger("pax.errors")

#: What a person is told, per status; the API uses the code names.
MESSAGES: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "Bad request", "The request could not be understood. Check what you sent and try again."),
    401: ("unauthorized", "Sign-in required", "You need to sign in to continue."),
    403: ("forbidden", "Not allowed", "Your account is not allowed to do this."),
    404: ("not_found", "Page not found", "There is nothing here, or you do not have access to it."),
    405: ("method_not_allowed", "Method not allowed", "This address does not accept that kind of request."),
    409: ("conflict", "Conflict", "This conflicts with the current state. Reload and try again."),
    413: ("payload_too_large", "Too large", "What you sent is larger than the portal accepts."),
    415: ("unsupported_media_type", "Unsupported type", "This kind of content is not accepted here."),
    422: ("validation_failed", "Check your input", "Some of the values sent are not valid."),
    429: ("rate_limited", "Too many requests", "You have made too many requests. Wait a moment and try again."),
    500: (
        "internal_error",
        "Something went wrong",
        "The portal could not complete this request. Nothing was saved; try again later.",
    ),
    503: ("unavailable", "Service unavailable", "The portal is temporarily unavailable. Try again in a few minutes."),
}


#: How each reason a stored file cannot be served is answered (status, API code, message).
FILE_FAILURES: dict[str, tuple[int, str, str]] = {
    "integrity": (
        500,
        "file_integrity",
        "This file failed its integrity check (it is damaged or was tampered with), so nothing of it was sent. "
        "The portal's administrators have been alerted.",
    ),
    "key": (
        503,
        "file_key_unavailable",
        "This file's encryption key is not available to the portal right now, so it cannot be opened. "
        "The portal's administrators have been alerted.",
    ),
    "storage": (503, "storage_unavailable", "The file store is unavailable. Try again in a few minutes."),
}


class ApiError(Exception):
    """Raised by API code to answer with the uniform error body."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}
        self.code = code or MESSAGES.get(status, ("error",))[0]


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def json_error(status: int, message: str, fields: dict[str, str] | None = None, code: str | None = None) -> Response:
    body: dict[str, Any] = {
        "code": code or MESSAGES.get(status, ("error",))[0],
        "message": message,
        "fields": fields or {},
    }
    response = jsonify({"error": body})
    response.status_code = status
    return response


def error_page(status: int, detail: str | None = None) -> Response:
    _code, title, message = MESSAGES.get(status, MESSAGES[500])
    try:
        html = render_template("errors/error.html", status=status, title=title, message=detail or message)
    except Exception:
        # Rendering loads the signed-in user; with the database down that fails too. The
        # visitor still gets a page that says what happened, not a bare server error.
        log.warning("error page %s rendered without the portal layout", status)
        html = FALLBACK_PAGE.format(status=status, title=escape(title), message=escape(detail or message))
    return Response(html, status=status, mimetype="text/html")


FALLBACK_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - PAX</title>
<link rel="stylesheet" href="/static/ecl/styles/ecl-ec.css"></head>
<body><main class="ecl-container" id="main-content"><h1 class="ecl-u-type-heading-1">{title}</h1>
<p class="ecl-u-type-paragraph-m">{message}</p><p class="ecl-u-type-paragraph-s">Error {status}</p></main></body></html>
"""


def _rollback() -> None:
    from app.extensions import db

    try:
        db.session.rollback()
    except Exception:  # a broken connection must not hide the original error
        log.exception("rollback failed while handling an error")


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError) -> Response:
        _rollback()
        response = json_error(error.status, error.message, error.fields, error.code)
        if error.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="PAX API"'
        return response

    @app.errorhandler(CSRFError)
    def handle_csrf(error: CSRFError) -> Response:
        _rollback()
        detail = "Your form expired or was not sent from this portal. Go back, reload the page and try again."
        if wants_json():
            return json_error(400, detail, code="csrf_failed")
        return error_page(400, detail)

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException) -> Response:
        _rollback()
        status = error.code or 500
        if status < 400:
            return error.get_response()
        # 404 and 405 always use our own words: an unknown route and a hidden item must look alike.
        detail = None if status in (404, 405, 500) else _plain_description(error)
        if wants_json():
            response = json_error(status, detail or MESSAGES.get(status, MESSAGES[500])[2])
        else:
            response = error_page(status, detail)
        for header in ("Allow", "Retry-After"):
            if header in error.get_headers():
                value = dict(error.get_headers()).get(header)
                if value:
                    response.headers[header] = value
        if status == 429:
            response.headers.setdefault("Retry-After", str(getattr(error, "retry_after", 60) or 60))
        return response

    @app.errorhandler(FileUnavailable)
    def handle_file_unavailable(error: FileUnavailable) -> Response:
        """A stored file that cannot be served: nothing of it was sent; already logged and audited."""
        _rollback()
        status, code, detail = FILE_FAILURES[error.reason]
        if wants_json():
            return json_error(status, detail, code=code)
        return error_page(status, detail)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        _rollback()
        if _database_unavailable(error):
            # The database is down or restarting: a passing outage, said as such (503, retry).
            log.error("database unavailable on %s %s: %s", request.method, request.path, type(error).__name__)
            response = json_error(503, MESSAGES[503][2]) if wants_json() else error_page(503)
            response.headers["Retry-After"] = "30"
            return response
        log.exception("unhandled error on %s %s", request.method, request.url_rule or request.path)
        if wants_json():
            return json_error(500, MESSAGES[500][2])
        return error_page(500)

    @app.errorhandler(InternalServerError)
    def handle_500(_error: InternalServerError) -> Response:
        _rollback()
        if wants_json():
            return json_error(500, MESSAGES[500][2])
        return error_page(500)


def _database_unavailable(error: Exception) -> bool:
    """The database cannot be reached (down, restarting, connection cut), as opposed to a bug."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _plain_description(error: HTTPException) -> str | None:
    """Werkzeug's default descriptions are generic English; keep ours unless a view gave its own."""
    default = type(error).description
    if error.description and error.description != default:
        return str(error.description)
    return None
