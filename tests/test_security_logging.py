"""Security logging (ASVS 5.0 V16): every authentication decision, access-control refusal,
marking change and key operation is an audit event naming who, what and when, with nothing
secret in it or in the log; and the alerting hooks for one account's repeated refusals and mass
downloads raise exactly one alert per window."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa

from app.audit import alerts
from app.audit.models import AuditEvent
from app.auth.tokens import TOKEN_PREFIX
from app.extensions import db
from tests.conftest import TEST_PASSWORD, csrf_token_from, login
from tests.test_api_posts import bearer
from tests.test_attachments import api_upload
from tests.test_posts_pages import publish


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything the portal logs (its ``pax`` logger does not propagate to the root logger)."""
    pax = logging.getLogger("pax")
    pax.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    try:
        yield caplog
    finally:
        pax.removeHandler(caplog.handler)


def events(**where: Any) -> list[AuditEvent]:
    db.session.commit()
    stmt = sa.select(AuditEvent).order_by(AuditEvent.seq)
    for name, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, name) == value)
    return list(db.session.scalars(stmt))


def audit_text() -> str:
    db.session.commit()
    with db.engine.connect() as conn:
        return "\n".join(repr(tuple(r)) for r in conn.execute(sa.text("SELECT * FROM audit_events")))


@pytest.mark.committed_db
def test_each_kind_of_security_decision_is_audited_without_a_secret(app, client, make, runner, logged):
    member = make.user(clusters={"policy": "contributor"})
    totp_secret = make.enrol_mfa(member)
    wrong_password = f"wrong-{secrets.token_hex(6)}"
    headers = bearer(member)
    token_secret = headers["Authorization"].removeprefix("Bearer ")

    # Authentication: a refused password, a refused and an accepted second factor.
    assert login(client, member.email, wrong_password).status_code == 422
    assert login(client, member.email).headers["Location"] == "/login/mfa"
    csrf = csrf_token_from(client.get("/login/mfa").get_data(as_text=True))
    # The current TOTP code was spent on enrolment (a code works once), so it is refused now.
    used_code = pyotp.TOTP(totp_secret).now()
    recovery_code = make.mfa[member.id][1].pop()
    assert client.post("/login/mfa", data={"code": used_code, "csrf_token": csrf}).status_code == 422
    assert client.post("/login/mfa", data={"code": recovery_code, "csrf_token": csrf}).status_code == 302
    # An API token that is not one, and a read-only token asked to write.
    forged = f"{TOKEN_PREFIX}{secrets.token_urlsafe(32)}"
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    reader = bearer(member, "read")
    assert client.post("/api/v1/posts", json={}, headers=reader).status_code == 403
    # Access control: a hidden or missing post (page and API), an action not allowed (403).
    assert client.get("/posts/987654").status_code == 404
    assert client.get("/api/v1/posts/987655", headers=headers).status_code == 404
    assert client.get("/admin/").status_code in (403, 404)
    # A marking change, and a key operation.
    post = publish(member, tlp="GREEN")
    assert client.patch(f"/api/v1/posts/{post.id}", json={"tlp": "AMBER"}, headers=headers).status_code == 200
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0

    seen = events()
    kinds = {
        ("auth.login", "denied"),
        ("auth.login", "ok"),
        ("auth.mfa_verify", "denied"),
        ("auth.mfa_verify", "ok"),
        ("access.refused", "denied"),
        ("api.token_use", "denied"),
        ("post.marking_change", "ok"),
        ("keys.rotate", "ok"),
    }
    assert kinds <= {(e.action, e.outcome) for e in seen}, kinds - {(e.action, e.outcome) for e in seen}
    for event in seen:
        assert event.at is not None and event.source, event.action  # when, and from where
        if event.action.startswith("keys."):  # an operator's command: its source is "cli"
            assert event.source == "cli"
        elif (event.action, event.outcome) != ("api.token_use", "denied"):  # a forged token names nobody
            assert event.actor_id == member.id, event.action  # who
    refused = [(e.target_type, e.target_id, e.details["status"]) for e in seen if e.action == "access.refused"]
    assert ("post", "987654", 404) in refused and ("post", "987655", 404) in refused
    assert any(status == 403 for *_target, status in refused)
    assert ("token", 403) in {(target, status) for target, _id, status in refused}  # the read-only token
    [change] = [e for e in seen if e.action == "post.marking_change"]
    assert (change.target_type, change.target_id) == ("post", str(post.id))
    assert change.details  # what changed: markings and flags, never content

    secrets_sent = [wrong_password, TEST_PASSWORD, used_code, recovery_code, totp_secret, token_secret, forged]
    secrets_sent.append(reader["Authorization"].removeprefix("Bearer "))
    text, log_text = audit_text(), logged.text
    for secret in secrets_sent:
        assert secret not in text
        assert secret not in log_text


def _hidden_post(make: Any) -> Any:
    author = make.user(clusters={"policy": "contributor"})
    return publish(author, tlp="RED")


def test_repeated_refusals_of_one_account_raise_one_alert(app, make, new_client, logged):
    app.config.update(ALERT_REFUSALS=5, ALERT_REFUSALS_WINDOW_MINUTES=10)
    post = _hidden_post(make)
    prober = make.user()
    browser = new_client(prober)
    for _ in range(4):
        assert browser.get(f"/posts/{post.id}").status_code == 404
    assert events(action="security.alert") == []
    for _ in range(6):
        assert browser.get(f"/posts/{post.id}").status_code == 404
    [alert] = events(action="security.alert")
    assert (alert.actor_id, alert.target_type, alert.target_id) == (prober.id, "user", str(prober.id))
    assert alert.details == {"kind": "refusals", "count": 5, "threshold": 5, "window_minutes": 10}
    lines = [r for r in logged.records if r.name == "pax.security"]
    assert [r.levelname for r in lines] == ["WARNING"]
    assert lines[0].getMessage() == (
        f"security.alert kind=refusals account={prober.id} organisation={prober.organisation_id} "
        "count=5 threshold=5 window_minutes=10"
    )
    assert len(events(action="access.refused", actor_id=prober.id)) == 10


def test_refusals_below_the_threshold_or_spread_over_accounts_raise_none(app, make, new_client):
    app.config.update(ALERT_REFUSALS=5)
    post = _hidden_post(make)
    for _ in range(2):
        browser = new_client(make.user())
        for _ in range(4):
            assert browser.get(f"/posts/{post.id}").status_code == 404
    assert len(events(action="access.refused")) == 8
    # A 404 for an address that names nothing is not the policy's refusal.
    browser = new_client(make.user())
    for _ in range(6):
        assert browser.get("/no-such-page").status_code == 404
    assert len(events(action="access.refused")) == 8
    assert events(action="security.alert") == []


def test_mass_downloads_raise_one_alert(app, client, make, logged):
    app.config.update(ALERT_DOWNLOADS=3, ALERT_DOWNLOADS_WINDOW_MINUTES=10)
    author = make.user(clusters={"policy": "contributor"})
    post = publish(author, tlp="AMBER")
    headers = bearer(author)
    attachment_id = api_upload(client, post.id, b"berth plan\n" * 100, "plan.txt", headers).get_json()["id"]
    url = f"/api/v1/attachments/{attachment_id}"
    for _ in range(2):
        assert client.get(url, headers=headers).status_code == 200
    # Further ranges of a file already being read are not further downloads.
    assert client.get(url, headers={**headers, "Range": "bytes=10-19"}).status_code == 206
    assert events(action="security.alert") == []
    for _ in range(4):
        assert client.get(url, headers=headers).status_code == 200
    [alert] = events(action="security.alert")
    assert alert.actor_id == author.id
    assert alert.details == {"kind": "downloads", "count": 3, "threshold": 3, "window_minutes": 10}
    assert [r.getMessage().split(" count=")[0] for r in logged.records if r.name == "pax.security"] == [
        f"security.alert kind=downloads account={author.id} organisation={author.organisation_id}"
    ]


def test_downloads_below_the_threshold_raise_none(app, client, make):
    app.config.update(ALERT_DOWNLOADS=3)
    author = make.user(clusters={"policy": "contributor"})
    post = publish(author, tlp="AMBER")
    headers = bearer(author)
    attachment_id = api_upload(client, post.id, b"crew\n", "crew.txt", headers).get_json()["id"]
    for _ in range(2):
        assert client.get(f"/api/v1/attachments/{attachment_id}", headers=headers).status_code == 200
    assert events(action="security.alert") == []


def test_an_alert_set_to_zero_is_off(app, make):
    app.config.update(ALERT_DOWNLOADS=0)
    user = make.user()
    with app.test_request_context():
        assert not any(alerts.observe("downloads", user, 50) for _ in range(3))


def test_the_window_slides_over_its_boundary(app, make, monkeypatch):
    """Four refusals at the end of one window and two at the start of the next are six within a
    minute: the alert is raised although neither fixed window reached five."""
    app.config.update(ALERT_REFUSALS=5, ALERT_REFUSALS_WINDOW_MINUTES=10)
    user = make.user()
    window = 600
    boundary = (int(time.time()) // window + 1) * window
    clock = [boundary - 30.0]
    monkeypatch.setattr(alerts, "now", lambda: clock[0])
    with app.test_request_context():
        raised = [alerts.observe("refusals", user) for _ in range(4)]
        clock[0] = boundary + 30.0
        raised += [alerts.observe("refusals", user) for _ in range(2)]
        assert raised == [False] * 5 + [True]
        assert not alerts.observe("refusals", user)  # once per window


def test_a_meeting_pack_counts_each_document_in_it(app, client, make):
    from tests.test_packs import add_document, api_pack, make_meeting

    app.config.update(ALERT_DOWNLOADS=5)
    organiser = make.user(org_type="commission", role="curator")
    meeting = make_meeting(organiser)
    for n in range(2):
        add_document(meeting, None, f"Document {n}", b"minutes\n" * 10, f"doc{n}.txt")
    db.session.commit()
    member = make.user()
    assert api_pack(client, meeting.id, member).status_code == 200  # two files: 2
    assert api_pack(client, meeting.id, member).status_code == 200  # 4
    assert events(action="security.alert") == []
    assert api_pack(client, meeting.id, member).status_code == 200  # 6: over five
    [alert] = events(action="security.alert")
    assert (alert.actor_id, alert.details["kind"], alert.details["count"]) == (member.id, "downloads", 6)


def test_with_redis_every_app_server_adds_to_the_same_count(app, make):
    """Counted in the rate-limit store: with PAX_REDIS_URL two app servers share one count (here
    the second server is the same app with a store connection of its own)."""
    prefix = f"pax-test-{secrets.token_hex(4)}:"
    app.config.update(ALERT_DOWNLOADS=3, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15", RATELIMIT_KEY_PREFIX=prefix)
    user = make.user()
    with app.test_request_context():
        assert not alerts.observe("downloads", user, 2)
        assert "Redis" in type(app.extensions["pax_alert_counters"].primary).__name__
    app.extensions.pop("pax_alert_counters")
    with app.test_request_context():
        assert alerts.observe("downloads", user, 1)
