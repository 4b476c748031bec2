"""Password reset by mail: the same answer for every address, single use, 30 minutes, every
session ends, the second factor stays; mail goes through the outbox to a real SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import User, UserSession
from app.auth.onboarding_models import PasswordReset
from app.db import utcnow
from app.extensions import db
from app.notifications.models import OutboxMessage
from tests.conftest import TEST_PASSWORD, csrf_token_from, login
from tests.support.smtp import deliver_outbox

NEW_PASSWORD = "a brand new harbour password"
LINK = re.compile(r"http://\S+/login/reset/(\S+)")


def ask_for_reset(client, email: str):  # type: ignore[no-untyped-def]
    token = csrf_token_from(client.get("/login/forgot").get_data(as_text=True))
    return client.post("/login/forgot", data={"email": email, "csrf_token": token})


def set_password(client, path: str, password: str = NEW_PASSWORD):  # type: ignore[no-untyped-def]
    page = client.get(path)
    if page.status_code != 200:
        return page
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(path, data={"new_password": password, "confirm_password": password, "csrf_token": token})


def reset_path(received) -> str:  # type: ignore[no-untyped-def]
    match = LINK.search(received.text)
    assert match, received.text
    return "/login/reset/" + match.group(1)


def test_sign_in_page_offers_forgot_password(client, make):
    user = make.user()
    page = client.get("/login")
    token = csrf_token_from(page.get_data(as_text=True))
    step = client.post("/login", data={"email": user.email, "csrf_token": token}).get_data(as_text=True)
    assert "Forgot your password?" in step and "/login/forgot" in step


def test_reset_by_mail_through_smtp_ends_every_session_and_keeps_mfa(app, client, make, new_client, runner, smtp):
    user = make.user()
    make.enrol_mfa(user)
    other_browser = new_client(user)
    assert other_browser.get("/account/").status_code == 200

    answer = ask_for_reset(client, user.email.upper())
    assert answer.status_code == 200 and "If an account exists for that address" in answer.get_data(as_text=True)
    [received] = deliver_outbox(app, runner, smtp)
    assert received.envelope_to == [user.email] and "new password" in received.message["Subject"]
    path = reset_path(received)

    # Only the secret's hash is stored, and no log, outbox row or audit event keeps it elsewhere.
    secret = path.rsplit("/", 1)[1]
    stored = db.session.scalar(sa.select(PasswordReset).where(PasswordReset.user_id == user.id))
    assert stored.token_hash != secret and len(stored.token_hash) == 64
    assert stored.expires_at - stored.created_at == timedelta(minutes=30)

    done = set_password(client, path)
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    # Every session ended, on every browser.
    assert other_browser.get("/account/").status_code == 302
    db.session.expire_all()
    live = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    )
    assert live == 0
    # The old password is dead, the new one works, and the second factor is still asked for.
    assert login(client, user.email, TEST_PASSWORD).status_code == 422
    assert login(client, user.email, NEW_PASSWORD).headers["Location"] == "/login/mfa"
    details = [
        str(e.details)
        for e in db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action.like("auth.password_reset%")))
    ]
    assert details and not any(secret in d for d in details)
    assert {"auth.password_reset_request", "auth.password_reset"} <= set(
        db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("auth.password_reset%")))
    )


def test_a_used_link_is_refused(client, make, app, runner, smtp):
    user = make.user()
    ask_for_reset(client, user.email)
    path = reset_path(deliver_outbox(app, runner, smtp)[0])
    assert set_password(client, path).status_code == 302
    again = client.get(path)
    assert again.status_code == 404 and "does not work any more" in again.get_data(as_text=True)
    assert set_password(client, path, "yet another harbour password").status_code == 404


def test_an_expired_link_is_refused(client, make, app, runner, smtp):
    user = make.user()
    ask_for_reset(client, user.email)
    path = reset_path(deliver_outbox(app, runner, smtp)[0])
    db.session.execute(sa.update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert client.get(path).status_code == 404
    assert login(client, user.email, TEST_PASSWORD).status_code == 302


def test_a_newer_link_voids_the_older_one(client, make, app, runner, smtp):
    user = make.user()
    ask_for_reset(client, user.email)
    ask_for_reset(client, user.email)
    first, second = deliver_outbox(app, runner, smtp)
    assert client.get(reset_path(first)).status_code == 404
    assert client.get(reset_path(second)).status_code == 200


def test_the_answer_does_not_show_whether_an_address_has_an_account(client, make, app, runner, smtp):
    user = make.user()
    known = ask_for_reset(client, user.email)
    unknown = ask_for_reset(client, "nobody-here@" + user.email.split("@")[1])

    def text(response) -> str:  # type: ignore[no-untyped-def]
        body = response.get_data(as_text=True)
        return re.sub(r'value="[^"]*"', "", body)

    assert known.status_code == unknown.status_code == 200
    assert text(known) == text(unknown)
    assert len(deliver_outbox(app, runner, smtp)) == 1


def test_the_new_password_must_be_acceptable(client, make, app, runner, smtp):
    user = make.user()
    ask_for_reset(client, user.email)
    path = reset_path(deliver_outbox(app, runner, smtp)[0])
    short = set_password(client, path, "short")
    assert short.status_code == 422 and "at least 12 characters" in short.get_data(as_text=True)
    assert client.get(path).status_code == 200  # a refused password does not use up the link


def test_a_reset_clears_the_lockout(client, make, app, runner, smtp):
    user = make.user()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(client, user.email, "wrong password!")
    assert "locked" in login(client, user.email, TEST_PASSWORD).get_data(as_text=True)
    ask_for_reset(client, user.email)
    assert set_password(client, reset_path(deliver_outbox(app, runner, smtp)[0])).status_code == 302
    assert login(client, user.email, NEW_PASSWORD).headers["Location"] == "/dashboard"


def test_sso_only_and_suspended_accounts_get_no_link(client, make, app, runner, smtp):
    sso_only = make.user(password=None)
    suspended = make.user(status="suspended")
    for user in (sso_only, suspended):
        assert ask_for_reset(client, user.email).status_code == 200
    inbox = deliver_outbox(app, runner, smtp)
    assert [m.envelope_to for m in inbox] == [[sso_only.email]]
    assert "/login/reset/" not in inbox[0].text and "no PAX password" in inbox[0].text


def test_administrator_sends_a_reset_link(client, make, login_as, app, runner, smtp):
    admin = make.user(role="admin", org_type="commission")
    user = make.user()
    login_as(admin)
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Send a password reset link" in page
    sent = client.post(f"/admin/users/{user.id}/send-password-reset", data={"csrf_token": csrf_token_from(page)})
    assert sent.status_code == 302
    [received] = deliver_outbox(app, runner, smtp)
    assert received.envelope_to == [user.email] and "administrator" in received.text
    stored = db.session.scalar(sa.select(PasswordReset).where(PasswordReset.user_id == user.id))
    assert stored.requested_by_id == admin.id
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "admin.password_reset_sent"))
    other = app.test_client()
    assert set_password(other, reset_path(received)).status_code == 302
    assert login(other, user.email, NEW_PASSWORD).headers["Location"] == "/dashboard"


def test_only_administrators_send_reset_links(client, make, login_as):
    focal = make.user(focal_point=True)
    colleague = make.user(org=focal.organisation)
    login_as(focal)
    token = csrf_token_from(client.get("/account/").get_data(as_text=True))
    answer = client.post(f"/admin/users/{colleague.id}/send-password-reset", data={"csrf_token": token})
    assert answer.status_code in (403, 404)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    assert db.session.get(User, colleague.id) is not None
