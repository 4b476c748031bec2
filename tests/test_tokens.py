"""Personal access tokens: shown once, stored hashed, scoped, expiring, revocable."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.auth.models import ApiToken
from tests.conftest import TEST_PASSWORD, csrf_token_from


def create_on_account_page(client, name: str = "Port community system", scope: str = "read", days: str = "30"):  # type: ignore[no-untyped-def]
    token = csrf_token_from(client.get("/account/").get_data(as_text=True))
    # Creating a token asks for the password again (step-up, tests/test_stepup.py).
    data = {"name": name, "scope": scope, "days": days, "csrf_token": token, "reauth_password": TEST_PASSWORD}
    return client.post("/account/tokens", data=data)


def secret_from(html: str) -> str:
    match = re.search(r'id="new-token" value="(pax_[^"]+)"', html)
    assert match, "the new token is not shown"
    return match.group(1)


def test_token_from_the_account_page_is_shown_once_and_works(client, make, login_as, db_session):
    user = make.user(clusters={"policy": "reader"})
    login_as(user)
    response = create_on_account_page(client)
    assert response.status_code == 201
    secret = secret_from(response.get_data(as_text=True))
    assert secret not in client.get("/account/").get_data(as_text=True)
    stored = db_session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    assert stored.token_hash != secret and secret not in stored.token_hash
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    body = me.get_json()
    assert body["email"] == user.email
    assert body["organisation"]["name"] == user.organisation.name
    assert body["memberships"] == [{"cluster": "policy", "role": "reader"}]
    db_session.expire_all()
    assert db_session.get(ApiToken, stored.id).last_used_at is not None
    assert "Never" not in client.get("/account/").get_data(as_text=True).split("Your tokens")[1]


def test_token_form_errors_keep_the_input(client, make, login_as):
    login_as(make.user())
    response = create_on_account_page(client, name="CI system", days="999")
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "between 1 and 365 days" in text
    assert 'value="CI system"' in text


def test_tokens_create_command_prints_the_token_once(runner, make, client):
    user = make.user()
    result = runner.invoke(args=["tokens", "create", "--email", user.email, "--scope", "write", "--days", "7"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[0]
    assert secret.startswith("pax_")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_tokens_create_refuses_unknown_and_pending_users(runner, make):
    assert runner.invoke(args=["tokens", "create", "--email", "nobody@x.example"]).exit_code == 2
    pending = make.user(status="pending")
    result = runner.invoke(args=["tokens", "create", "--email", pending.email])
    assert result.exit_code == 2 and "pending" in result.output


def api_me(client, secret: str):  # type: ignore[no-untyped-def]
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})


def test_expired_revoked_and_unknown_tokens_are_401(client, make, db_session):
    from app.auth.tokens import create_token, revoke_token

    user = make.user()
    expired, expired_secret = create_token(user, "old", "read", 1)
    revoked, revoked_secret = create_token(user, "gone", "read", 30)
    db_session.commit()
    expired.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    revoke_token(user, revoked.id)
    db_session.commit()
    for secret in (expired_secret, revoked_secret, "pax_" + "A" * 43, "not-a-token"):
        response = api_me(client, secret)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/me").status_code == 401


def test_token_of_a_suspended_user_stops_working(client, make, db_session):
    from app.auth.accounts import suspend_user
    from app.auth.tokens import create_token

    user = make.user()
    _, secret = create_token(user, "sys", "read", 30)
    db_session.commit()
    assert api_me(client, secret).status_code == 200
    suspend_user(user)
    db_session.commit()
    assert api_me(client, secret).status_code == 401


@pytest.mark.own_app
def test_read_token_cannot_write(app, client, make, db_session):
    from app.api.auth import token_required
    from app.auth.tokens import create_token
    from app.extensions import csrf

    @app.route("/api/v1/_test/write", methods=["POST"])
    @token_required("write")
    def write_probe():  # type: ignore[no-untyped-def]
        return {"ok": True}

    csrf.exempt(write_probe)

    user = make.user()
    _, read_secret = create_token(user, "r", "read", 30)
    _, write_secret = create_token(user, "w", "write", 30)
    db_session.commit()
    refused = client.post("/api/v1/_test/write", headers={"Authorization": f"Bearer {read_secret}"})
    assert refused.status_code == 403
    assert "scope" in refused.get_json()["error"]["message"]
    assert client.post("/api/v1/_test/write", headers={"Authorization": f"Bearer {write_secret}"}).status_code == 200


def test_the_session_cookie_does_not_authenticate_the_api(client, make, login_as):
    login_as(make.user())
    assert client.get("/api/v1/me").status_code == 401


def test_revoking_on_the_account_page(client, make, login_as, db_session):
    user = make.user()
    login_as(user)
    secret = secret_from(create_on_account_page(client).get_data(as_text=True))
    token_id = db_session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == user.id))
    page = client.get("/account/").get_data(as_text=True)
    client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_token_from(page)})
    assert api_me(client, secret).status_code == 401


def test_another_users_token_cannot_be_revoked(client, make, login_as, db_session):
    from app.auth.tokens import create_token

    owner = make.user()
    token, secret = create_token(owner, "mine", "read", 30)
    db_session.commit()
    login_as(make.user())
    page = client.get("/account/").get_data(as_text=True)
    assert (
        client.post(f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf_token_from(page)}).status_code == 404
    )
    assert api_me(client, secret).status_code == 200
