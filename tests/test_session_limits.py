"""An account's sessions are bounded (PAX_MAX_SESSIONS_PER_ACCOUNT) and listed with device,
place and time (ASVS 5.0 V7.1.2 and V7.5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.devices import coarse_network, device_summary
from app.auth.models import UserSession
from tests.conftest import TEST_PASSWORD, csrf_token_from, sign_in

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


@pytest.fixture
def browser(app, make):  # type: ignore[no-untyped-def]
    """``browser(user, ua, address)``: a separate client signed in as ``user`` from that device and address."""

    def _browser(user, user_agent: str = FIREFOX_WINDOWS, address: str = "203.0.113.77"):  # type: ignore[no-untyped-def]
        client = app.test_client()
        client.environ_base.update({"HTTP_USER_AGENT": user_agent, "REMOTE_ADDR": address})
        return sign_in(client, make, user)

    return _browser


def _signed_in(client) -> bool:  # type: ignore[no-untyped-def]
    return bool(client.get("/dashboard").status_code == 200)


def test_a_sign_in_beyond_the_limit_ends_the_oldest_session(app, make, browser, db_session):
    app.config["MAX_SESSIONS_PER_ACCOUNT"] = 3
    user = make.user()
    oldest = browser(user, FIREFOX_WINDOWS)
    others = [browser(user, SAFARI_IPHONE), browser(user, CHROME_MAC)]
    newest = browser(user, EDGE_WINDOWS)

    told = newest.get("/dashboard").get_data(as_text=True)
    assert "You were signed in on too many devices; your oldest session on Firefox on Windows was ended" in told
    assert all(_signed_in(c) for c in [*others, newest])
    answer = oldest.get("/dashboard", follow_redirects=True).get_data(as_text=True)
    assert "Your session was ended because you signed in elsewhere" in answer
    assert not _signed_in(oldest)
    # Told once: the next visit is an ordinary signed-out one.
    assert "signed in elsewhere" not in oldest.get("/login").get_data(as_text=True)

    event = db_session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "auth.session_limit"))
    assert event.actor_id == user.id and event.details["limit"] == 3 and len(event.details["ended_sessions"]) == 1


def test_the_least_recently_used_session_goes_not_the_first_started(app, make, browser, db_session):
    app.config["MAX_SESSIONS_PER_ACCOUNT"] = 2
    user = make.user()
    first, second = browser(user, FIREFOX_WINDOWS), browser(user, SAFARI_IPHONE)
    # The second browser was last used before the first one.
    second_id = db_session.scalar(sa.select(sa.func.max(UserSession.id)).where(UserSession.user_id == user.id))
    db_session.execute(
        sa.update(UserSession)
        .where(UserSession.id == second_id)
        .values(last_seen_at=datetime.now(UTC) - timedelta(minutes=5))
    )
    db_session.commit()
    third = browser(user, CHROME_MAC)
    assert "your oldest session on Safari on iOS was ended" in third.get("/dashboard").get_data(as_text=True)
    assert _signed_in(first) and _signed_in(third) and not _signed_in(second)


def test_a_limit_of_zero_means_no_limit(app, make, browser):
    app.config["MAX_SESSIONS_PER_ACCOUNT"] = 0
    user = make.user()
    clients = [browser(user) for _ in range(7)]
    assert all(_signed_in(c) for c in clients)
    assert "too many devices" not in clients[-1].get("/dashboard").get_data(as_text=True)


def test_the_limit_counts_one_account_only(app, make, browser):
    app.config["MAX_SESSIONS_PER_ACCOUNT"] = 1
    alice, bob = make.user(), make.user()
    alice_browser = browser(alice)
    bob_browser = browser(bob)
    assert _signed_in(alice_browser) and _signed_in(bob_browser)


def test_the_session_list_shows_device_place_and_time_of_ones_own_sessions(app, make, browser, db_session):
    user, stranger = make.user(), make.user()
    browser(stranger, SAFARI_IPHONE, "198.51.100.9")
    phone = browser(user, FIREFOX_LINUX, "2001:db8:1234:5678::1")
    laptop = browser(user, FIREFOX_WINDOWS, "203.0.113.77")
    page = laptop.get("/account/").get_data(as_text=True)
    assert "Firefox on Windows" in page and "203.0.113.0/24" in page
    assert "Firefox on Linux" in page and "2001:db8:1234::/48" in page
    assert "203.0.113.77" not in page  # the full address is not kept
    assert "Safari on iOS" not in page and "198.51.100.0/24" not in page  # someone else's
    assert "(this browser)" in page and page.count("(this browser)") == 1
    started = db_session.scalar(
        sa.select(sa.func.min(UserSession.created_at)).where(UserSession.user_id == user.id)
    ).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Brussels"))
    assert f"{started.day} {started:%B %Y, %H:%M}" in page  # Brussels time, no leading zero
    assert _signed_in(phone)


def test_ending_one_session_from_the_list_tells_its_owner(make, browser, db_session):
    user = make.user()
    phone = browser(user, SAFARI_IPHONE)
    laptop = browser(user, FIREFOX_WINDOWS)
    phone_session = db_session.scalar(sa.select(sa.func.min(UserSession.id)).where(UserSession.user_id == user.id))
    page = laptop.get("/account/").get_data(as_text=True)
    response = laptop.post(
        f"/account/sessions/{phone_session}/revoke",
        data={"csrf_token": csrf_token_from(page), "reauth_password": TEST_PASSWORD},
    )
    assert "The session on Safari on iOS has been signed out." in laptop.get(response.headers["Location"]).get_data(
        as_text=True
    )
    answer = phone.get("/dashboard", follow_redirects=True).get_data(as_text=True)
    assert "signed out from your account page in another browser" in answer
    assert _signed_in(laptop)


def test_signing_out_all_other_sessions_keeps_this_one(make, browser, db_session):
    user = make.user()
    others = [browser(user, SAFARI_IPHONE), browser(user, CHROME_MAC)]
    laptop = browser(user, FIREFOX_WINDOWS)
    page = laptop.get("/account/").get_data(as_text=True)
    response = laptop.post(
        "/account/sessions/revoke-others", data={"csrf_token": csrf_token_from(page), "reauth_password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert _signed_in(laptop) and not any(_signed_in(c) for c in others)
    event = db_session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "auth.session_revoke_others"))
    assert event.details["sessions"] == 2


@pytest.mark.parametrize(
    ("user_agent", "summary"),
    [
        (FIREFOX_WINDOWS, "Firefox on Windows"),
        (SAFARI_IPHONE, "Safari on iOS"),
        (CHROME_MAC, "Chrome on macOS"),
        (EDGE_WINDOWS, "Edge on Windows"),
        ("curl/8.5.0", "Other browser"),
        ("", ""),
        ("x" * 10000, "Other browser"),
    ],
)
def test_device_summary(user_agent, summary):
    assert device_summary(user_agent) == summary


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
        ("::ffff:192.0.2.1", "192.0.2.0/24"),
        ("not an address", ""),
        (None, ""),
    ],
)
def test_place_is_a_coarse_network(address, network):
    assert coarse_network(address) == network
