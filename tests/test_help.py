"""Help pages (issue 21, item 9): open to everyone, the support contact comes from its setting,
and the pages where people get stuck link to the help topic that answers them."""

from __future__ import annotations

import pytest

import config
from tests.test_packs import add_document, make_meeting

TOPICS = {
    "/help/": "Help",
    "/help/markings": "Markings and who sees what",
    "/help/signing-in": "Signing in and two-step sign-in",
    "/help/posting": "Posting and commenting",
    "/help/packs": "Meeting packs and checking them",
    "/help/contact": "Who to contact",
}


def _assert_help_page(client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"<title>{TOPICS[url]}" in html
    for other in TOPICS:
        # Each topic lists the others, so a reader who landed on the wrong one moves on.
        assert f'href="{other}"' in html or other in (url, "/help/")


@pytest.mark.parametrize("url", list(TOPICS))
def test_every_help_page_opens_for_a_visitor_and_a_member(url, client, make, login_as):
    _assert_help_page(client, url)
    login_as(make.user())
    _assert_help_page(client, url)


def test_help_pages_describe_the_markings_and_pack_checks(client):
    markings = client.get("/help/markings").get_data(as_text=True)
    for tlp in ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"):
        assert f">TLP:{tlp}<" in markings
    assert 'id="law-enforcement-only"' in markings
    packs = client.get("/help/packs").get_data(as_text=True)
    assert "/api/v1/pack-key" in packs and "packs verify" in packs and "manifest.sig" in packs


def test_the_support_contact_is_a_setting_shown_on_the_contact_page_and_every_footer(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SUPPORT_CONTACT", "help-desk@ports.example.eu")
    contact = client.get("/help/contact").get_data(as_text=True)
    assert 'href="mailto:help-desk@ports.example.eu"' in contact
    for url in ("/", "/login", "/help/"):
        html = client.get(url).get_data(as_text=True)
        assert "mailto:help-desk@ports.example.eu" in html, url
        assert 'href="/help/"' in html, url


def test_the_support_contact_defaults_to_the_portals_host_and_must_be_an_address(monkeypatch):
    monkeypatch.setenv("PAX_BASE_URL", "https://pax.example.eu")
    monkeypatch.delenv("PAX_SUPPORT_CONTACT", raising=False)
    assert config.DevelopmentConfig().SUPPORT_CONTACT == "support@pax.example.eu"
    monkeypatch.setenv("PAX_SUPPORT_CONTACT", "mailto:desk@ports.example.eu")
    assert config.DevelopmentConfig().SUPPORT_CONTACT == "desk@ports.example.eu"
    for wrong in ("desk", "desk@", "a b@ports.example.eu", 'x"@y.eu'):
        monkeypatch.setenv("PAX_SUPPORT_CONTACT", wrong)
        with pytest.raises(config.ConfigError, match="PAX_SUPPORT_CONTACT"):
            config.DevelopmentConfig().check()


def test_pages_where_people_get_stuck_link_to_their_help_topic(client, make, login_as):
    login_page = client.get("/login").get_data(as_text=True)
    assert 'href="/help/signing-in"' in login_page

    organiser = make.user(org_type="commission", role="curator")
    meeting = make_meeting(organiser)
    add_document(meeting, None, "Agenda", b"Agenda of the meeting\n", "agenda.txt")
    login_as(make.user(clusters={"policy": "contributor"}))
    pages = {
        "/clusters/policy/posts/new": 'href="/help/markings#tlp"',
        "/account/mfa": 'href="/help/signing-in#mfa"',
        "/account/": 'href="/help/signing-in#mfa"',
        f"/meetings/{meeting.id}": 'href="/help/packs"',
    }
    for url, link in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert link in response.get_data(as_text=True), url
