"""One place answers errors: an ECL page for people, the uniform JSON body for the API.

The request boundary (``PaxFlask``) has rolled the session back before any handler here runs,
so a request that failed never commits a half-made change and its error page reads what is
stored. A service's refusal (``NotAllowed``) answers 403 and invalid input (``ValidationError``)
422, in pages and API alike; a page that shows the refused form again catches them itself
(``app.forms.refused``).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.audit import alerts
from app.concurrency import StaleEdit
from app.files.services import FileUnavailable
from app.i18n import DEFAULT_LANGUAGE, current_language
from app.keys.backend import KeyUnavailable
from app.validation import ValidationError

log = logging.getLogger("pax.errors")


class Refusal(Exception):
    """A refusal to do something to a thing the user may see: 403 in pages and API.

    Services raise its one subclass, ``app.policy.NotAllowed``; it is declared here so that the
    layers below the policy (this module, uploads) can answer it without importing upward.
    """


#: What a person is told, per status; the API uses the code names.
MESSAGES: dict[int, tuple[str, Any, Any]] = {
    400: (
        "bad_request",
        _l("Bad request"),
        _l("The request could not be understood. Check what you sent and try again."),
    ),
    401: ("unauthorized", _l("Sign-in required"), _l("You need to sign in to continue.")),
    403: ("forbidden", _l("Not allowed"), _l("Your account is not allowed to do this.")),
    404: ("not_found", _l("Page not found"), _l("There is nothing here, or you do not have access to it.")),
    405: ("method_not_allowed", _l("Method not allowed"), _l("This address does not accept that kind of request.")),
    409: ("conflict", _l("Conflict"), _l("This conflicts with the current state. Reload and try again.")),
    412: (
        "precondition_failed",
        _l("Changed meanwhile"),
        _l("This item has changed since the version you sent. Fetch it again and resend your change."),
    ),
    413: ("payload_too_large", _l("Too large"), _l("What you sent is larger than the portal accepts.")),
    415: ("unsupported_media_type", _l("Unsupported type"), _l("This kind of content is not accepted here.")),
    422: ("validation_failed", _l("Check your input"), _l("Some of the values sent are not valid.")),
    429: ("rate_limited", _l("Too many requests"), _l("You have made too many requests. Wait a moment and try again.")),
    500: (
        "internal_error",
        _l("Something went wrong"),
        _l("The portal could not complete this request. Nothing was saved; try again later."),
    ),
    503: (
        "unavailable",
        _l("Service unavailable"),
        _l("The portal is temporarily unavailable. Try again in a few minutes."),
    ),
    507: (
        "storage_full",
        _l("The file store is full"),
        _l(
            "The file store has no room left, so the file was not saved. Nothing of it was kept. "
            "The portal's administrators have been alerted; try again later."
        ),
    ),
}

#: Seconds a client is told to wait (``Retry-After``) when a dependency is down (README, "Failures").
RETRY_AFTER_SECONDS = 30


#: How each reason a stored file cannot be served is answered (status, API code, message).
FILE_FAILURES: dict[str, tuple[int, str, Any]] = {
    "stamp": (
        422,
        "file_not_stampable",
        _l(
            "This PDF's marking asks for every copy to carry your name, but the PDF cannot be opened to "
            "stamp it (it is damaged or protected by a password), so nothing was sent. Ask its author for a "
            "copy that opens without a password."
        ),
    ),
    "integrity": (
        500,
        "file_integrity",
        _l(
            "This file failed its integrity check (it is damaged or was tampered with), so nothing of it was sent. "
            "The portal's administrators have been alerted."
        ),
    ),
    "key": (
        503,
        "file_key_unavailable",
        _l(
            "This file's encryption key is not available to the portal right now, so it cannot be opened. "
            "The portal's administrators have been alerted."
        ),
    ),
    "storage": (503, "storage_unavailable", _l("The file store is unavailable. Try again in a few minutes.")),
    # Never reached through the read paths, whose queries leave pending files out: a last guard.
    "scan": (404, "not_found", _l("This file is waiting for a malware scan and cannot be downloaded yet.")),
}


class ApiError(Exception):
    """Raised by API code to answer with the uniform error body."""

    def __init__(self, status: int, message: Any, fields: dict[str, str] | None = None, code: str | None = None):
        message = str(message)  # a lazy (module-level) text is said in the request's language
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}
        self.code = code or MESSAGES.get(status, ("error",))[0]


def wants_json() -> bool:
    if request.path.startswith(("/api/", "/taxii2/")) or request.path == "/taxii2":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def json_error(status: int, message: str, fields: dict[str, str] | None = None, code: str | None = None) -> Response:
    body: dict[str, Any] = {
        "code": code or MESSAGES.get(status, ("error",))[0],
        "message": str(message),
        "fields": {name: str(text) for name, text in (fields or {}).items()},
    }
    response = jsonify({"error": body})
    response.status_code = status
    return response


def error_page(status: int, detail: str | None = None) -> Response:
    _code, title, message = MESSAGES.get(status, MESSAGES[500])
    # The reader's language; with the database down their saved choice cannot be read, and the
    # page is still written (in the language of the cookie or the browser, else English).
    with force_locale(_page_language()):
        title, message = str(title), str(detail or message)
        try:
            html = render_template("errors/error.html", status=status, title=title, message=message)
        except Exception:
            # Rendering loads the signed-in user; with the database down that fails too. The
            # visitor still gets a page that says what happened, not a bare server error.
            log.warning("error page %s rendered without the portal layout", status)
            html = FALLBACK_PAGE.format(
                lang=escape(current_language()),
                title=escape(title),
                message=escape(message),
                error=escape(_("Error %(status)s", status=status)),
            )
    return Response(html, status=status, mimetype="text/html")


def _page_language() -> str:
    try:
        return current_language()
    except Exception:  # the saved choice needs the database
        return DEFAULT_LANGUAGE


FALLBACK_PAGE = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title} - PAX</title>
<link rel="stylesheet" href="/static/ecl/styles/ecl-ec.css"></head>
<body><main class="ecl-container" id="main-content"><h1 class="ecl-u-type-heading-1">{title}</h1>
<p class="ecl-u-type-paragraph-m">{message}</p><p class="ecl-u-type-paragraph-s">{error}</p></main></body></html>
"""


def register(app: Flask) -> None:
    """Answer every error the portal raises, and let the response hooks answer a database outage."""
    for error, handler in (
        (ApiError, handle_api_error),
        (CSRFError, handle_csrf),
        (HTTPException, handle_http),
        (Refusal, handle_refusal),
        (ValidationError, handle_validation),
        (StaleEdit, handle_stale_edit),
        (StaleDataError, handle_stale_data),
        (FileUnavailable, handle_file_unavailable),
        (KeyUnavailable, handle_key_unavailable),
        (Exception, handle_unexpected),
        (InternalServerError, handle_500),
    ):
        app.register_error_handler(error, handler)
    guard_response_hooks(app)


def handle_api_error(error: ApiError) -> Response:
    response = json_error(error.status, error.message, error.fields, error.code)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="PAX API"'
    return response


#: Where a refused form may still be kept (``app.drafts`` registers it): a response, or None.
CSRF_RESCUE = "pax_csrf_rescue"


def handle_csrf(error: CSRFError) -> Response:
    rescue = current_app.extensions.get(CSRF_RESCUE)
    kept = rescue() if rescue is not None else None
    if kept is not None:
        return kept
    detail = _("Your form expired or was not sent from this portal. Go back, reload the page and try again.")
    if wants_json():
        return json_error(400, detail, code="csrf_failed")
    return error_page(400, detail)


def handle_http(error: HTTPException) -> Response:
    status = error.code or 500
    if status < 400:
        return error.get_response()
    if status in (403, 404):
        _audit_policy_refusal(status)
    # 404 and 405 always use our own words: an unknown route and a hidden item must look alike.
    detail = None if status in (404, 405, 500) else _plain_description(error)
    if status == 429:
        detail = _rate_limit_detail(error)
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
        response.headers.setdefault("Retry-After", str(_retry_after_seconds()))
    return response


def _audit_policy_refusal(status: int) -> None:
    """A 403 or 404 that the access policy gave (``app.policy.refuse`` marked it) is an
    ``access.refused`` event and counts towards the refusals alert; an unknown address is not."""
    refusal = g.pop("pax_policy_refusal", None)
    if refusal is None or refusal.status != status:
        return
    try:
        actor = alerts.request_actor() or refusal.user
        alerts.access_refused(actor, status, refusal.target, refusal.need)
    except Exception:  # the refusal is still answered as such, never as a 500
        log.exception("could not audit an access refusal")


def handle_refusal(error: Refusal) -> Response:
    """A service refused the action to someone who may see the thing (403). Pages use the
    portal's own words, as for any 403; the API body carries the service's reason. It is an
    ``access.refused`` event and counts towards the refusals alert."""
    try:
        with force_locale(DEFAULT_LANGUAGE):  # the audit log keeps English (a lazy reason is said so)
            reason = str(error) or None
        alerts.access_refused(alerts.request_actor(), 403, reason=reason)
    except Exception:  # the refusal is still answered as such, never as a 500
        log.exception("could not audit an access refusal")
    if wants_json():
        return json_error(403, str(error) or MESSAGES[403][2])
    return error_page(403)


def handle_validation(error: ValidationError) -> Response:
    """Input a service refused, where no form shows it again: 422 with each field's message."""
    if wants_json():
        return json_error(422, MESSAGES[422][2], error.fields)
    return error_page(422, " ".join(str(v) for v in error.fields.values()) or None)


def handle_stale_edit(error: StaleEdit) -> Response:
    """A save that lost to another one made at the same time (the views that show a form
    catch ``StaleEdit`` themselves, to keep what the member typed)."""
    if wants_json():
        return json_error(409, str(error), code="edit_conflict")
    return error_page(409, error.detail or stale_page_short(error.what))


def handle_stale_data(_error: StaleDataError) -> Response:
    """A versioned row changed under a flush that no service claimed first: still a conflict."""
    message = _("Someone else changed this at the same time; nothing of yours was saved. Reload and try again.")
    if wants_json():
        return json_error(409, message, code="edit_conflict")
    return error_page(409, message)


def handle_file_unavailable(error: FileUnavailable) -> Response:
    """A stored file that cannot be served: nothing of it was sent; already logged and audited."""
    status, code, detail = FILE_FAILURES[error.reason]
    if wants_json():
        return json_error(status, detail, code=code)
    return error_page(status, detail)


KEYS_UNAVAILABLE = _l("The portal cannot reach its encryption keys right now. Try again in a few minutes.")


def handle_key_unavailable(error: KeyUnavailable) -> Response:
    """The key backend (the PKCS#11 token) cannot run an operation: a passing outage, said as such
    (503, Retry-After); nothing that needed the key was sent."""
    log.error("key backend unavailable on %s %s: %s", request.method, request.path, error)
    if wants_json():
        response = json_error(503, KEYS_UNAVAILABLE, code="keys_unavailable")
    else:
        response = error_page(503, KEYS_UNAVAILABLE)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def handle_unexpected(error: Exception) -> Response:
    if _database_unavailable(error):
        return database_unavailable(error)
    log.exception("unhandled error on %s %s", request.method, request.url_rule or request.path)
    if wants_json():
        return json_error(500, MESSAGES[500][2])
    return error_page(500)


def handle_500(error: InternalServerError) -> Response:
    """Also what Flask calls for an error raised outside the view (a ``before_request`` or
    ``after_request`` hook, such as the sign-in page's): the database being down is still 503."""
    original = getattr(error, "original_exception", None)
    if isinstance(original, Exception) and _database_unavailable(original):
        return database_unavailable(original)
    if wants_json():
        return json_error(500, MESSAGES[500][2])
    return error_page(500)


STALE_PAGE_SHORT = (
    "Someone else saved a change to this {what} at the same moment, so nothing of yours was saved. "
    "Go back, reload the page to see their change, and make yours again."
)
#: ``STALE_PAGE_SHORT`` per kind of item, each a whole sentence to translate.
STALE_PAGE_SHORT_TEXTS: dict[str, Any] = {
    "post": _l(
        "Someone else saved a change to this post at the same moment, so nothing of yours was saved. Go back, "
        "reload the page to see their change, and make yours again."
    ),
    "comment": _l(
        "Someone else saved a change to this comment at the same moment, so nothing of yours was saved. Go "
        "back, reload the page to see their change, and make yours again."
    ),
    "attachment": _l(
        "Someone else saved a change to this attachment at the same moment, so nothing of yours was saved. Go "
        "back, reload the page to see their change, and make yours again."
    ),
    "meeting": _l(
        "Someone else saved a change to this meeting at the same moment, so nothing of yours was saved. Go "
        "back, reload the page to see their change, and make yours again."
    ),
    "agenda item": _l(
        "Someone else saved a change to this agenda item at the same moment, so nothing of yours was saved. "
        "Go back, reload the page to see their change, and make yours again."
    ),
    "meeting document": _l(
        "Someone else saved a change to this meeting document at the same moment, so nothing of yours was "
        "saved. Go back, reload the page to see their change, and make yours again."
    ),
    "workplan item": _l(
        "Someone else saved a change to this workplan item at the same moment, so nothing of yours was saved. "
        "Go back, reload the page to see their change, and make yours again."
    ),
    "organisation": _l(
        "Someone else saved a change to this organisation at the same moment, so nothing of yours was saved. "
        "Go back, reload the page to see their change, and make yours again."
    ),
    "identity provider": _l(
        "Someone else saved a change to this identity provider at the same moment, so nothing of yours was "
        "saved. Go back, reload the page to see their change, and make yours again."
    ),
    "cluster membership": _l(
        "Someone else saved a change to this cluster membership at the same moment, so nothing of yours was "
        "saved. Go back, reload the page to see their change, and make yours again."
    ),
}


def stale_page_short(what: str) -> str:
    text = STALE_PAGE_SHORT_TEXTS.get(what)
    return str(text) if text is not None else STALE_PAGE_SHORT.format(what=what)


def guard_response_hooks(app: Flask) -> None:
    """Make the ``after_request`` hooks registered so far (the blueprints') answer 503 when the
    database is down, as views do.

    A hook runs after the error handlers: one that reads the database (the sign-in page's, which
    reads the identity providers for its CSP) would otherwise turn the outage into a 500 without
    ``Retry-After``. The 503 then goes through the remaining hooks (security headers) as usual.
    """
    for name, hooks in app.after_request_funcs.items():
        app.after_request_funcs[name] = [_guarded(hook) for hook in hooks]


def _guarded(hook: Any) -> Any:
    if getattr(hook, "_pax_guarded", False):
        return hook

    @functools.wraps(hook)
    def guarded(response: Response) -> Response:
        try:
            return hook(response)  # type: ignore[no-any-return]
        except Exception as exc:
            if not _database_unavailable(exc):
                raise
            from app.extensions import db

            db.discard()
            return database_unavailable(exc)

    guarded._pax_guarded = True  # type: ignore[attr-defined]
    return guarded


def database_unavailable(error: BaseException) -> Response:
    """The database is down or restarting: a passing outage, said as such (503, Retry-After)."""
    log.error(
        "database unavailable on %s %s: %s", request.method, request.url_rule or request.path, type(error).__name__
    )
    response = json_error(503, MESSAGES[503][2]) if wants_json() else error_page(503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _database_unavailable(error: Exception) -> bool:
    """The database cannot be reached (down, restarting, connection cut), as opposed to a bug."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _retry_at() -> float:
    """When the rate limit this request hit lets the client in again (epoch seconds)."""
    import time

    from app.extensions import limiter

    try:
        current = limiter.current_limit
        return float(current.reset_at) if current is not None else time.time() + 60
    except Exception:  # no limiter state for this request (e.g. a 429 raised by hand)
        return time.time() + 60


def _retry_after_seconds() -> int:
    import time

    return max(1, int(_retry_at() - time.time()))


def _rate_limit_detail(error: HTTPException) -> str:
    """A 429 in plain words with the time to try again, never "10 per 1 minute". Sign-in limits
    bring their own words (``app.auth.throttle``): per account, or per network; so does a 429
    raised by hand with a description (the statistics' daily bound)."""
    from flask_limiter.errors import RateLimitExceeded

    from app.ratelimits import local_time

    if isinstance(error, RateLimitExceeded) and error.limit.error_message:
        return str(error.description)
    if not isinstance(error, RateLimitExceeded) and _plain_description(error):
        return str(error.description)  # a 429 raised by a service with its own words (statistics bound)
    return _(
        "Too many requests from your network; try again at %(time)s (Brussels time).", time=local_time(_retry_at())
    )


def _plain_description(error: HTTPException) -> str | None:
    """Werkzeug's default descriptions are generic English; keep ours unless a view gave its own."""
    default = type(error).description
    if error.description and error.description != default:
        return str(error.description)
    return None
