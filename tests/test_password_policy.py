"""The password policy beyond length: common passwords, context words and breached passwords
(README "Passwords"; ASVS 5.0 v5.0.0-6.1.2, 6.2.4, 6.2.11, 6.2.12), wherever a password is set.

The breached-password check talks to a real HTTP server on 127.0.0.2 answering in the Pwned
Passwords range format; the outbound guard is told to allow exactly that address."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa

from app.auth import invitations, reset
from app.auth.accounts import change_password
from app.auth.onboarding_models import PasswordReset
from app.auth.passwords import (
    COMMON_PASSWORD_MESSAGE,
    common_passwords,
    comparable,
    context_words,
    generate_password,
    password_problem,
)
from app.auth.services import create_user
from app.validation import ValidationError
from tests.conftest import TEST_PASSWORD, csrf_token_from

#: A common password of 12 characters or more (Openwall's list has few: most are short).
COMMON = "winniethepooh"
GOOD = "tidal crane at berth nine"


# --- common passwords (v5.0.0-6.2.4) -------------------------------------------------------------


def test_the_common_password_list_is_big_enough_and_clean() -> None:
    words = common_passwords()
    assert len(words) >= 3000
    assert {"123456", "password", "qwerty", COMMON} <= words
    assert all(w == comparable(w).strip() and w and not w.startswith("#") for w in words)


#: "WINNIETHEPOOH" in full-width letters, which NFKC normalisation turns into ASCII.
FULL_WIDTH = "".join(chr(ord(c) + 0xFEE0) for c in "WINNIETHEPOOH")


@pytest.mark.parametrize("typed", [COMMON, "WinnieThePooh", FULL_WIDTH])
def test_a_common_password_is_refused_whatever_its_case_or_width(typed: str) -> None:
    assert password_problem(typed) == COMMON_PASSWORD_MESSAGE


def test_short_common_passwords_are_refused_for_their_length_first() -> None:
    assert password_problem("password1") == "Use at least 12 characters."
    assert password_problem(COMMON + "!") is None  # not in the list, and nothing else against it


# --- context words (v5.0.0-6.1.2, v5.0.0-6.2.11) -------------------------------------------------

ACCOUNT = {"email": "jan.devries@havenbedrijf.example", "name": "Jan de Vries", "organisation": "Port of Rotterdam"}


def test_context_words_are_pax_names_and_the_accounts_longer_words() -> None:
    words = context_words(**ACCOUNT)
    assert words[:3] == ["pax", "european ports alliance", "portal"]
    assert {"devries", "vries", "port", "rotterdam", "jandevries"} <= set(words)
    assert not {"jan", "de", "of", "havenbedrijf"} & set(words)  # short words; the domain is not used


@pytest.mark.parametrize(
    ("password", "word"),
    [
        ("My European Ports Alliance pw", "european ports alliance"),
        ("europeanportsalliance!", "european ports alliance"),
        ("the PORTAL is open now", "portal"),
        ("Rotterdam harbour 2026", "rotterdam"),
        ("welcome-DeVries-2026", "devries"),
        ("jan.devries.secret", "devries"),
        ("passport control gate", "port"),
        ("PAXPAXPAX123", "pax"),
        ("pax 2026 pax 2026", "pax"),
    ],
)
def test_a_password_with_a_context_word_is_refused(password: str, word: str) -> None:
    assert password_problem(password, **ACCOUNT) == (
        f'This password contains "{word}", which is easy to guess for a PAX account; choose another.'
    )


def test_pax_is_allowed_beside_twelve_other_characters() -> None:
    """ "pax" is short and common inside words ("paxton"): refused only when the password without
    it would be too short on its own."""
    assert password_problem("pax " + GOOD, **ACCOUNT) is None
    assert password_problem("Paxton Harbour Gate", **ACCOUNT) is None
    assert password_problem("paxton quay1", **ACCOUNT) is not None  # "ton quay1": 9 characters


def test_without_an_account_only_the_pax_words_apply() -> None:
    assert password_problem("Rotterdam harbour 2026") is None
    assert password_problem("my portal password") is not None


def test_a_generated_password_never_holds_a_context_word() -> None:
    for _ in range(50):
        generated = generate_password(**ACCOUNT)
        assert password_problem(generated, **ACCOUNT) is None


# --- every place a password is set --------------------------------------------------------------


def test_creating_an_account_refuses_common_and_context_passwords(make, db_session) -> None:
    org = make.org(name="Antwerp Terminal Services")
    with pytest.raises(ValidationError) as common:
        create_user("ines@terminal.example", "Ines Peeters", org, password=COMMON)
    assert common.value.fields["password"] == COMMON_PASSWORD_MESSAGE
    for password, word in (("Antwerp quay cranes", "antwerp"), ("Peeters harbour 2026", "peeters")):
        with pytest.raises(ValidationError) as context:
            create_user("ines@terminal.example", "Ines Peeters", org, password=password)
        assert f'"{word}"' in context.value.fields["password"]
    assert create_user("ines@terminal.example", "Ines Peeters", org, password=GOOD).id


def test_cli_users_create_refuses_a_common_password(runner, make, db_session) -> None:
    make.org(name="Cli Harbour")
    result = runner.invoke(
        args=["users", "create", "--email", "c@c.example", "--name", "C", "--org", "Cli Harbour", "--password-stdin"],
        input=f"{COMMON}\n",
    )
    assert result.exit_code == 2 and "most common passwords" in result.output


def test_changing_a_password_refuses_the_users_own_name(app, make, db_session) -> None:
    user = make.user()
    surname = "Kowalczyk"
    user.name = f"Agnieszka {surname}"
    with pytest.raises(ValidationError) as refused:
        change_password(user, TEST_PASSWORD, f"{surname} quay lights", f"{surname} quay lights")
    assert '"kowalczyk"' in refused.value.fields["new_password"]
    with pytest.raises(ValidationError) as common:
        change_password(user, TEST_PASSWORD, COMMON, COMMON)
    assert common.value.fields["new_password"] == COMMON_PASSWORD_MESSAGE
    with app.test_request_context():
        change_password(user, TEST_PASSWORD, GOOD, GOOD)


def test_the_account_page_shows_the_refusal_in_plain_words(make, new_client) -> None:
    browser = new_client(make.user())
    token = csrf_token_from(browser.get("/account/").get_data(as_text=True))
    typed = "my PAX portal pass"
    response = browser.post(
        "/account/password",
        data={"csrf_token": token, "current_password": TEST_PASSWORD, "new_password": typed, "confirm_password": typed},
    )
    assert response.status_code == 422
    assert "This password contains &#34;portal&#34;, which is easy to guess" in response.get_data(as_text=True)


def test_a_reset_refuses_common_and_context_passwords(make, db_session) -> None:
    user = make.user()
    reset.request_reset(user.email)
    link = db_session.scalar(sa.select(PasswordReset).where(PasswordReset.user_id == user.id))
    local = user.email.split("@")[0]
    for password in (COMMON, f"{local} new password", "European Ports Alliance!"):
        with pytest.raises(ValidationError):
            reset.complete_reset(link, password, password)
    assert link.used_at is None
    assert reset.complete_reset(link, GOOD, GOOD) is user


def test_accepting_an_invitation_refuses_the_organisations_name(make, db_session) -> None:
    org = make.org(name="Zeebrugge Shipping", domain="zeebrugge.example")
    inviter = make.user(org=org, focal_point=True)
    invitation = invitations.invite(inviter, org, "new.colleague@zeebrugge.example", "Marta Lindqvist")
    for password, word in (("zeebrugge docks 2026", "zeebrugge"), ("lindqvist harbour", "lindqvist")):
        with pytest.raises(ValidationError) as refused:
            invitations.accept(invitation, password, password)
        assert f'"{word}"' in refused.value.fields["password"]
    assert invitations.accept(invitation, GOOD, GOOD).email == "new.colleague@zeebrugge.example"


# --- breached passwords (v5.0.0-6.2.12) ---------------------------------------------------------

BREACHED = "correct horse battery staple 7"


def _sha1(password: str) -> str:
    return hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()


class RangeServer:
    """Pwned Passwords' range API on 127.0.0.2: ``/range/<5 hex>`` answers ``SUFFIX:COUNT``
    lines for the suffixes it knows, plus padding entries counting 0 as the real API adds."""

    def __init__(self) -> None:
        self.known: dict[str, int] = {}
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.status = 200
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner.paths.append(self.path)
                owner.headers.append(dict(self.headers))
                prefix = self.path.rsplit("/", 1)[-1].upper()
                lines = [f"{h[5:]}:{n}" for h, n in owner.known.items() if h.startswith(prefix)]
                lines += [f"{i:035X}:0" for i in range(1, 400)]  # padding
                body = "\r\n".join(sorted(lines)).encode()
                if "/range/" not in self.path:
                    body = b"<html><body>Sign in to the guest network</body></html>"
                self.send_response(owner.status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.2:{self._server.server_address[1]}/range"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def range_server() -> Iterator[RangeServer]:
    server = RangeServer()
    server.known = {_sha1(BREACHED): 3861493}
    yield server
    server.close()


@pytest.fixture
def breached_check(app, range_server: RangeServer) -> RangeServer:
    app.config.update(
        BREACHED_PASSWORD_CHECK=True,
        BREACHED_PASSWORD_URL=range_server.base,
        OUTBOUND_ALLOW_HTTP=True,
        OUTBOUND_ALLOW_NETWORKS="127.0.0.2/32",
    )
    range_server.paths.clear()
    range_server.headers.clear()
    range_server.status = 200
    return range_server


def test_a_breached_password_is_refused_and_only_a_prefix_leaves(breached_check: RangeServer) -> None:
    assert password_problem(BREACHED) == (
        "This password appears in published data breaches, so attackers try it; choose another."
    )
    assert password_problem(GOOD) is None
    assert breached_check.paths == [f"/range/{_sha1(BREACHED)[:5]}", f"/range/{_sha1(GOOD)[:5]}"]
    assert all(h.get("Add-Padding") == "true" for h in breached_check.headers)
    sent = " ".join(breached_check.paths) + " ".join(str(h) for h in breached_check.headers)
    assert BREACHED not in sent and _sha1(BREACHED)[5:] not in sent


def test_a_breached_password_is_refused_where_passwords_are_set(breached_check: RangeServer, make) -> None:
    user = make.user()
    with pytest.raises(ValidationError) as refused:
        change_password(user, TEST_PASSWORD, BREACHED, BREACHED)
    assert "data breaches" in refused.value.fields["new_password"]


def test_the_breached_check_is_off_by_default(app, range_server: RangeServer) -> None:
    range_server.paths.clear()
    assert app.config["BREACHED_PASSWORD_CHECK"] is False
    assert password_problem(BREACHED) is None
    assert range_server.paths == []


@pytest.mark.parametrize("failure", ["error", "garbage", "unreachable", "refused"])
def test_the_breached_check_fails_open_with_a_warning(
    app, breached_check: RangeServer, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    """An unreachable or broken service does not stop members setting a password; the other
    rules still apply and the operator is told, without the password or its hash."""
    if failure == "error":
        breached_check.status = 503
    elif failure == "garbage":
        app.config["BREACHED_PASSWORD_URL"] = breached_check.base.replace("/range", "/elsewhere")
    elif failure == "unreachable":
        app.config["BREACHED_PASSWORD_URL"] = "http://127.0.0.2:9/range"
    else:
        app.config["OUTBOUND_ALLOW_NETWORKS"] = ""  # the guard refuses loopback
    with caplog.at_level(logging.WARNING):
        outcome = password_problem(BREACHED)
    assert outcome is None
    assert password_problem(COMMON) == COMMON_PASSWORD_MESSAGE
    assert "breached-password check" in caplog.text
    assert BREACHED not in caplog.text and _sha1(BREACHED)[:5] not in caplog.text
