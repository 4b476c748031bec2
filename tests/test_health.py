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


def test_signed_in_user_gets_an_error_page_when_the_database_is_down(app, client, make, login_as, monkeypatch):
    """Pages fail cleanly (503/500 page, no traceback) when the database stops answering."""
    import sqlalchemy as sa

    from app.extensions import db

    login_as(make.user())

    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(db.session.registry().__class__, "execute", broken)
    monkeypatch.setattr(db.session.registry().__class__, "scalar", broken)
    monkeypatch.setattr(db.session.registry().__class__, "get", broken)
    response = client.get("/dashboard")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    text = response.get_data(as_text=True)
    assert "temporarily unavailable" in text
    assert "server closed the connection" not in text
    assert "Traceback" not in text
