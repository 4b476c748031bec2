"""Choosing the language (issue 23, item 3) and the locale's formats (item 4).

A first visit follows the browser's Accept-Language; after a choice in the header's selector,
a visitor's cookie or a member's saved preference decides, on any computer for the member.
``<html lang>`` and the ``hreflang`` alternates follow. Dates, times, sizes and the order of
names follow the language.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask_babel import force_locale

from app.extensions import db
from app.i18n import LANGUAGES, collation_key, format_size, sorted_by_name
from app.localtime import format_date, format_datetime, format_span

SAME_SITE = {"Sec-Fetch-Site": "same-origin"}


def html_lang(response) -> str:  # type: ignore[no-untyped-def]
    match = re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True))
    assert match, "page has no <html lang>"
    return match.group(1)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("de-DE,de;q=0.9,en;q=0.5", "de"), ("fr-BE", "fr"), ("el", "el"), ("ja,zh;q=0.8", "en"), (None, "en")],
)
def test_a_first_visit_follows_the_browser(client, header, expected) -> None:
    headers = {"Accept-Language": header} if header else {}
    assert html_lang(client.get("/", headers=headers)) == expected
    assert html_lang(client.get("/login", headers=headers)) == expected


def test_every_page_names_itself_in_each_language_for_hreflang(client) -> None:
    page = client.get("/login?next=/dashboard").get_data(as_text=True)
    alternates = dict(re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">', page))
    assert set(alternates) == {*LANGUAGES, "x-default"}
    # Absolute addresses, as search engines require of alternates.
    assert alternates["pl"] == "http://localhost/login?next=/dashboard&amp;lang=pl"
    assert "lang=" not in alternates["x-default"]
    # The alternate really is that page in that language, and it changes nothing for later pages.
    assert html_lang(client.get(alternates["pl"].replace("&amp;", "&"))) == "pl"
    assert html_lang(client.get("/login")) == "en"


def test_the_selector_names_every_language_in_itself(client) -> None:
    page = client.get("/", headers={"Accept-Language": "fi"}).get_data(as_text=True)
    for code, name in LANGUAGES.items():
        assert re.search(
            rf'lang="{code}" hreflang="{code}"[^>]*>\s*<span[^>]*>{code}</span>\s*<span[^>]*>{name}</span>', page
        )
    assert 'aria-current="true"' in page.split('lang="fi" hreflang="fi"')[1].split("</a>")[0]
    # Without script the selector is a page of its own listing the same links.
    listing = client.get("/language").get_data(as_text=True)
    assert all(f'href="/language/{code}"' in listing for code in LANGUAGES)


def test_a_visitors_choice_is_kept_in_a_cookie_and_outranks_the_browser(client) -> None:
    response = client.get("/language/el", headers={**SAME_SITE, "Referer": "http://localhost/login?lang=de"})
    assert response.status_code == 302
    # Back where the reader was, without the page's own ?lang= (which would outrank the choice).
    assert response.headers["Location"] == "/login"
    cookie = response.headers["Set-Cookie"]
    assert "pax_lang=el" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert html_lang(client.get("/", headers={"Accept-Language": "de"})) == "el"


def test_a_link_from_another_site_changes_nothing(client) -> None:
    response = client.get("/language/mt", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 302
    assert "Set-Cookie" not in response.headers
    assert html_lang(client.get("/")) == "en"


def test_an_unknown_language_is_not_found(client) -> None:
    assert client.get("/language/xx", headers=SAME_SITE).status_code == 404
    assert html_lang(client.get("/?lang=xx")) == "en"


def test_a_members_choice_is_saved_and_follows_them_to_another_computer(app: Flask, make, new_client) -> None:
    member = make.user(clusters={"policy": "contributor"})
    first = new_client(member)
    assert first.get("/language/pl", headers=SAME_SITE).status_code == 302
    db.session.refresh(member)
    assert member.language == "pl"

    elsewhere = new_client(member)
    assert html_lang(elsewhere.get("/dashboard", headers={"Accept-Language": "fr"})) == "pl"
    # The header shows the choice, its code and its name in itself.
    page = elsewhere.get("/dashboard").get_data(as_text=True)
    assert '<span class="ecl-site-header__language-code">pl</span>' in page
    assert '<span lang="pl">polski</span>' in page


def test_dates_times_and_sizes_follow_the_language(app: Flask) -> None:
    moment = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)  # 10:00 in Brussels
    with app.test_request_context():
        assert format_datetime(moment) == "5 December 2026, 10:00"
        assert format_size(1536) == "1.5 KiB"
        with force_locale("fr"):
            assert format_datetime(moment) == "5 décembre 2026, 10:00"
            assert format_size(1536) == "1,5 KiB"
            assert format_size(1_234_567_890) == "1,1 GiB"
        with force_locale("de"):
            assert format_date(moment) == "5. Dezember 2026"
        with force_locale("fi"):
            assert format_datetime(moment) == "5. joulukuuta 2026 10.00"
        with force_locale("el"):
            # A 24-hour clock in every language, as the Commission writes times.
            assert format_datetime(moment) == "5 Δεκεμβρίου 2026, 10:00"
        with force_locale("bg"):
            # A narrow no-break space before the year's abbreviation, as CLDR writes it.
            assert format_date(moment) == "5 декември 2026\u202fг."  # noqa: RUF001


def test_names_sort_in_the_readers_alphabet(app: Flask) -> None:
    names = [
        "Zeebrugge Port",
        "Ålesund Terminals",
        "Öresund Line",
        "Antwerp Customs",
        "Čakovec Logistics",
        "Cork Harbour",
    ]
    with app.test_request_context():
        with force_locale("sv"):
            # Swedish: Å and Ö are letters of their own after Z.
            assert sorted_by_name(names, str) == [
                "Antwerp Customs",
                "Čakovec Logistics",
                "Cork Harbour",
                "Zeebrugge Port",
                "Ålesund Terminals",
                "Öresund Line",
            ]
        with force_locale("de"):
            assert sorted_by_name(names, str)[:2] == ["Ålesund Terminals", "Antwerp Customs"]
            assert sorted_by_name(names, str)[-2:] == ["Öresund Line", "Zeebrugge Port"]
        with force_locale("hr"):
            # Croatian: Č after C.
            order = sorted_by_name(names, str)
            assert order.index("Cork Harbour") < order.index("Čakovec Logistics")
        with force_locale("en"):
            assert collation_key("éclair") < collation_key("ezra")


def test_a_meetings_span_is_written_in_the_readers_language(app: Flask) -> None:
    starts, ends = datetime(2026, 12, 5, 9, tzinfo=UTC), datetime(2026, 12, 5, 11, tzinfo=UTC)
    with app.test_request_context():
        assert format_span(starts, ends) == "Saturday 5 December 2026, 10:00 to 12:00 Brussels time (CET)"
        with force_locale("de"):
            text = format_span(starts, ends)
        assert text.startswith("Samstag, 5. Dezember 2026, 10:00") and "12:00" in text and "Brüssel" in text


def test_a_page_says_its_language_and_that_it_depends_on_the_reader(client) -> None:
    response = client.get("/", headers={"Accept-Language": "lv"})
    assert response.headers["Content-Language"] == "lv"
    assert {"Accept-Language", "Cookie"} <= set(response.vary)


def test_numbers_are_typed_with_the_readers_decimal_sign(app: Flask) -> None:
    """A comma followed by three digits is a decimal comma to a German or French reader, and a
    point followed by three digits is refused to them, as "1,234" is to an English one: a
    quantity misread by a factor of 1,000 is worse than a question."""
    from decimal import Decimal

    from app.parsers import decimal_text

    with app.test_request_context():
        with pytest.raises(ValueError, match="comma separates thousands or decimals"):
            decimal_text("1,234")
        assert decimal_text("1.234") == Decimal("1.234")
        for code in ("de", "fr", "pl", "el"):
            with force_locale(code):
                assert decimal_text("1,234") == Decimal("1.234")
                assert decimal_text("1 234,5") == Decimal("1234.5")
                assert decimal_text("48.5") == Decimal("48.5")
                with pytest.raises(ValueError) as refused:
                    decimal_text("1.234")
                assert "1234" in str(refused.value) and "1,234" in str(refused.value)
        # Irish writes a decimal point, as English does.
        with force_locale("ga"), pytest.raises(ValueError):
            decimal_text("1,234")


def test_a_member_chooses_a_language_on_their_account(app: Flask, make, new_client) -> None:
    from tests.conftest import csrf_token_from

    member = make.user()
    client = new_client(member)
    page = client.get("/account/").get_data(as_text=True)
    assert 'value="el">ελληνικά</option>' in page
    token = csrf_token_from(page)
    response = client.post("/account/language", data={"language": "xx", "csrf_token": token})
    assert response.status_code == 422
    assert "Choose one of the official languages" in response.get_data(as_text=True)

    response = client.post("/account/language", data={"language": "hu", "csrf_token": token})
    assert response.status_code == 302 and "pax_lang=hu" in response.headers["Set-Cookie"]
    db.session.refresh(member)
    assert member.language == "hu"
    assert html_lang(client.get("/account/", headers={"Accept-Language": "de"})) == "hu"

    # Back to the browser's language: the account and this browser forget the choice.
    response = client.post("/account/language", data={"language": "", "csrf_token": token})
    assert "pax_lang=;" in response.headers["Set-Cookie"]
    db.session.refresh(member)
    assert member.language is None
    assert html_lang(client.get("/account/", headers={"Accept-Language": "de"})) == "de"


def test_stix_content_is_the_same_whatever_the_readers_language(make, new_client) -> None:
    """A STIX object's version is one content for everyone: a French reader's download is the
    English one, byte for byte (only PAX's pages follow the reader's language)."""
    from tests.test_notifications import publish

    author = make.user(clusters={"policy": "contributor"})
    post = publish(author, "GREEN")
    client = new_client(author)
    english = client.get(f"/posts/{post.id}/stix.json").get_json()
    french = client.get(f"/posts/{post.id}/stix.json?lang=fr", headers={"Accept-Language": "fr"}).get_json()
    assert french["objects"] == english["objects"]
    assert "shared in the PAX cluster" in str(french["objects"])


def test_the_api_speaks_the_token_owners_language_or_the_clients(client, make) -> None:
    """The API's human-readable messages follow the token owner's saved language, else the
    client's Accept-Language; machine fields (codes, field names) never change."""
    from tests.test_api_posts import CLUSTER, bearer
    from tests.test_i18n_mail import translation

    author = make.user(clusters={CLUSTER: "contributor"})
    without_title = {"type": "best_practice", "cluster": CLUSTER, "body": "Text.", "tlp": "GREEN"}

    def refusal(headers):  # type: ignore[no-untyped-def]
        response = client.post("/api/v1/posts", json=without_title, headers=headers)
        assert response.status_code == 422
        return response.get_json()["error"]

    headers = bearer(author)
    english = refusal(headers)
    assert "Enter the title." in str(english)
    polish = refusal({**headers, "Accept-Language": "pl"})
    assert "Enter the title." not in str(polish) and polish["code"] == english["code"]
    author.language = "de"
    db.session.commit()
    german = refusal({**headers, "Accept-Language": "pl"})
    assert translation("de", "Enter the title.") in str(german)


def test_the_directory_lists_countries_in_the_readers_alphabet(app: Flask, make) -> None:
    """A list sorted in Python follows the reader's collation: in German, Österreich comes before
    Polen (by code point, Ö would come after every letter)."""
    from app.directory.queries import countries

    make.user(make.org(country="PL"))
    make.user(make.org(country="AT"))
    with app.test_request_context():
        with force_locale("de"):
            names = [name for _code, name in countries()]
        assert names.index("Österreich") < names.index("Polen")
        assert sorted(names) != names  # what a code-point sort would have said
