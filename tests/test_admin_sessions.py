"""v5.0.0-7.4.5: administrators end one account's sessions (without suspending it) or everyone's,
after a fresh factor (``app.auth.stepup``), audited; and ``sessions end-all`` / ``sessions end``
on the command line."""

from __future__ import annotations

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import User, UserStatus
from app.extensions import db
from tests.conftest import TEST_PASSWORD, csrf_token_from, login


def signed_in(client) -> bool:  # type: ignore[no-untyped-def]
    return bool(client.get("/dashboard").status_code == 200)


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def step_up(make, admin) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The administrator's password and a fresh recovery code (administrators must use a second factor)."""
    return {"reauth_password": TEST_PASSWORD, "reauth_code": make.mfa[admin.id][1].pop()}


def test_an_administrator_ends_one_accounts_sessions_after_a_fresh_factor(make, new_client):
    admin = make.user(role="admin", org_type="commission")
    console = new_client(admin)
    member = make.user()
    laptop, phone = new_client(member), new_client(member)
    page = console.get(f"/admin/users/{member.id}").get_data(as_text=True)
    assert "End their sessions" in page
    url = f"/admin/users/{member.id}/end-sessions"
    asked = console.post(url, data={"csrf_token": csrf_token_from(page)})
    assert asked.status_code == 422
    assert "Enter your password to confirm it is you." in asked.get_data(as_text=True)
    assert signed_in(laptop) and signed_in(phone) and not events("admin.sessions_end")
    done = console.post(url, data={"csrf_token": csrf_token_from(page), **step_up(make, admin)})
    assert done.status_code == 302
    assert "2 open session(s)" in console.get(done.headers["Location"]).get_data(as_text=True)
    told = laptop.get("/dashboard", follow_redirects=True).get_data(as_text=True)
    assert "An administrator ended your sessions." in told
    assert not signed_in(phone) and signed_in(console)
    db.session.expire_all()
    assert db.session.get(User, member.id).status is UserStatus.ACTIVE  # not suspended: signs in again
    assert login(new_client(), member.email).status_code == 302
    [event] = events("admin.sessions_end")
    assert event.actor_id == admin.id and event.target_id == str(member.id) and event.details["sessions"] == 2


def test_an_administrator_cannot_end_their_own_sessions_there(make, new_client):
    admin = make.user(role="admin", org_type="commission")
    console = new_client(admin)
    page = console.get("/admin/").get_data(as_text=True)
    answer = console.post(
        f"/admin/users/{admin.id}/end-sessions", data={"csrf_token": csrf_token_from(page), **step_up(make, admin)}
    )
    assert answer.status_code == 404


def test_an_administrator_ends_everyones_sessions_and_keeps_their_own(make, new_client):
    admin = make.user(role="admin", org_type="commission")
    console, other_console = new_client(admin), new_client(admin)
    members = [new_client(make.user()), new_client(make.user(role="curator", org_type="commission"))]
    page = console.get("/admin/sessions").get_data(as_text=True)
    assert "open sessions of" in page
    asked = console.post("/admin/sessions/end-all", data={"csrf_token": csrf_token_from(page)})
    assert asked.status_code == 422 and all(signed_in(c) for c in members)
    done = console.post("/admin/sessions/end-all", data={"csrf_token": csrf_token_from(page), **step_up(make, admin)})
    assert done.status_code == 302
    assert "yours in this browser is kept" in console.get(done.headers["Location"]).get_data(as_text=True)
    assert signed_in(console)
    assert not signed_in(other_console) and not any(signed_in(c) for c in members)
    [event] = events("admin.sessions_end_all")
    assert event.actor_id == admin.id and event.details["sessions"] == 3


def test_the_command_line_ends_everyones_sessions(runner, make, new_client):
    browsers = [new_client(make.user()), new_client(make.user(role="admin", org_type="commission"))]
    result = runner.invoke(args=["sessions", "end-all"], catch_exceptions=False)
    assert result.exit_code == 0 and "Ended 2 open session(s)" in result.output
    assert not any(signed_in(c) for c in browsers)
    [event] = events("admin.sessions_end_all")
    assert event.actor_id is None and event.details == {"sessions": 2, "via": "cli"}


def test_the_command_line_ends_one_accounts_sessions(runner, make, new_client):
    member, bystander = make.user(), make.user()
    mine, theirs = new_client(member), new_client(bystander)
    result = runner.invoke(args=["sessions", "end", "--email", member.email], catch_exceptions=False)
    assert result.exit_code == 0 and f"Ended 1 open session(s) of {member.email}" in result.output
    assert not signed_in(mine) and signed_in(theirs)
    unknown = runner.invoke(args=["sessions", "end", "--email", "nobody@nowhere.example"])
    assert unknown.exit_code == 2 and "no user with e-mail" in unknown.output
