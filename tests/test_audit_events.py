"""What the audit log records in a real flow, and what it must never hold.

One member signs in (password and second factor), gets a token and uses it, posts an AMBER
incident note whose title and body carry unique markers, attaches a file whose name and content
carry markers, reads it back in every way, and the operator rotates the keys. Every column of
every audit row is then searched for the password, the token, the TOTP secret, the recovery
codes, the markers and the title: none may appear. The expected events must be there, with
actor, target and the target's organisation, and the chain must verify.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.extensions import db
from tests.conftest import TEST_PASSWORD, login, sign_in
from tests.test_api_posts import incident_note
from tests.test_attachments import api_upload


def audit_text() -> str:
    """Every value of every audit row, as the database holds it."""
    db.session.commit()
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM audit_events")).all()
    return "\n".join(repr(tuple(row)) for row in rows)


def events(**where: Any) -> list[AuditEvent]:
    db.session.commit()
    stmt = sa.select(AuditEvent).order_by(AuditEvent.seq)
    for name, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, name) == value)
    return list(db.session.scalars(stmt))


@pytest.mark.committed_db
def test_a_whole_flow_is_recorded_without_a_secret_or_a_word_of_content(app, client, make, runner):
    from app.auth.tokens import create_token

    org = make.org("customs")  # law enforcement: a second factor is required
    member = make.user(org=org, clusters={"operational-cooperation": "contributor"})
    totp_secret = make.enrol_mfa(member)
    recovery_codes = list(make.mfa[member.id][1])
    marker = secrets.token_hex(8)
    wrong_password = f"wrong-{marker}-password"
    unknown_email = f"nobody-{marker}@nowhere.example"

    assert login(client, member.email, wrong_password).status_code == 422
    assert login(client, unknown_email, wrong_password).status_code == 422
    sign_in(client, make, member)
    _token, token_secret = create_token(member, "scan", "write", 30)
    db.session.commit()
    api = {"Authorization": f"Bearer {token_secret}"}

    title = f"Rip-off at quay {marker}-title"
    body = f"Extraction team seen {marker}-body"
    note = incident_note()
    note.update(title=title, body=body, tlp="AMBER")
    created = client.post("/api/v1/posts", json=note, headers=api)
    assert created.status_code == 201, created.get_data(as_text=True)
    post_id = created.get_json()["id"]
    upload = api_upload(client, post_id, f"crew list {marker}-file".encode(), f"crew-{marker}.txt", api)
    attachment_id = upload.get_json()["id"]
    assert client.get(f"/api/v1/posts/{post_id}", headers=api).status_code == 200
    assert client.get(f"/posts/{post_id}").status_code == 200
    assert client.get(f"/posts/{post_id}/history").status_code == 200
    assert client.get(f"/attachments/{attachment_id}").status_code == 200
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0

    text = audit_text()
    assert "attachment.download" in text
    for secret in [TEST_PASSWORD, wrong_password, unknown_email, token_secret, totp_secret, *recovery_codes]:
        assert secret not in text
    assert marker not in text and title not in text

    seen = {(e.action, e.outcome, e.actor_id, e.target_type, e.target_org_id) for e in events()}
    post_target = ("post", org.id)
    expected = {
        ("auth.login", "denied", member.id, None, None),  # the wrong password
        ("auth.login", "denied", None, None, None),  # the unknown address: no actor
        ("auth.mfa_enrol", "ok", member.id, "user", org.id),
        ("auth.mfa_verify", "ok", member.id, None, None),
        ("auth.login", "ok", member.id, "session", None),
        ("token.create", "ok", member.id, "token", None),
        ("api.token_use", "ok", member.id, "token", None),
        ("post.create", "ok", member.id, *post_target),
        ("attachment.upload", "ok", member.id, "attachment", None),
        ("post.view", "ok", member.id, *post_target),
        ("attachment.download", "ok", member.id, "attachment", org.id),
        ("keys.rotate", "ok", None, None, None),
    }
    assert expected <= seen, expected - seen
    views = events(action="post.view")
    assert sorted(e.details["via"] for e in views) == ["api", "history", "page"]
    assert all(e.target_id == str(post_id) and e.details["tlp"] == "AMBER" for e in views)
    # Several API calls within five minutes: one token-use event.
    assert len(events(action="api.token_use")) == 1
    reasons = [e.details["reason"] for e in events(action="auth.login", outcome="denied")]
    assert reasons == ["bad_credentials", "bad_credentials"]

    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and result.output.startswith("audit chain OK: "), result.output


@pytest.mark.parametrize("tlp", ["GREEN", "AMBER", "AMBER+STRICT", "RED"])
def test_only_amber_and_red_views_are_recorded(app, client, make, tlp):
    from tests.test_api_posts import bearer
    from tests.test_meetings import technical

    coordinator = make.user(clusters={"policy": "coordinator"})
    headers = bearer(coordinator)
    post = client.post(
        "/api/v1/posts",
        json={"type": "best_practice", "cluster": "policy", "title": "T", "body": "B", "tlp": tlp},
        headers=headers,
    ).get_json()
    meeting = client.post("/api/v1/meetings", json=technical(tlp=tlp), headers=headers).get_json()
    sign_in(client, make, coordinator)
    assert client.get(f"/posts/{post['id']}").status_code == 200
    assert client.get(f"/meetings/{meeting['id']}").status_code == 200
    assert client.get(f"/api/v1/meetings/{meeting['id']}", headers=headers).status_code == 200
    views = [(e.action, e.target_id, e.target_org_id) for e in events() if e.action.endswith(".view")]
    if tlp == "GREEN":
        assert views == []
    else:
        org = coordinator.organisation_id
        assert views == [
            ("post.view", str(post["id"]), org),
            ("meeting.view", str(meeting["id"]), org),
            ("meeting.view", str(meeting["id"]), org),
        ]


def test_lockout_and_account_actions_are_recorded(app, client, make, new_client):
    from tests.conftest import csrf_token_from

    member = make.user()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(client, member.email, "not the password")
    locked = events(action="auth.lockout")
    assert [(e.actor_id, e.target_id) for e in locked] == [(member.id, str(member.id))]
    assert login(client, member.email).status_code == 422  # the right password, too late
    assert events(action="auth.login")[-1].details["reason"] == "locked"

    admin = make.user(role="admin", org_type="commission")
    other = make.user()
    browser = new_client(admin)
    token = csrf_token_from(browser.get(f"/admin/users/{other.id}").get_data(as_text=True))
    browser.post(f"/admin/users/{other.id}/role", data={"role": "curator", "csrf_token": token})
    browser.post(f"/admin/users/{other.id}/suspend", data={"csrf_token": token})
    browser.post("/logout", data={"csrf_token": token})
    got = [(e.action, e.actor_id, e.target_id, e.target_org_id) for e in events() if e.action.startswith("admin.")]
    assert got == [
        ("admin.role_change", admin.id, str(other.id), other.organisation_id),
        ("admin.suspend", admin.id, str(other.id), other.organisation_id),
    ]
    assert events(action="admin.role_change")[0].details == {"old": "member", "new": "curator"}
    assert [e.actor_id for e in events(action="auth.logout")] == [admin.id]


def test_every_administrative_decision_leaves_its_own_event(admin_client_and_admin, make):
    """Approvals, rejections, suspensions, role and focal-point changes, MFA resets, memberships,
    organisations and domains: one event each, naming the administrator, the account or
    organisation acted on, and that organisation."""
    from tests.test_admin import post

    client, admin = admin_client_and_admin
    org = make.org()
    approved, rejected = make.user(org=org, status="pending"), make.user(org=org, status="pending")
    target = make.user(org=org)
    make.enrol_mfa(target)
    steps = [
        ("admin.approve", f"/admin/approvals/{approved.id}/approve", {}),
        ("admin.reject", f"/admin/approvals/{rejected.id}/reject", {}),
        ("admin.suspend", f"/admin/users/{target.id}/suspend", {}),
        ("admin.reactivate", f"/admin/users/{target.id}/reactivate", {}),
        ("admin.role_change", f"/admin/users/{target.id}/role", {"role": "curator"}),
        ("admin.focal_point", f"/admin/users/{target.id}/focal-point", {"value": "yes"}),
        ("admin.mfa_reset", f"/admin/users/{target.id}/reset-mfa", {}),
        ("admin.membership_grant", f"/admin/users/{target.id}/memberships", {"cluster": "policy", "role": "reader"}),
    ]
    for action, url, data in steps:
        assert post(client, url, data).status_code == 302, url
        [event] = events(action=action)
        assert (event.actor_id, event.target_org_id, event.outcome) == (admin.id, org.id, "ok"), action
    policy_id = db.session.scalar(sa.text("SELECT id FROM clusters WHERE slug = 'policy'"))
    assert post(client, f"/admin/users/{target.id}/memberships/{policy_id}/revoke").status_code == 302
    assert [e.target_id for e in events(action="admin.membership_revoke")] == [str(target.id)]

    created = post(
        client,
        "/admin/organisations",
        {
            "name": "Port of Audithaven",
            "type": "port_authority",
            "country": "nl",
            "email_domains": "audithaven.example",
        },
    )
    assert created.status_code == 302
    [org_event] = events(action="admin.organisation_create")
    new_org_id = int(org_event.target_id)
    assert post(client, f"/admin/organisations/{new_org_id}/domains", {"domain": "audithaven.eu"}).status_code == 302
    [domain_event] = events(action="admin.domain_add")
    assert (domain_event.actor_id, domain_event.target_org_id) == (admin.id, new_org_id)


def test_a_member_s_own_account_actions_are_recorded(client, make, login_as):
    """Token creation and revocation, new recovery codes, a workplan export and signing out
    everywhere: each is an event whose actor is the member."""
    from app.workplan.services import workplan_of
    from tests.test_admin import post

    member = make.user()
    make.enrol_mfa(member)
    workplan_of(2026)
    db.session.commit()
    login_as(member)
    # Sensitive account actions ask for the password and a second factor again (step-up); one
    # step-up counts for the few minutes that follow, so the recovery codes below need none.
    stepup = {"reauth_password": TEST_PASSWORD, "reauth_code": make.mfa[member.id][1].pop()}
    assert (
        post(client, "/account/tokens", {"name": "laptop", "scope": "read", "days": "30", **stepup}).status_code == 201
    )
    [created] = events(action="token.create")
    assert created.actor_id == member.id
    assert post(client, f"/account/tokens/{created.target_id}/revoke").status_code == 302
    assert [e.actor_id for e in events(action="token.revoke")] == [member.id]
    assert post(client, "/account/mfa/recovery-codes").status_code == 200
    assert [e.actor_id for e in events(action="auth.recovery_codes")] == [member.id]
    assert client.get("/workplan/2026/export.csv").status_code == 200
    assert [e.actor_id for e in events(action="workplan.export")] == [member.id]
    assert post(client, "/account/sessions/revoke-all").status_code == 302
    assert [e.actor_id for e in events(action="auth.session_revoke_all")] == [member.id]


@pytest.fixture
def admin_client_and_admin(client, make):  # type: ignore[no-untyped-def]
    admin = make.user(role="admin", org_type="commission")
    return sign_in(client, make, admin), admin
