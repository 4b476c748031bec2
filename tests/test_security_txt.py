"""``/.well-known/security.txt`` as RFC 9116 asks: checked against the RFC's grammar, not the code."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

import config

#: RFC 9116 section 2.5 fields (and the registry's CSAF); anything else would be a typo here.
KNOWN_FIELDS = {
    "Acknowledgments",
    "Canonical",
    "Contact",
    "Encryption",
    "Expires",
    "Hiring",
    "Policy",
    "Preferred-Languages",
    "CSAF",
}
LINE = re.compile(r"^(?P<name>[A-Za-z0-9-]+): (?P<value>[^\s].*)$")


def fields(text: str) -> list[tuple[str, str]]:
    found = []
    for line in text.split("\n")[:-1]:  # the file ends with a line break
        if line == "" or line.startswith("#"):
            continue
        match = LINE.match(line)
        assert match, f"malformed line {line!r}"
        found.append((match["name"], match["value"]))
    return found


def test_security_txt_is_served_and_valid(client, app):
    response = client.get("/.well-known/security.txt")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    text = response.get_data(as_text=True)
    assert text.endswith("\n") and "\r" not in text
    parsed = fields(text)
    names = [name for name, _ in parsed]
    assert set(names) <= KNOWN_FIELDS, names
    for once in ("Expires", "Preferred-Languages"):
        assert names.count(once) <= 1
    values = dict(parsed)
    assert names.count("Contact") >= 1
    assert all(v.startswith(("mailto:", "https://", "tel:")) for n, v in parsed if n == "Contact")
    expires = datetime.strptime(values["Expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    now = datetime.now(UTC)
    assert now < expires < now + timedelta(days=365)
    assert values["Preferred-Languages"] == "en"
    assert values["Canonical"] == app.config["BASE_URL"].rstrip("/") + "/.well-known/security.txt"


def test_the_contact_and_policy_come_from_the_settings(client, app):
    app.config.update(
        SECURITY_CONTACT="mailto:cert@ports-alliance.example", SECURITY_POLICY_URL="https://x.example/vdp"
    )
    values = dict(fields(client.get("/.well-known/security.txt").get_data(as_text=True)))
    assert values["Contact"] == "mailto:cert@ports-alliance.example"
    assert values["Policy"] == "https://x.example/vdp"


def test_the_legacy_location_redirects_to_the_canonical_one(client):
    response = client.get("/security.txt")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/.well-known/security.txt")


def test_the_contact_setting(monkeypatch):
    monkeypatch.setenv("PAX_BASE_URL", "https://pax.ports.example")
    monkeypatch.delenv("PAX_SECURITY_CONTACT", raising=False)
    assert config.TestingConfig().SECURITY_CONTACT == "mailto:security@pax.ports.example"
    monkeypatch.setenv("PAX_SECURITY_CONTACT", "cert@ports.example")
    assert config.TestingConfig().SECURITY_CONTACT == "mailto:cert@ports.example"
    monkeypatch.setenv("PAX_SECURITY_CONTACT", "https://ports.example/report")
    config.TestingConfig().check()
    for wrong in ("ftp://ports.example/", "mailto:a@b.example\nHiring: https://evil.example"):
        monkeypatch.setenv("PAX_SECURITY_CONTACT", wrong)
        with pytest.raises(config.ConfigError, match="PAX_SECURITY_CONTACT"):
            config.TestingConfig().check()
