"""v5.0.0-6.4.1: a password ``users create`` generated and printed is the account's for one sign-in
only: until its owner chooses their own, every page but the password change sends them there."""

from __future__ import annotations

import sqlalchemy as sa

from app.auth.models import User
from app.extensions import db
from tests.conftest import csrf_token_from, login

OWN_PASSWORD = "my own long harbour phrase 42"


def created_with_generated_password(runner, make, email: str = "first@gen.example") -> str:  # type: ignore[no-untyped-def]
    org = make.org(name="First Password Org")
    result = runner.invoke(
        args=["users", "create", "--email", email, "--name", "First", "--org", org.name], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "must choose its own password" in result.output
    return result.output.split("Password (shown once): ")[1].strip()


def user_by_email(email: str) -> User:
    db.session.expire_all()
    return db.session.scalars(sa.select(User).where(User.email == email)).one()


def test_a_generated_password_must_be_changed_at_first_sign_in(runner, make, client):
    password = created_with_generated_password(runner, make)
    assert user_by_email("first@gen.example").password_must_change is True
    assert login(client, "first@gen.example", password).status_code == 302
    for path in ("/dashboard", "/clusters/", "/account/data.json"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/account/"), path
    page = client.get("/account/").get_data(as_text=True)
    assert "Choose a password of your own" in page
    # Other forms are refused the same way: no token is made.
    answer = client.post(
        "/account/tokens", data={"name": "x", "scope": "read", "days": "5", "csrf_token": csrf_token_from(page)}
    )
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/account/")
    answer = client.post(
        "/account/password",
        data={
            "current_password": password,
            "new_password": OWN_PASSWORD,
            "confirm_password": OWN_PASSWORD,
            "csrf_token": csrf_token_from(page),
        },
    )
    assert answer.status_code == 302
    assert user_by_email("first@gen.example").password_must_change is False
    assert client.get("/dashboard").status_code == 200


def test_signing_out_is_allowed_before_the_change(runner, make, client):
    password = created_with_generated_password(runner, make)
    login(client, "first@gen.example", password)
    page = client.get("/account/").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_token_from(page)}).status_code == 302
    assert client.get("/dashboard").headers["Location"].startswith("/login")


def test_an_operator_chosen_password_is_not_marked(runner, make):
    org = make.org(name="Chosen Password Org")
    result = runner.invoke(
        args=["users", "create", "--email", "chosen@gen.example", "--name", "C", "--org", org.name, "--password-stdin"],
        input="an operator picked harbour phrase\n",
        catch_exceptions=False,
    )
    assert result.exit_code == 0
    assert user_by_email("chosen@gen.example").password_must_change is False


def test_api_tokens_are_not_held(runner, make, app):
    from app.auth.tokens import create_token

    created_with_generated_password(runner, make)
    _, secret = create_token(user_by_email("first@gen.example"), "system", "read", 5)
    db.session.commit()
    answer = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200


def test_only_password_sessions_are_held(runner, make, app):
    """An SSO sign-in does not use the generated password, so it is not held."""
    from app.auth.first_password import must_change_now
    from app.auth.sessions import start_session

    created_with_generated_password(runner, make)
    user = user_by_email("first@gen.example")
    for method, held in (("sso", False), ("password", True)):
        with app.test_request_context("/dashboard"):
            start_session(user, method)
            assert must_change_now() is held


def test_a_password_reset_clears_the_mark(runner, make, app):
    from app.auth.reset import complete_reset, send_reset

    created_with_generated_password(runner, make)
    user = user_by_email("first@gen.example")
    administrator = make.user(role="admin", org_type="commission")
    with app.test_request_context("/"):
        complete_reset(send_reset(user, administrator), OWN_PASSWORD, OWN_PASSWORD)
    db.session.commit()
    assert user_by_email("first@gen.example").password_must_change is False
