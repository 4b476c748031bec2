from __future__ import annotations

import logging

from flask import jsonify
from werkzeug.wrappers import Response

from app.extensions import db
from app.health.blueprint import bp
from app.keys.backend import KeyUnavailable, backend
from app.migrations_state import migration_state

log = logging.getLogger("pax.health")


@bp.route("/healthz")
def healthz() -> Response:
    """The process is alive and answering; says nothing about its dependencies."""
    return jsonify({"status": "ok"})


@bp.route("/readyz")
def readyz() -> Response | tuple[Response, int]:
    """Ready for traffic: the database answers, its schema is at the migrations' head, and the keys
    answer (a PKCS#11 token that went away takes this worker out of the load balancer's rotation)."""
    try:
        current, head = migration_state(db.engine)
    except Exception as exc:  # any failure to reach the database means not ready
        log.warning("readiness check failed: %s", type(exc).__name__)
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
    if current != head:
        return jsonify({"status": "unavailable", "database": "reachable", "migrations": "behind"}), 503
    try:
        backend().active_kek_id  # noqa: B018 - asking the backend is the check
    except KeyUnavailable as exc:
        log.warning("readiness check failed: the keys are unavailable: %s", exc)
        return jsonify(
            {"status": "unavailable", "database": "reachable", "migrations": "at head", "keys": "unavailable"}
        ), 503
    return jsonify({"status": "ok", "database": "reachable", "migrations": "at head", "keys": "available"})
