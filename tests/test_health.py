"""Liveness and readiness as a load balancer sees them."""

from __future__ import annotations

from app import create_app
from tests.support import databases


def test_healthz_is_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_ok_at_head(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["migrations"] == "at head"


def test_readyz_503_when_migrations_are_behind(config_factory, test_root):
    with databases.fresh_database(test_root, "behind") as url:
        app = create_app(config_factory(DATABASE_URL=url))
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["migrations"] == "behind"
        from app.extensions import db

        db.engine.dispose()


def test_readyz_503_when_database_unreachable(config_factory):
    app = create_app(config_factory(DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
    assert "nobody" not in response.get_data(as_text=True)
