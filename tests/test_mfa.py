"""Second factor: enrolment, one-time codes, recovery codes, enforcement and lockout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa

from app.auth.models import RecoveryCode, User
from tests.conftest import TEST_PASSWORD, csrf_token_from, login


def post_code(client, code: str, path: str = "/login/mfa"):  # type: ignore[no-untyped-def]
    token = csrf_token_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"code": code, "csrf_token": token})


def code_at(secret: str, offset_steps: int) -> str:
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30 * offset_steps))


@pytest.mark.parametrize(
    ("kwargs", "required"),
    [
        ({"role": "curator"}, True),
        ({"role": "admin"}, True),
        ({"role": "auditor"}, True),
        ({"org_type": "police"}, True),
        ({"org_type": "customs"}, True),
        ({"org_type": "eu_agency"}, True),
        ({"org_type": "port_authority"}, False),
        ({"org_type": "commission"}, False),
    ],
)
def test_mfa_is_enforced_for_the_roles_that_need_it(client, make, kwargs, required):
    user = make.user(**kwargs)
    response = login(client, user.email)
    expected = "/login/mfa/setup" if required else "/dashboard"
    assert response.headers["Location"] == expected
    assert (client.get("/dashboard").status_code == 200) is not required


def test_required_enrolment_with_qr_then_recovery_codes(key_backend, client, make, db_session):
    user = make.user(role="curator")
    login(client, user.email)
    page = client.get("/login/mfa/setup").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page
    secret = page.split('id="totp-secret">')[1].split("<")[0]
    # A wrong code keeps the user on the page with a message and without a session.
    wrong = post_code(client, "000000" if code_at(secret, 0) != "000000" else "111111", "/login/mfa/setup")
    assert wrong.status_code == 422 and "not valid" in wrong.get_data(as_text=True)
    done = post_code(client, code_at(secret, 0), "/login/mfa/setup")
    text = done.get_data(as_text=True)
    assert done.status_code == 200
    assert text.count("<code>") == 10
    assert client.get("/dashboard").status_code == 200
    db_session.expire_all()
    stored = db_session.get(User, user.id)
    assert stored.totp_secret_sealed and secret not in stored.totp_secret_sealed
    hashes = db_session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    codes = [c.split("</code>")[0] for c in text.split("<code>")[1:]]
    assert len(hashes) == 10 and not set(codes) & set(hashes)


def test_totp_code_is_accepted_once(key_backend, app, make):
    user = make.user(role="curator")
    secret = make.enrol_mfa(user)
    first, second = app.test_client(), app.test_client()
    code = code_at(secret, 1)
    login(first, user.email)
    assert post_code(first, code).headers["Location"] == "/dashboard"
    login(second, user.email)
    replay = post_code(second, code)
    assert replay.status_code == 422
    assert second.get("/dashboard").status_code == 302


def test_old_code_is_refused_after_a_newer_one(app, make):
    user = make.user(role="admin")
    secret = make.enrol_mfa(user)
    first, second = app.test_client(), app.test_client()
    login(first, user.email)
    assert post_code(first, code_at(secret, 1)).status_code == 302
    login(second, user.email)
    assert post_code(second, code_at(secret, 0)).status_code == 422


def test_recovery_code_works_once(app, make):
    user = make.user(org_type="police")
    make.enrol_mfa(user)
    code = make.mfa[user.id][1][0]
    first, second = app.test_client(), app.test_client()
    login(first, user.email)
    assert post_code(first, code.upper().replace("-", " ")).headers["Location"] == "/dashboard"
    login(second, user.email)
    assert post_code(second, code).status_code == 422


def test_password_alone_never_opens_an_enrolled_account(client, make):
    user = make.user()
    make.enrol_mfa(user)
    assert login(client, user.email).headers["Location"] == "/login/mfa"
    assert client.get("/dashboard").status_code == 302
    assert client.get("/login/mfa/setup").status_code == 302


def test_mfa_step_without_password_step_goes_back_to_login(client):
    response = client.get("/login/mfa")
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_repeated_failures_lock_the_account_until_a_time_given(app, client, make, db_session):
    user = make.user()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        response = login(client, user.email, "wrong password!")
    text = response.get_data(as_text=True)
    assert "try again after" in text and "(Brussels time)" in text
    # Even the right password is refused while the lockout lasts.
    locked = login(client, user.email, TEST_PASSWORD)
    assert locked.status_code == 422 and "locked" in locked.get_data(as_text=True)
    # When the lockout has passed, the right password works again.
    db_session.expire_all()
    stored = db_session.get(User, user.id)
    stored.locked_until = datetime.now(UTC) - timedelta(seconds=1)
    db_session.commit()
    assert login(client, user.email, TEST_PASSWORD).headers["Location"] == "/dashboard"


def test_wrong_mfa_codes_count_towards_the_lockout(app, client, make):
    user = make.user()
    make.enrol_mfa(user)
    login(client, user.email)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        response = post_code(client, "123456")
    assert "locked" in response.get_data(as_text=True)
    assert post_code(client, make.mfa[user.id][1][0]).status_code == 422


def test_optional_enrolment_from_the_account_page(client, make, login_as, db_session):
    user = make.user()
    login_as(user)
    page = client.get("/account/mfa").get_data(as_text=True)
    secret = page.split('id="totp-secret">')[1].split("<")[0]
    done = post_code(client, code_at(secret, 0), "/account/mfa")
    assert done.status_code == 200 and done.get_data(as_text=True).count("<code>") == 10
    db_session.expire_all()
    assert db_session.get(User, user.id).mfa_enrolled_at is not None


def test_login_rate_limit(config_factory):
    from app import create_app

    app = create_app(config_factory(RATELIMIT_ENABLED=True, LOGIN_LIMIT_PER_ADDRESS="3 per minute"))
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    statuses = [
        client.post("/login", data={"email": "x@y.example", "password": "p", "csrf_token": token}).status_code
        for _ in range(4)
    ]
    assert statuses[:3] == [422, 422, 422]
    assert statuses[3] == 429
    blocked = client.post("/login", data={"email": "x@y.example", "password": "p", "csrf_token": token})
    assert "Retry-After" in blocked.headers
    assert "too many attempts from your network" in blocked.get_data(as_text=True).lower()


def test_login_rate_limit_counts_in_redis_across_app_instances(config_factory):
    """With PAX_REDIS_URL, two app servers share one count (here: two apps in one process)."""
    import secrets as _secrets

    import redis

    from app import create_app

    url = "redis://127.0.0.1:6379/15"
    redis.Redis.from_url(url).flushdb()
    prefix = f"pax-test-{_secrets.token_hex(4)}"
    apps = [
        create_app(
            config_factory(
                RATELIMIT_ENABLED=True,
                LOGIN_LIMIT_PER_ADDRESS="3 per minute",
                REDIS_URL=url,
                RATELIMIT_STORAGE_URI=url,
                RATELIMIT_KEY_PREFIX=prefix,
            )
        )
        for _ in range(2)
    ]
    clients = [a.test_client() for a in apps]
    statuses = []
    for n in range(4):
        client = clients[n % 2]
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        statuses.append(
            client.post("/login", data={"email": "x@y.example", "password": "p", "csrf_token": token}).status_code
        )
    assert statuses == [422, 422, 422, 429]
    assert any(key.startswith(prefix.encode()) or prefix.encode() in key for key in redis.Redis.from_url(url).keys("*"))


def test_recovery_codes_are_stored_as_salted_argon2id_hashes(make, db_session):
    """v5.0.0-6.5.2: each code is an argon2id hash with its own salt; the code is not in it."""
    from app.auth import mfa

    user = make.user(org_type="police")
    make.enrol_mfa(user)
    codes = make.mfa[user.id][1]
    hashes = db_session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert len(hashes) == mfa.RECOVERY_CODE_COUNT
    assert all(h.startswith("$argon2id$") for h in hashes)
    salts = {h.split("$")[4] for h in hashes}
    assert len(salts) == len(hashes)
    assert not any(code.replace("-", "") in h for code in codes for h in hashes)


def test_wrong_recovery_codes_are_refused(make, db_session):
    from app.auth import mfa

    user = make.user(org_type="police")
    make.enrol_mfa(user)
    code = make.mfa[user.id][1][3]
    other = make.user(org_type="police")
    make.enrol_mfa(other)
    for wrong in ("", "   ", "aaaa-bbbb-cccc-dddd", code[:-1], code + "a", "x" * 5000, make.mfa[other.id][1][0]):
        assert mfa.use_recovery_code(user, wrong) is False, wrong
    assert mfa.recovery_codes_left(user) == mfa.RECOVERY_CODE_COUNT
    assert mfa.use_recovery_code(user, f" {code.upper()} ") is True
    assert mfa.use_recovery_code(user, code) is False
    assert mfa.recovery_codes_left(user) == mfa.RECOVERY_CODE_COUNT - 1


def test_recovery_code_check_is_bounded(make, db_session, monkeypatch):
    """A salted hash cannot be looked up: a typed code is verified against the account's unused
    codes, never more than RECOVERY_CODE_COUNT of them, however many rows there are."""
    from app.auth import mfa

    user = make.user(org_type="police")
    make.enrol_mfa(user)
    for n in range(15):
        db_session.add(RecoveryCode(user_id=user.id, code_hash=mfa.hash_password(f"extra{n}")))
    db_session.flush()
    calls = []
    real = mfa.verify_password
    monkeypatch.setattr(mfa, "verify_password", lambda h, p: calls.append(h) or real(h, p))
    assert mfa.use_recovery_code(user, "zzzz-zzzz-zzzz-zzzz") is False
    assert len(calls) == mfa.RECOVERY_CODE_COUNT


def test_recovery_code_stored_before_argon2_works_once(app, make, db_session):
    """Codes kept as HMAC-SHA256 before the switch to argon2id keep working until used."""
    from app.auth import mfa

    user = make.user(org_type="police")
    make.enrol_mfa(user)
    legacy_code = "abcd-efgh-ijkl-mnop"
    db_session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    for code in ("2222-3333-4444-5555", legacy_code):
        db_session.add(RecoveryCode(user_id=user.id, code_hash=mfa._legacy_recovery_hash(code)))
    db_session.commit()
    first, second = app.test_client(), app.test_client()
    login(first, user.email)
    assert post_code(first, legacy_code.upper()).headers["Location"] == "/dashboard"
    login(second, user.email)
    assert post_code(second, legacy_code).status_code == 422
    # A new sheet replaces the old codes; only argon2id hashes remain.
    mfa.replace_recovery_codes(user)
    hashes = db_session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)


def test_with_mfa_for_everyone_an_ordinary_member_must_enrol_too(app, client, make):
    """ASVS 5.0 6.3.3: an operator may require the second factor of every account."""
    member = make.user()
    app.config["MFA_FOR_EVERYONE"] = True
    try:
        response = login(client, member.email)
        assert response.headers["Location"] == "/login/mfa/setup"
        assert client.get("/dashboard").status_code != 200
    finally:
        app.config["MFA_FOR_EVERYONE"] = False
