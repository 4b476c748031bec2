"""Throttling that fits port offices: strict per account, generous per address, the same
lockout answer for every address, and a 429 in plain words with the time to try again."""

from __future__ import annotations

import re

from tests.conftest import TEST_PASSWORD, csrf_token_from

TIME = re.compile(r"try again (?:at|after) \d\d:\d\d \(Brussels time\)")


def limited_app(config_factory, **overrides):  # type: ignore[no-untyped-def]
    from app import create_app
    from tests.conftest import IsolatedClient

    app = create_app(config_factory(RATELIMIT_ENABLED=True, **overrides))
    app.test_client_class = IsolatedClient
    return app


def attempt(client, email: str, password: str):  # type: ignore[no-untyped-def]
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_thirty_colleagues_behind_one_address_sign_in_at_shift_start(config_factory, make):
    app = limited_app(config_factory)
    with app.app_context():
        org = make.org()
        emails = [make.user(org=org).email for _ in range(30)]
    for email in emails:
        browser = app.test_client()  # each colleague's own browser, one NAT address for all
        answer = attempt(browser, email, TEST_PASSWORD)
        assert answer.status_code == 302 and answer.headers["Location"] == "/dashboard", answer.status_code


def test_six_bad_attempts_on_one_account_are_throttled(config_factory, make):
    app = limited_app(config_factory)
    with app.app_context():
        email = make.user().email
    client = app.test_client()
    statuses = [attempt(client, email, "wrong password!").status_code for _ in range(6)]
    assert statuses[:5] == [422] * 5 and statuses[5] == 429
    blocked = attempt(client, email, "wrong password!")
    text = blocked.get_data(as_text=True)
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    assert "Too many attempts for this account" in text and TIME.search(text)
    assert "per 1 minute" not in text and 'class="ecl-' in text
    # Other accounts from the same address are not affected.
    with app.app_context():
        other = make.user().email
    assert attempt(client, other, TEST_PASSWORD).status_code == 302


def test_unknown_address_is_throttled_like_a_known_one(config_factory, make):
    app = limited_app(config_factory)
    with app.app_context():
        known = make.user().email
    unknown = "nobody@" + known.split("@")[1]
    answers = {}
    for email in (known, unknown):
        client = app.test_client()
        answers[email] = [attempt(client, email, "wrong password!") for _ in range(6)]
    assert [r.status_code for r in answers[known]] == [r.status_code for r in answers[unknown]]


def test_the_lockout_answer_is_the_same_for_unknown_and_known_addresses(app, make):
    known = make.user().email
    unknown = "nobody@" + known.split("@")[1]
    texts = {}
    for email in (known, unknown):
        client = app.test_client()
        for _ in range(app.config["LOGIN_MAX_FAILURES"]):
            answer = attempt(client, email, "wrong password!")
        assert answer.status_code == 422
        # Even the right password (for the known one) is answered with the lockout.
        after = attempt(client, email, TEST_PASSWORD)
        texts[email] = re.search(r'id="login-error".*?</div>\s*</div>', after.get_data(as_text=True), re.S).group(0)
        assert "locked" in texts[email] and TIME.search(texts[email])
    assert texts[known] == texts[unknown]


def test_too_many_from_one_network_is_a_plain_page(config_factory):
    app = limited_app(config_factory, LOGIN_LIMIT_PER_ADDRESS="3 per minute")
    client = app.test_client()
    statuses = [attempt(client, f"person{n}@port.example", "whatever!").status_code for n in range(4)]
    assert statuses == [422, 422, 422, 429]
    blocked = attempt(client, "another@port.example", "whatever!")
    text = blocked.get_data(as_text=True)
    assert "Too many attempts from your network" in text and TIME.search(text)
    assert "per 1 minute" not in text and '<html lang="' in text
    assert int(blocked.headers["Retry-After"]) <= 60


def test_api_429_keeps_the_uniform_body_in_plain_words(config_factory):
    app = limited_app(config_factory)
    client = app.test_client()
    for _ in range(30):
        client.get("/api/v1/me", headers={"Authorization": "Bearer wrong"})
    blocked = client.get("/api/v1/me", headers={"Authorization": "Bearer wrong"})
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    error = blocked.get_json()["error"]
    assert error["code"] == "rate_limited" and TIME.search(error["message"].replace("requests", "attempts"))
    assert "per 1 minute" not in error["message"]


def test_login_limits_are_checked_settings(config_factory):
    import pytest

    from config import ConfigError

    with pytest.raises(ConfigError, match="PAX_LOGIN_LIMIT_PER_ACCOUNT"):
        config_factory(LOGIN_LIMIT_PER_ACCOUNT="often").check()
