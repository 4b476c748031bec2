"""Step-up: a live session alone (a stolen cookie) cannot change the password, remove the second
factor, create an API token or make new recovery codes; the owner, asked again, can."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import sqlalchemy as sa

from app.auth.models import ApiToken, RecoveryCode, User, UserSession
from app.db import utcnow
from app.extensions import db
from tests.conftest import TEST_PASSWORD, csrf_token_from, login

NEW_PASSWORD = "another long harbour password"


def token(client) -> str:  # type: ignore[no-untyped-def]
    return csrf_token_from(client.get("/account/").get_data(as_text=True))


def fresh_code(make, user) -> str:  # type: ignore[no-untyped-def]
    """A recovery code: TOTP codes are accepted once per time step, and sign-in used this one."""
    return make.mfa[user.id][1].pop()


def hijacked(app, make, user):  # type: ignore[no-untyped-def]
    """A browser holding a copy of the owner's live session cookie, and nothing else."""
    from tests.conftest import sign_in

    owner = sign_in(app.test_client(), make, user)
    thief = app.test_client()
    cookie = owner.get_cookie(app.config["SESSION_COOKIE_NAME"])
    thief.set_cookie(cookie.key, cookie.value, domain=cookie.domain or "localhost")
    assert thief.get("/account/").status_code == 200
    return thief


def test_a_hijacked_session_cannot_change_the_password(app, make):
    user = make.user()
    make.enrol_mfa(user)
    thief = hijacked(app, make, user)
    # Without the password, nothing; with it (say, phished) but without the second factor, nothing.
    for current in ("guess-guess-guess", TEST_PASSWORD):
        answer = thief.post(
            "/account/password",
            data={
                "current_password": current,
                "new_password": NEW_PASSWORD,
                "confirm_password": NEW_PASSWORD,
                "csrf_token": token(thief),
            },
        )
        assert answer.status_code == 422
    db.session.expire_all()
    assert login(app.test_client(), user.email, TEST_PASSWORD).status_code == 302


def test_the_owner_changes_the_password_with_password_and_code(app, make):
    user = make.user()
    make.enrol_mfa(user)
    owner = hijacked(app, make, user)
    answer = owner.post(
        "/account/password",
        data={
            "current_password": TEST_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "reauth_code": fresh_code(make, user),
            "csrf_token": token(owner),
        },
    )
    assert answer.status_code == 302
    assert login(app.test_client(), user.email, NEW_PASSWORD).headers["Location"] == "/login/mfa"


def test_a_hijacked_session_cannot_remove_mfa(app, make):
    user = make.user()
    make.enrol_mfa(user)
    thief = hijacked(app, make, user)
    assert thief.post("/account/mfa/remove", data={"csrf_token": token(thief)}).status_code == 422
    refused = thief.post(
        "/account/mfa/remove", data={"csrf_token": token(thief), "reauth_password": "not the password"}
    )
    assert refused.status_code == 422 and "password is not correct" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret_sealed is not None


def test_the_owner_removes_mfa_with_password_and_code(app, make):
    user = make.user()
    secret = make.enrol_mfa(user)
    owner = hijacked(app, make, user)
    code = pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=30))  # the next step: not used at sign-in
    answer = owner.post(
        "/account/mfa/remove",
        data={"csrf_token": token(owner), "reauth_password": TEST_PASSWORD, "reauth_code": code},
    )
    assert answer.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret_sealed is None


def test_a_hijacked_session_cannot_create_a_token(app, make):
    user = make.user()
    thief = hijacked(app, make, user)
    data = {"name": "exfiltration", "scope": "write", "days": "365"}
    refused = thief.post("/account/tokens", data={**data, "csrf_token": token(thief)})
    assert refused.status_code == 422 and "Enter your password" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
    created = thief.post("/account/tokens", data={**data, "reauth_password": TEST_PASSWORD, "csrf_token": token(thief)})
    assert created.status_code == 201  # the password is what makes it the owner


def test_a_hijacked_session_cannot_make_new_recovery_codes(app, make):
    user = make.user()
    make.enrol_mfa(user)
    thief = hijacked(app, make, user)
    before = set(db.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)))
    answer = thief.post(
        "/account/mfa/recovery-codes", data={"csrf_token": token(thief), "reauth_password": TEST_PASSWORD}
    )
    assert answer.status_code == 422
    after = set(db.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)))
    assert before == after


def test_a_step_up_is_remembered_for_a_few_minutes(app, make):
    user = make.user()
    make.enrol_mfa(user)
    owner = hijacked(app, make, user)
    first = owner.post(
        "/account/mfa/recovery-codes",
        data={"csrf_token": token(owner), "reauth_password": TEST_PASSWORD, "reauth_code": fresh_code(make, user)},
    )
    assert first.status_code == 200 and first.get_data(as_text=True).count("<code>") == 10
    page = owner.get("/account/").get_data(as_text=True)
    assert 'name="reauth_password"' not in page
    created = owner.post(
        "/account/tokens", data={"name": "ci", "scope": "read", "days": "30", "csrf_token": token(owner)}
    )
    assert created.status_code == 201
    # After the window, it asks again.
    db.session.execute(sa.update(UserSession).values(reauthenticated_at=utcnow() - timedelta(minutes=6)))
    db.session.commit()
    again = owner.post(
        "/account/tokens", data={"name": "ci2", "scope": "read", "days": "30", "csrf_token": token(owner)}
    )
    assert again.status_code == 422


def test_wrong_step_up_passwords_lock_the_account(app, make):
    user = make.user()
    thief = hijacked(app, make, user)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        answer = thief.post(
            "/account/tokens",
            data={
                "name": "x",
                "scope": "read",
                "days": "1",
                "reauth_password": "wrong guess!",
                "csrf_token": token(thief),
            },
        )
    assert "locked" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).locked_until is not None


def test_sso_only_account_is_asked_to_sign_in_again_unless_fresh(app, make):
    from app.auth.sessions import token_hash

    user = make.user(password=None)
    client = app.test_client()
    # A session as an SSO sign-in makes it, started long enough ago.
    with app.test_request_context():
        from flask import session

        from app.auth.sessions import SESSION_KEY, start_session

        start_session(user, "sso:1")
        secret = session[SESSION_KEY]
        db.session.commit()
    with client.session_transaction() as browser_session:
        browser_session[SESSION_KEY] = secret
        browser_session["_user_id"] = str(user.id)
        browser_session["_fresh"] = True
    data = {"name": "ci", "scope": "read", "days": "30"}
    fresh = client.post("/account/tokens", data={**data, "csrf_token": token(client)})
    assert fresh.status_code == 201
    row = db.session.scalar(sa.select(UserSession).where(UserSession.token_hash == token_hash(secret)))
    row.created_at = utcnow() - timedelta(minutes=10)
    db.session.commit()
    stale = client.post("/account/tokens", data={**data, "name": "ci2", "csrf_token": token(client)})
    assert stale.status_code == 422 and "sign in again" in stale.get_data(as_text=True).lower()
    page = client.get("/account/confirm?next=/account/").get_data(as_text=True)
    assert "Sign in again" in page


def test_confirm_page_returns_to_a_local_page_only(app, make):
    user = make.user()
    client = hijacked(app, make, user)
    page = client.get("/account/confirm?next=https://evil.example/").get_data(as_text=True)
    done = client.post(
        "/account/confirm",
        data={"csrf_token": csrf_token_from(page), "next": "https://evil.example/", "reauth_password": TEST_PASSWORD},
    )
    assert done.status_code == 302 and done.headers["Location"] == "/account/"
    # Now recent: the page sends straight on.
    assert client.get("/account/confirm?next=/notifications/").headers["Location"] == "/notifications/"


def test_ending_other_sessions_asks_for_a_fresh_factor(make, new_client):
    """v5.0.0-7.5.2: without a recent step-up the account page asks for the password again and ends
    nothing; with it, the other sessions end."""
    user = make.user()
    phone, laptop = new_client(user), new_client(user)
    answer = laptop.post("/account/sessions/revoke-others", data={"csrf_token": token(laptop)})
    assert answer.status_code == 422
    assert "Enter your password to confirm it is you." in answer.get_data(as_text=True)
    assert phone.get("/dashboard").status_code == 200
    answer = laptop.post(
        "/account/sessions/revoke-others", data={"csrf_token": token(laptop), "reauth_password": "not it at all"}
    )
    assert answer.status_code == 422 and "That password is not correct." in answer.get_data(as_text=True)
    assert phone.get("/dashboard").status_code == 200
    answer = laptop.post(
        "/account/sessions/revoke-others", data={"csrf_token": token(laptop), "reauth_password": TEST_PASSWORD}
    )
    assert answer.status_code == 302
    assert phone.get("/dashboard").status_code == 302 and laptop.get("/dashboard").status_code == 200


def test_a_hijacked_session_cannot_sign_its_owner_out(app, make, new_client, db_session):
    """With the password (phished) but not the second factor, a stolen cookie ends no session:
    not one, not the others, not all."""
    user = make.user()
    make.enrol_mfa(user)
    owner = new_client(user)
    thief = hijacked(app, make, user)
    mine = db_session.scalar(sa.select(sa.func.min(UserSession.id)).where(UserSession.user_id == user.id))
    for path in ("/account/sessions/revoke-all", "/account/sessions/revoke-others", f"/account/sessions/{mine}/revoke"):
        answer = thief.post(path, data={"csrf_token": token(thief), "reauth_password": TEST_PASSWORD})
        assert answer.status_code == 422, path
        assert "Enter the code from your authenticator app" in answer.get_data(as_text=True)
    assert owner.get("/dashboard").status_code == 200


def test_the_owner_ends_every_session_with_password_and_code(make, new_client):
    user = make.user()
    make.enrol_mfa(user)
    phone, laptop = new_client(user), new_client(user)
    answer = laptop.post(
        "/account/sessions/revoke-all",
        data={"csrf_token": token(laptop), "reauth_password": TEST_PASSWORD, "reauth_code": fresh_code(make, user)},
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"
    assert phone.get("/dashboard").status_code == 302 and laptop.get("/dashboard").status_code == 302


def test_a_recent_step_up_covers_ending_one_session(make, new_client, db_session):
    user = make.user()
    phone, laptop = new_client(user), new_client(user)
    phone_session = db_session.scalar(sa.select(sa.func.min(UserSession.id)).where(UserSession.user_id == user.id))
    confirmed = laptop.post("/account/confirm", data={"csrf_token": token(laptop), "reauth_password": TEST_PASSWORD})
    assert confirmed.status_code == 302
    answer = laptop.post(f"/account/sessions/{phone_session}/revoke", data={"csrf_token": token(laptop)})
    assert answer.status_code == 302
    assert phone.get("/dashboard").status_code == 302 and laptop.get("/dashboard").status_code == 200
