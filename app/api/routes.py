"""/api/v1 routes (README, "API"). Every route but the OpenAPI document and the pack key
authenticates with a bearer token.

One module per resource holds its views, what it answers and its OpenAPI description
(``app.api.posts``, ``app.api.meetings``, ...); they register on the blueprint of
``app.api.blueprint``. ``app.api.openapi`` imports every resource module to build the document,
so importing it here attaches every view, and ``from app.api.routes import bp`` gives the whole
API. What is left here is the answer for a path no resource serves.
"""

from __future__ import annotations

import contextlib

from flask import current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from app.api import openapi  # noqa: F401  (it imports every resource module, whose views register on bp)
from app.api.blueprint import bp

__all__ = ["bp"]


_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@bp.route("/", defaults={"path": ""}, methods=_METHODS)
@bp.route("/<path:path>", methods=_METHODS)
def unknown(path: str) -> None:
    """Anything under /api/v1 without a route answers the uniform JSON 404, whatever the method.

    A path that a real route serves, with a method it does not accept, stays 405.
    """
    adapter = current_app.create_url_adapter(request)
    allowed = []
    for method in _METHODS:
        with contextlib.suppress(HTTPException):
            if adapter is not None and adapter.match(request.path, method=method)[0] != request.endpoint:
                allowed.append(method)
    if allowed:
        raise MethodNotAllowed(valid_methods=allowed)
    raise NotFound()
