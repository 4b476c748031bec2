"""The request boundary owns the transaction (``PaxFlask``): a view's writes are committed only
when it answers below 400; a refusal, invalid input or an error status leaves nothing written,
and answers 403 / 422 as a page or as JSON. What must outlive a refusal (the failed-login count,
the audit event of a refused attempt) is kept in a transaction of its own."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import TEST_PASSWORD, login

# The probe views are routes of their own, and what is kept or dropped is read back as another
# request would see it: committed, not inside the test's rolled-back transaction.
pytestmark = [pytest.mark.own_app, pytest.mark.committed_db]

ORIGINAL = "Probe Organisation"
CHANGED = "Changed by a refused request"


@pytest.fixture
def probe(app, make) -> Any:
    """An organisation and test-only views that rename it, then answer in different ways."""
    from app.audit.services import record_refused
    from app.directory.models import Organisation
    from app.extensions import db
    from app.policy import NotAllowed
    from app.validation import ValidationError

    org = make.org(name=ORIGINAL)

    def rename() -> None:
        db.session.get_one(Organisation, org.id).name = CHANGED
        db.session.flush()

    def not_allowed() -> Any:
        rename()
        raise NotAllowed("Only probes may do this.")

    def invalid() -> Any:
        rename()
        raise ValidationError({"name": "Not a probe's name."})

    def error_status() -> Any:
        rename()
        return "refused", 409

    def ok() -> Any:
        rename()
        return "done"

    def kept() -> Any:
        rename()
        record_refused("probe.refused", target=("organisation", org.id), reason="probe")
        return "refused, audited", 403

    for view in (not_allowed, invalid, error_status, ok, kept):
        app.add_url_rule(f"/_probe/{view.__name__}", view.__name__, view)
    return org


def _name(org_id: int) -> str:
    from app.directory.models import Organisation
    from app.extensions import db

    db.session.rollback()
    db.session.expire_all()  # a fresh read, whatever this test's session loaded before
    return db.session.scalar(sa.select(Organisation.name).where(Organisation.id == org_id))


def _events(action: str) -> list[Any]:
    from app.audit.models import AuditEvent
    from app.extensions import db

    db.session.rollback()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_a_view_that_returns_below_400_commits(client, probe):
    assert client.get("/_probe/ok").status_code == 200
    assert _name(probe.id) == CHANGED


def test_not_allowed_after_a_write_answers_403_page_and_keeps_nothing(client, probe):
    response = client.get("/_probe/not_allowed")
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert "Your account is not allowed to do this." in response.get_data(as_text=True)
    assert _name(probe.id) == ORIGINAL


def test_not_allowed_answers_403_json_to_a_json_client(client, probe):
    response = client.get("/_probe/not_allowed", headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.get_json()["error"] == {"code": "forbidden", "message": "Only probes may do this.", "fields": {}}
    assert _name(probe.id) == ORIGINAL


def test_invalid_input_after_a_write_answers_422_and_keeps_nothing(client, probe):
    page = client.get("/_probe/invalid")
    assert page.status_code == 422
    assert "Not a probe&#39;s name." in page.get_data(as_text=True)
    as_json = client.get("/_probe/invalid", headers={"Accept": "application/json"})
    assert as_json.status_code == 422
    assert as_json.get_json()["error"]["code"] == "validation_failed"
    assert as_json.get_json()["error"]["fields"] == {"name": "Not a probe's name."}
    assert _name(probe.id) == ORIGINAL


def test_an_error_status_returned_by_a_view_rolls_back(client, probe):
    assert client.get("/_probe/error_status").status_code == 409
    assert _name(probe.id) == ORIGINAL


def test_an_independent_transaction_keeps_its_write_and_drops_the_requests(client, probe):
    assert client.get("/_probe/kept").status_code == 403
    assert _name(probe.id) == ORIGINAL
    events = _events("probe.refused")
    assert [(e.outcome, e.target_id, e.details["reason"]) for e in events] == [("denied", str(probe.id), "probe")]


def test_the_failed_login_count_survives_the_refused_sign_in(app, client, make):
    from app.auth.models import User
    from app.extensions import db

    app.config["LOGIN_MAX_FAILURES"] = 2
    user = make.user()
    first = login(client, user.email, "not the password")
    assert first.status_code == 422
    db.session.expire_all()
    assert db.session.get_one(User, user.id).failed_logins == 1
    denied = _events("auth.login")
    assert [(e.actor_id, e.outcome, e.details["reason"]) for e in denied] == [(user.id, "denied", "bad_credentials")]

    second = login(client, user.email, "still not the password")
    assert second.status_code == 422
    db.session.expire_all()
    locked = db.session.get_one(User, user.id)
    assert locked.locked_until is not None and locked.failed_logins == 0
    assert [e.actor_id for e in _events("auth.lockout")] == [user.id]
    # Locked: even the right password is refused now, and that refusal is kept too.
    assert login(client, user.email).status_code == 422
    assert [e.details["reason"] for e in _events("auth.login")][-1] == "locked"


def test_a_step_up_is_kept_although_the_action_then_refuses_its_input(app, make):
    """The proof (the recovery code spent, the session's step-up) stands when the password change
    that asked for it refuses the new password: asking again would spend a second code."""
    from app.auth.models import RecoveryCode
    from app.extensions import db
    from tests.test_stepup import fresh_code, hijacked, token

    user = make.user()
    make.enrol_mfa(user)
    owner = hijacked(app, make, user)
    code = fresh_code(make, user)
    refused = owner.post(
        "/account/password",
        data={
            "csrf_token": token(owner),
            "current_password": TEST_PASSWORD,
            "reauth_code": code,
            "new_password": "another long harbour password",
            "confirm_password": "a different long harbour password",
        },
    )
    assert refused.status_code == 422
    assert "The two new passwords differ." in refused.get_data(as_text=True)
    db.session.rollback()
    spent = db.session.scalars(sa.select(RecoveryCode.used_at).where(RecoveryCode.user_id == user.id)).all()
    assert sum(used is not None for used in spent) == 2  # one at sign-in, one for the step-up
    assert 'name="reauth_password"' not in owner.get("/account/").get_data(as_text=True)
