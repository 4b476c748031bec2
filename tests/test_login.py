"""Local login and logout as a member, an attacker and a suspended user see them."""

from __future__ import annotations

import pytest

from app.auth.models import User
from tests.conftest import TEST_PASSWORD, csrf_token_from, login

BAD = "The e-mail address or password is incorrect."


def test_member_signs_in_and_sees_dashboard(client, make):
    user = make.user(clusters={"policy": "contributor"})
    response = login(client, user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"
    page = client.get("/dashboard").get_data(as_text=True)
    assert user.name in page
    assert "Policy development and implementation" in page


def test_email_is_case_insensitive(client, make):
    user = make.user()
    assert login(client, user.email.upper()).status_code == 302


def test_wrong_password_and_unknown_email_read_the_same(client, make):
    user = make.user()
    wrong_password = login(client, user.email, "not the password")
    unknown_email = login(client, "nobody@nowhere.example", TEST_PASSWORD)
    for response in (wrong_password, unknown_email):
        assert response.status_code == 422
        assert BAD in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_typed_email_is_kept_after_a_failed_login(client, make):
    user = make.user()
    page = login(client, user.email, "nope").get_data(as_text=True)
    assert f'value="{user.email}"' in page


@pytest.mark.parametrize(
    ("status", "message"),
    [("pending", "awaiting approval"), ("suspended", "suspended")],
)
def test_pending_and_suspended_accounts_cannot_sign_in(client, make, status, message):
    user = make.user(status=status)
    response = login(client, user.email)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_status_is_only_revealed_with_the_right_password(client, make):
    user = make.user(status="suspended")
    page = login(client, user.email, "guess").get_data(as_text=True)
    assert BAD in page
    assert "suspended" not in page


def test_suspension_ends_an_open_session(client, make, login_as, db_session):
    user = make.user()
    login_as(user)
    assert client.get("/dashboard").status_code == 200
    db_session.get(User, user.id).status = "suspended"
    db_session.commit()
    assert client.get("/dashboard").status_code == 302


def test_empty_email_shows_a_field_error(client):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    page = client.post("/login", data={"csrf_token": token, "email": ""})
    assert page.status_code == 422
    assert "Enter your e-mail address." in page.get_data(as_text=True)


def test_empty_password_shows_a_field_error_and_keeps_the_email(client, make):
    user = make.user()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    page = client.post("/login", data={"csrf_token": token, "email": user.email, "password": ""})
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "Enter your password." in text
    assert f'value="{user.email}"' in text


def test_email_without_provider_asks_for_the_password(client, make):
    user = make.user()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    page = client.post("/login", data={"csrf_token": token, "email": user.email})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'type="password"' in text
    assert f'value="{user.email}"' in text


def test_login_without_csrf_token_is_refused(client, make):
    user = make.user()
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_password_is_stored_as_argon2id(make):
    user = make.user()
    assert user.password_hash.startswith("$argon2id$")
    assert TEST_PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/clusters/policy", "/clusters/policy"),
        ("https://evil.example/", "/dashboard"),
        ("//evil.example/", "/dashboard"),
        ("http:///evil.example", "/dashboard"),
        ("/\\evil.example", "/dashboard"),
        ("javascript:alert(1)", "/dashboard"),
    ],
)
def test_next_redirect_stays_on_this_host(client, make, target, expected):
    user = make.user()
    page = client.get("/login", query_string={"next": target}).get_data(as_text=True)
    token = csrf_token_from(page)
    response = client.post(
        "/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token, "next": target}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_logout_requires_post_and_ends_the_session(client, make, login_as):
    user = make.user()
    login_as(user)
    assert client.get("/logout").status_code == 405
    token = csrf_token_from(client.get("/dashboard").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/dashboard").status_code == 302


def test_protected_pages_send_anonymous_users_to_login(client):
    for path in ("/dashboard", "/clusters/", "/clusters/policy"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


def test_signing_in_after_a_post_only_address_lands_on_the_page_above_it(client, make):
    """A comment sent after the session ended asks for sign-in with ``next`` set to the form's
    action, which only takes POST: signing in then opens the post, never "method not allowed"."""
    import re

    import sqlalchemy as sa

    from app.auth.models import UserSession
    from app.db import utcnow
    from app.extensions import db
    from tests.test_posts_pages import publish

    author = make.user(clusters={"policy": "contributor"})
    post = publish(author, title="Gate checks")
    login(client, author.email)
    form_token = csrf_token_from(client.get(f"/posts/{post.id}").get_data(as_text=True))
    # The session ends while the comment is being written (here: ended on the server).
    db.session.execute(sa.update(UserSession).where(UserSession.user_id == author.id).values(revoked_at=utcnow()))
    db.session.commit()
    asked = client.post(f"/posts/{post.id}/comments", data={"body": "Seen too.", "csrf_token": form_token})
    assert asked.status_code == 302 and "/login" in asked.headers["Location"]
    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    found = re.search(r'name="next"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="next"', page)
    assert found is not None
    target = found.group(1) or found.group(2)
    assert target == f"/posts/{post.id}", target
    answer = client.post(
        "/login",
        data={"email": author.email, "password": TEST_PASSWORD, "next": target, "csrf_token": csrf_token_from(page)},
    )
    assert answer.status_code == 302 and answer.headers["Location"] == f"/posts/{post.id}"
    assert client.get(answer.headers["Location"]).status_code == 200
