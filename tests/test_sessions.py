"""Sessions end when they should: everywhere at once, when idle, and at their absolute limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.auth.models import User, UserSession
from tests.conftest import TEST_PASSWORD, csrf_token_from


def post(client, path: str, data: dict | None = None, page: str = "/account/"):  # type: ignore[no-untyped-def]
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    return client.post(path, data={**(data or {}), "csrf_token": token})


def test_logout_everywhere_kills_a_second_browser(make, new_client):
    user = make.user()
    laptop, phone = new_client(user), new_client(user)
    assert phone.get("/dashboard").status_code == 200
    response = post(laptop, "/account/sessions/revoke-all", {"reauth_password": TEST_PASSWORD})
    assert response.headers["Location"] == "/login"
    assert phone.get("/dashboard").status_code == 302
    assert laptop.get("/dashboard").status_code == 302


def test_logout_ends_only_this_session(make, new_client):
    user = make.user()
    laptop, phone = new_client(user), new_client(user)
    post(laptop, "/logout", page="/dashboard")
    assert laptop.get("/dashboard").status_code == 302
    assert phone.get("/dashboard").status_code == 200


def test_a_stolen_cookie_is_dead_after_logout(app, make, new_client):
    user = make.user()
    victim = new_client(user)
    with victim.session_transaction() as sess:
        stolen = dict(sess)
    post(victim, "/logout", page="/dashboard")
    thief = app.test_client()
    with thief.session_transaction() as sess:
        sess.update(stolen)
    assert thief.get("/dashboard").status_code == 302


def test_password_change_ends_other_sessions_but_not_this_one(make, new_client):
    user = make.user()
    laptop, phone = new_client(user), new_client(user)
    response = post(
        laptop,
        "/account/password",
        {
            "current_password": TEST_PASSWORD,
            "new_password": "a brand new passphrase",
            "confirm_password": "a brand new passphrase",
        },
    )
    assert response.status_code == 302
    assert laptop.get("/dashboard").status_code == 200
    assert phone.get("/dashboard").status_code == 302


def test_password_change_errors_are_shown_in_the_form(make, new_client):
    user = make.user()
    laptop = new_client(user)
    response = post(
        laptop, "/account/password", {"current_password": "wrong", "new_password": "short", "confirm_password": "short"}
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "current password is not correct" in text
    assert "at least 12 characters" in text


def test_role_change_and_suspension_end_sessions(make, new_client, db_session):
    from app.auth.accounts import change_role, suspend_user

    user = make.user()
    browser = new_client(user)
    change_role(db_session.get(User, user.id), "auditor")
    db_session.commit()
    assert browser.get("/dashboard").status_code == 302

    other = make.user()
    browser = new_client(other)
    suspend_user(db_session.get(User, other.id))
    db_session.commit()
    assert browser.get("/dashboard").status_code == 302


def _age_session(db_session, user, **changes) -> None:  # type: ignore[no-untyped-def]
    db_session.execute(sa.update(UserSession).where(UserSession.user_id == user.id).values(**changes))
    db_session.commit()


def test_idle_session_expires(app, make, new_client, db_session):
    user = make.user()
    browser = new_client(user)
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    _age_session(db_session, user, last_seen_at=datetime.now(UTC) - idle + timedelta(minutes=2))
    assert browser.get("/dashboard").status_code == 200
    _age_session(db_session, user, last_seen_at=datetime.now(UTC) - idle - timedelta(seconds=5))
    assert browser.get("/dashboard").status_code == 302


def test_activity_keeps_a_session_alive(app, make, new_client, db_session):
    user = make.user()
    browser = new_client(user)
    _age_session(db_session, user, last_seen_at=datetime.now(UTC) - timedelta(minutes=5))
    assert browser.get("/dashboard").status_code == 200
    db_session.expire_all()
    seen = db_session.scalar(sa.select(UserSession.last_seen_at).where(UserSession.user_id == user.id))
    assert datetime.now(UTC) - seen < timedelta(minutes=1)


def test_absolute_lifetime_ends_even_an_active_session(make, new_client, db_session):
    user = make.user()
    browser = new_client(user)
    _age_session(db_session, user, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert browser.get("/dashboard").status_code == 302


def test_session_secret_is_stored_hashed(make, new_client, db_session):
    user = make.user()
    browser = new_client(user)
    with browser.session_transaction() as sess:
        secret = sess["pax_sid"]
    stored = db_session.scalars(sa.select(UserSession.token_hash).where(UserSession.user_id == user.id)).all()
    assert stored and secret not in stored


def test_login_issues_a_fresh_session_secret(app, make):
    """A session identifier planted before login is not the one used after it (no fixation)."""
    from tests.conftest import login

    user = make.user()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["pax_sid"] = "planted-by-attacker"
    login(client, user.email)
    with client.session_transaction() as sess:
        assert sess["pax_sid"] != "planted-by-attacker"


def test_session_cookie_flags(app, make):
    from tests.conftest import login

    user = make.user()
    client = app.test_client()
    response = login(client, user.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_signing_out_another_session_from_the_account_page(make, new_client, db_session):
    user = make.user()
    laptop, phone = new_client(user), new_client(user)
    phone_session = db_session.scalar(sa.select(sa.func.max(UserSession.id)).where(UserSession.user_id == user.id))
    page = laptop.get("/account/").get_data(as_text=True)
    assert f"/account/sessions/{phone_session}/revoke" in page
    response = laptop.post(
        f"/account/sessions/{phone_session}/revoke",
        data={"csrf_token": csrf_token_from(page), "reauth_password": TEST_PASSWORD},
    )
    assert response.status_code == 302
    assert phone.get("/dashboard").status_code == 302
    assert laptop.get("/dashboard").status_code == 200


def test_another_users_session_cannot_be_signed_out(make, new_client, db_session):
    victim = make.user()
    new_client(victim)
    victim_session = db_session.scalar(sa.select(UserSession.id).where(UserSession.user_id == victim.id))
    attacker = new_client(make.user())
    page = attacker.get("/account/").get_data(as_text=True)
    response = attacker.post(
        f"/account/sessions/{victim_session}/revoke",
        data={"csrf_token": csrf_token_from(page), "reauth_password": TEST_PASSWORD},
    )
    assert response.status_code == 404
    db_session.expire_all()
    assert db_session.get(UserSession, victim_session).revoked_at is None
