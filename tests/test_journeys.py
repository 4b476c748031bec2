"""End-to-end journeys in Debian's chromium: people use the pages (labels, roles, buttons) of a
live portal on loopback, and each journey ends with a screenshot under test-output/.

The journeys do not depend on the database backend, so they run in the SQLite half only.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import io
import json
import re
import secrets
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.support import databases
from tests.support.browser import CHROMIUM_ARGS, chromium_path, live_server
from tests.support.oidc import OidcProvider
from tests.support.pdfs import pdf_bytes

OUTPUT = Path(__file__).resolve().parent.parent / "test-output" / "journeys"
CLUSTER = "operational-cooperation"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.committed_db,
    pytest.mark.slow,
    pytest.mark.skipif(databases.backend() == "postgresql", reason="browser journeys run once, in the SQLite half"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Person:
    """One browser context (cookies of its own) and the problems its pages report."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.base_url = base_url
        self.context = browser.new_context(accept_downloads=True)
        self.context.set_default_timeout(10_000)
        self.page: Page = self.context.new_page()
        self.problems: list[str] = []
        portal = base_url + "/"
        self.page.on(
            "console",
            lambda msg: (
                self.problems.append(msg.text)
                if msg.type == "error"
                and not msg.text.startswith("Failed to load resource")
                and self.page.url.startswith(portal)
                else None
            ),
        )
        self.page.on("pageerror", lambda exc: self.problems.append(str(exc)))
        self.page.on(
            "response",
            lambda r: (
                self.problems.append(f"{r.status} {r.url}")
                if r.status >= 400 and r.request.resource_type != "document" and r.url.startswith(portal)
                else None
            ),
        )

    def sign_in(self, email: str, password: str, totp_secret: str | None = None) -> None:
        page = self.page
        page.goto(self.base_url + "/login")
        page.get_by_label("E-mail address").fill(email)
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        if totp_secret is not None:
            page.wait_for_url(self.base_url + "/login/mfa")
            page.get_by_label(re.compile("code", re.I)).first.fill(pyotp.TOTP(totp_secret).now())
            page.get_by_role("button", name=re.compile("Verify|Sign in|Continue")).first.click()
        page.wait_for_url(self.base_url + "/dashboard")

    def screenshot(self, name: str) -> None:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


def enrol_totp(user) -> str:  # type: ignore[no-untyped-def]
    """Enrol TOTP through the MFA service with the previous step's code, so that the login may
    use the current one (a code is accepted once per time step)."""
    from app.auth import mfa
    from app.extensions import db

    secret = pyotp.random_base32()
    assert mfa.enrol(user, secret, pyotp.TOTP(secret).at(time.time() - 30)) is not None
    db.session.commit()
    return secret


def field(page: Page, label: str):  # type: ignore[no-untyped-def]
    """The form field labelled ``label`` (labels of required fields end with a marker)."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}(\W|$)"))


def tick(page: Page, label: str) -> None:
    """Tick an ECL checkbox the way a person does: by clicking its label (the box is drawn over it)."""
    page.locator("label", has_text=label).first.click()
    expect(page.get_by_label(label)).to_be_checked()


def upload(page: Page, label: str, name: str, content: bytes, mime: str) -> None:
    field(page, label).set_input_files({"name": name, "mimeType": mime, "buffer": content})


def container_number() -> str:
    from stdnum import iso6346

    serial = f"PAXU{secrets.randbelow(10**6):06d}"
    return serial + iso6346.calc_check_digit(serial)


# --- (a) an operator signs in through company SSO and posts an AMBER best practice -------------


def test_operator_signs_in_with_company_sso_and_posts_an_amber_best_practice(app, make, browser):
    from app.auth.models import Identity
    from app.auth.sso import add_provider
    from app.extensions import db
    from tests.support.providers import ready

    domain = "terminal-journey.example"
    org = make.org("terminal_operator", name="Journey Container Terminal", domain=domain)
    operator = make.user(org=org, email=f"pia@{domain}", password=None, clusters={CLUSTER: "contributor"})
    client_id, client_secret = f"pax-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    idp = OidcProvider()
    with idp, live_server(app) as base_url:
        provider = add_provider(org, "Journey SSO", idp.issuer, client_id, client_secret)
        db.session.commit()
        ready(provider)  # tested and enabled, as an administrator does from the provider page
        idp.add_client(client_id, client_secret, [f"{base_url}/login/sso/{provider.id}/callback"])
        sub = f"sub-{secrets.token_hex(4)}"
        idp.add_account(sub, operator.email, "Pia Terminal")
        # Pia's account was linked to her company identity earlier (by her focal point, as issue 16 asks).
        db.session.add(Identity(user_id=operator.id, provider_id=provider.id, subject=sub))
        db.session.commit()
        person = Person(browser, base_url)
        page = person.page
        page.goto(base_url + "/")
        page.get_by_role("link", name="Sign in").first.click()
        page.get_by_label("E-mail address").fill(operator.email)
        page.get_by_role("button", name="Continue").click()
        # The e-mail's domain sends the browser to the company's provider.
        page.wait_for_url(re.compile(re.escape(idp.base_url) + "/interaction/"))
        page.get_by_label("E-mail or subject").fill(operator.email)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(base_url + "/dashboard")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")

        page.get_by_role("link", name="Operational cooperation").first.click()
        page.get_by_role("link", name=re.compile("New post")).first.click()
        page.get_by_label("Type of post").select_option(label="Best practice")
        field(page, "Title").fill("Checking seals on reefer containers at the gate")
        field(page, "Text").fill("Check the **seal number** against the booking at the gate.")
        page.get_by_label("Tags").fill("seals, reefers")
        page.get_by_text("TLP:AMBER", exact=True).first.click()
        page.get_by_role("button", name="Publish").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Checking seals on reefer containers at the gate")
        expect(page.get_by_text("TLP:AMBER").first).to_be_visible()

        checklist = pdf_bytes(Path(tempfile.mkdtemp()), 2)
        upload(page, "Add a file", "reefer-seal-checklist.pdf", checklist, "application/pdf")
        page.get_by_role("button", name="Upload").click()
        files = page.locator("#attachments")
        expect(files.get_by_role("link", name=re.compile("reefer-seal-checklist.pdf"))).to_be_visible()
        with page.expect_download() as download_info:
            files.get_by_role("link", name=re.compile("reefer-seal-checklist.pdf")).first.click()
        # An AMBER PDF comes stamped for its reader on every page (the reference traces the download).
        from pypdf import PdfReader

        stamped = PdfReader(download_info.value.path())
        assert len(stamped.pages) == 2
        assert all("TLP:AMBER" in p.extract_text() and org.name in p.extract_text() for p in stamped.pages)
        person.screenshot("a-operator-sso-amber-best-practice")
        assert person.problems == [], person.problems
        person.close()


# --- (b) a police officer signs in with TOTP and sees a cross-match ---------------------------


def test_police_officer_signs_in_with_totp_and_sees_a_cross_match(app, make, browser):
    from app.clusters.services import publish_post
    from app.clusters.validation import parse_post

    number = container_number()
    customs = make.user(org=make.org("customs", name="Journey Customs"), clusters={CLUSTER: "contributor"})
    make.enrol_mfa(customs)
    with app.test_request_context():
        publish_post(
            customs,
            parse_post(
                {
                    "type": "incident_note",
                    "cluster": CLUSTER,
                    "title": "Seizure in a reefer",
                    "body": "Bags behind the cooling unit.",
                    "tlp": "GREEN",
                    "law_enforcement_only": True,
                    "incident": {
                        "port_locode": "NLRTM",
                        "occurred_on": "2026-01-10",
                        "modus_operandi": "rip_on_rip_off",
                        "substance": "cocaine",
                        "quantity_kg": 40,
                        "container_numbers": [number],
                    },
                }
            ),
        )
        from app.extensions import db

        db.session.commit()
    police = make.org("police", name="Journey Police")
    officer = make.user(org=police, clusters={CLUSTER: "contributor"})
    secret = enrol_totp(officer)

    with live_server(app) as base_url:
        person = Person(browser, base_url)
        page = person.page
        from tests.conftest import TEST_PASSWORD

        person.sign_in(officer.email, TEST_PASSWORD, totp_secret=secret)
        page.goto(base_url + f"/clusters/{CLUSTER}")
        page.get_by_role("link", name=re.compile("New post")).first.click()
        page.get_by_label("Type of post").select_option(label="Incident note")
        field(page, "Title").fill("Rip-off attempt at the quay")
        field(page, "Text").fill("Two bags found in the container at the quay.")
        page.get_by_text("TLP:AMBER", exact=True).first.click()
        tick(page, "Law enforcement only")
        page.get_by_label("Port (UN/LOCODE)").fill("BEANR")
        page.get_by_label("Date of the incident").fill("2026-01-12")
        page.get_by_label("Modus operandi").select_option(value="rip_on_rip_off")
        page.get_by_label("Substance").select_option(value="cocaine")
        page.get_by_label("Quantity (kg)").fill("25")
        page.get_by_label("Container numbers").fill(number)
        page.get_by_role("button", name="Publish").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Rip-off attempt at the quay")
        matches = page.get_by_role("region", name="Cross-match")
        expect(matches).to_contain_text("1 hit with another organisation\u2019s incident note")
        expect(matches).to_contain_text(number)
        expect(matches).to_contain_text("Journey Customs")
        person.screenshot("b-police-totp-cross-match")
        assert person.problems == [], person.problems
        person.close()


# --- (c) + (d) a curator prepares a technical meeting; a member downloads its pack ------------


def test_curator_updates_the_workplan_and_schedules_a_meeting_whose_pack_a_member_downloads(app, make, browser, runner):
    from app.auth.services import find_user_by_email
    from app.demo import DEMO_PASSWORD
    from app.keys.signing import verify

    runner.invoke(args=["demo", "load"], catch_exceptions=False)
    secret = enrol_totp(find_user_by_email("claire.martin@ec-home.example"))
    notes = b"Agenda notes for the technical meeting.\n"
    indicators = b"indicator,weight\nseal mismatch,3\nlate booking,2\n"

    with live_server(app) as base_url:
        curator = Person(browser, base_url)
        page = curator.page
        curator.sign_in("claire.martin@ec-home.example", DEMO_PASSWORD, totp_secret=secret)

        # (c) The workplan: record its adoption, then update one item's progress.
        page.get_by_role("link", name="Workplan").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Workplan 2026")
        page.goto(base_url + "/workplan/2026/adopt")
        page.get_by_label("Adopted on").fill("2026-02-03")
        page.get_by_role("button", name="Record as adopted").click()
        expect(page.get_by_text("The 2026 workplan is recorded as adopted.")).to_be_visible()
        page.get_by_role("link", name="Common risk indicators for container misuse").first.click()
        page.get_by_role("link", name="Edit").first.click()
        page.get_by_label("Progress (%)").fill("75")
        page.get_by_role("button", name="Save changes").click()
        expect(page.get_by_role("status")).to_contain_text("Saved: progress changed.")
        expect(page.get_by_role("progressbar")).to_have_attribute("value", "75")
        expect(page.get_by_role("row", name=re.compile("Claire Martin Progress 60 % 75 %"))).to_be_visible()

        # The meeting, with two documents uploaded through the page; one is law enforcement only.
        page.get_by_role("link", name="Meetings").first.click()
        page.get_by_role("link", name=re.compile("Schedule")).first.click()
        field(page, "Title").fill("Technical meeting on risk indicators")
        page.get_by_label("Kind of meeting").select_option(value="technical")
        page.get_by_label("Cluster").select_option(label="Operational cooperation")
        day = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
        page.get_by_label("Start date").fill(day)
        page.get_by_label("Start time").fill("10:00")
        page.get_by_label("End date").fill(day)
        page.get_by_label("End time").fill("16:00")
        page.get_by_label("Place").fill("Brussels")
        page.locator("input[name=tlp][value=GREEN]").check(force=True)
        page.get_by_role("textbox", name="Agenda").fill("Welcome\nRisk indicators")
        page.get_by_role("button", name="Schedule").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Technical meeting on risk indicators")
        meeting_url = page.url

        for title, name, content, mime, le_only in (
            ("Notes for the meeting", "notes.txt", notes, "text/plain", False),
            ("Indicators seen by police", "indicators.csv", indicators, "text/csv", True),
        ):
            page.get_by_role("link", name="Add a document").first.click()
            field(page, "Title").fill(title)
            if le_only:
                tick(page, "Law enforcement only")
            upload(page, "File", name, content, mime)
            page.get_by_role("button", name="Upload").click()
            page.wait_for_url(re.compile(re.escape(meeting_url)))
            expect(page.get_by_text(title).first).to_be_visible()
        curator.screenshot("c-curator-meeting-with-documents")
        assert curator.problems == [], curator.problems
        curator.close()

        # (d) A member of the cluster downloads the pack from the meeting page.
        member = Person(browser, base_url)
        page = member.page
        member.sign_in("jan.devries@rct.example", DEMO_PASSWORD)
        page.get_by_role("link", name="Meetings").first.click()
        page.get_by_role("link", name="Technical meeting on risk indicators").first.click()
        expect(page.get_by_text("Notes for the meeting").first).to_be_visible()
        expect(page.get_by_text("Indicators seen by police")).to_have_count(0)
        with page.expect_download() as download_info:
            page.get_by_role("link", name="Download meeting pack").click()
        download = download_info.value
        assert download.suggested_filename.endswith("-pack.zip")
        pack = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
        assert pack.testzip() is None
        manifest = pack.read("manifest.json")
        public_key = base64.b64decode(page.request.get(base_url + "/api/v1/pack-key").json()["public_key"])
        signature = base64.b64decode(pack.read("manifest.sig"))
        assert verify(public_key, signature, manifest)
        assert not verify(public_key, signature, manifest.replace(b'"withheld": 1', b'"withheld": 0'))
        listed = json.loads(manifest)
        assert listed["recipient"]["email"] == "jan.devries@rct.example"
        assert listed["meeting"]["title"] == "Technical meeting on risk indicators"
        assert listed["withheld"] == 1
        assert [f["title"] for f in listed["files"]] == ["Notes for the meeting"]
        for entry in listed["files"]:
            data = pack.read(entry["name"])
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
            assert len(data) == entry["size"]
        assert pack.read(listed["files"][0]["name"]) == notes
        assert sorted(f["name"] for f in listed["files"]) == sorted(
            n for n in pack.namelist() if n not in ("index.html", "manifest.json", "manifest.sig")
        )
        member.screenshot("d-member-meeting-pack")
        assert member.problems == [], member.problems
        member.close()


# --- (e) an administrator tests a new identity provider, then enables it ----------------------

WIDTHS = (1366, 320)


def screenshots_at_widths(person: Person, name: str) -> None:
    """Screenshots of the current page at a desktop and at the narrowest phone width; at each,
    the page must not scroll sideways (long URLs and tables wrap or scroll inside themselves)."""
    page = person.page
    before = page.viewport_size
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        # A resized page settles over a few frames (scroll bars, the design system's scripts): wait
        # up to 3 s for it to fit; a page that really overflows still does after that.
        measure = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        with contextlib.suppress(PlaywrightTimeoutError):
            page.wait_for_function(f"() => ({measure}) <= 0", timeout=3000)
        overflow = page.evaluate(measure)
        person.screenshot(f"{name}-{width}")
        assert overflow <= 0, f"{name} at {width} px scrolls sideways by {overflow} px"
    if before is not None:
        page.set_viewport_size(before)


def test_administrator_tests_a_new_provider_then_enables_it(app, make, browser):
    import sqlalchemy as sa

    from app.auth.models import IdentityProvider, ProviderStatus
    from app.auth.services import find_user_by_email
    from app.extensions import db
    from tests.conftest import TEST_PASSWORD

    domain = "tested-terminal.example"
    org = make.org("terminal_operator", name="Journey Tested Terminal", domain=domain)
    member = make.user(org=org, email=f"noor@{domain}", password=None)
    admin = make.user(role="admin")
    secret = enrol_totp(admin)
    client_id, client_secret = f"pax-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    idp = OidcProvider()
    with idp, live_server(app) as base_url:
        person = Person(browser, base_url)
        page = person.page
        person.sign_in(admin.email, TEST_PASSWORD, totp_secret=secret)

        # The provider as the organisation's IT gave it: it starts in testing.
        page.goto(base_url + "/admin/identity-providers")
        field(page, "Organisation").select_option(label=org.name)
        field(page, "Name shown at sign-in").fill("Tested Terminal sign-in")
        field(page, "Issuer URL").fill(idp.issuer)
        field(page, "Client id").fill(client_id)
        field(page, "Client secret").fill(client_secret)
        page.get_by_role("button", name="Add provider").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Tested Terminal sign-in")
        expect(page.locator("#provider-state")).to_contain_text("In testing")
        provider = db.session.scalar(sa.select(IdentityProvider).where(IdentityProvider.organisation_id == org.id))
        redirect_uri = page.get_by_label("Redirect URI", exact=True).input_value()
        assert redirect_uri == f"{base_url}/login/sso/{provider.id}/callback"
        screenshots_at_widths(person, "e-admin-provider-in-testing")

        # Not enabled before a test has passed.
        field(page, "State").select_option(label="Enabled")
        page.get_by_role("button", name="Change state").click()
        expect(page.get_by_role("alert")).to_contain_text("The state was not changed")

        # PAX registered at the provider with the redirect URI the page shows; the administrator's
        # test account there.
        idp.add_client(client_id, client_secret, [redirect_uri])
        sub = f"sub-{secrets.token_hex(4)}"
        idp.add_account(sub, f"it-tester@{domain}", "Ines Tester")
        page.get_by_role("button", name="Run a test sign-in").click()
        page.wait_for_url(re.compile(re.escape(idp.base_url) + "/interaction/"))
        page.get_by_label("E-mail or subject").fill(f"it-tester@{domain}")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(re.escape(redirect_uri + "?")))
        expect(page.get_by_role("heading", level=1)).to_have_text("Test sign-in through Tested Terminal sign-in")
        expect(page.locator("#test-result")).to_contain_text("The test sign-in worked")
        checks = page.get_by_role("table", name="What PAX checked")
        for check in ("Discovery document", "Signing keys", "Redirect URI", "ID token", "Subject", "E-mail address"):
            expect(checks.get_by_role("row", name=re.compile(rf"^{check} Passed"))).to_be_visible()
        claims = page.get_by_role("region", name="What the provider said about the person")
        expect(claims).to_contain_text(sub)
        expect(claims).to_contain_text(f"it-tester@{domain}")
        expect(claims).to_contain_text("Ines Tester")
        expect(checks).to_contain_text("a new account would wait for approval")
        screenshots_at_widths(person, "e-admin-provider-test-report")
        # A test signs nobody in and creates no account: the administrator is still themselves.
        assert find_user_by_email(f"it-tester@{domain}") is None
        page.goto(base_url + "/dashboard")
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {admin.name}")

        page.goto(base_url + f"/admin/identity-providers/{provider.id}")
        expect(page.get_by_text("Last successful test")).to_be_visible()
        field(page, "State").select_option(label="Enabled")
        page.get_by_role("button", name="Change state").click()
        expect(page.get_by_text(f"is enabled: people of {org.name} are sent to it")).to_be_visible()
        expect(page.locator("#provider-state")).to_contain_text("Enabled")
        db.session.refresh(provider)
        assert provider.status is ProviderStatus.ENABLED
        person.screenshot("e-admin-provider-enabled")
        assert person.problems == [], person.problems
        person.close()

        # A member of the organisation is now sent to the company's sign-in.
        colleague = Person(browser, base_url)
        page = colleague.page
        page.goto(base_url + "/login")
        page.get_by_label("E-mail address").fill(member.email)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(re.compile(re.escape(idp.base_url) + "/interaction/"))
        expect(page.get_by_label("E-mail or subject")).to_be_visible()
        colleague.screenshot("e-member-sent-to-the-provider")
        assert colleague.problems == [], colleague.problems
        colleague.close()


# --- (f) a company's sign-in service is down: the clear page, with and without password fallback --


def test_unreachable_provider_gives_a_clear_page_with_or_without_password_fallback(app, make, browser):
    from app.auth.models import Identity
    from app.auth.providers import set_password_fallback
    from app.auth.sso import add_provider
    from app.extensions import db
    from tests.conftest import TEST_PASSWORD
    from tests.support.oidc import free_port
    from tests.support.providers import ready

    domain = "down-journey.example"
    org = make.org("shipping_line", name="Journey Shipping Line", domain=domain)
    focal = make.user(org=org, focal_point=True, email=f"focal@{domain}")
    provider = add_provider(org, "Journey Shipping sign-in", f"http://127.0.0.1:{free_port()}", "pax", "secret")
    db.session.commit()
    ready(provider)  # enabled; its issuer is a closed loopback port
    member = make.user(org=org, email=f"sam@{domain}")  # a PAX password too, from before the provider
    db.session.add(Identity(user_id=member.id, provider_id=provider.id, subject="sam-at-the-company"))
    set_password_fallback(org, True, focal)
    db.session.commit()

    def reach_the_unreachable_page(person: Person) -> Page:
        page = person.page
        page.goto(person.base_url + "/login")
        page.get_by_label("E-mail address").fill(member.email)
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in did not succeed")
        expect(page.get_by_role("alert")).to_contain_text(
            "The sign-in service of Journey Shipping Line cannot be reached at the moment."
        )
        return page

    with live_server(app) as base_url:
        # The focal point lets PAX passwords stand in while the company's service is down.
        person = Person(browser, base_url)
        page = reach_the_unreachable_page(person)
        expect(page.locator("#password-fallback")).to_contain_text("lets you sign in with your PAX password")
        screenshots_at_widths(person, "f-unreachable-provider-with-fallback")
        page.get_by_role("link", name="Sign in with your PAX password").click()
        expect(page.get_by_label("E-mail address")).to_have_value(member.email)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(base_url + "/dashboard")
        person.screenshot("f-member-signed-in-with-password-fallback")
        assert person.problems == [], person.problems
        person.close()

        # The focal point refuses the fallback: the page says to call IT and offers no password.
        set_password_fallback(org, False, focal)
        db.session.commit()
        person = Person(browser, base_url)
        page = reach_the_unreachable_page(person)
        expect(page.locator("#no-password-fallback")).to_contain_text("Contact your organisation's IT support")
        expect(page.locator("#password-fallback")).to_have_count(0)
        expect(page.get_by_role("link", name="Sign in with your PAX password")).to_have_count(0)
        expect(page.get_by_label("Password")).to_have_count(0)
        screenshots_at_widths(person, "f-unreachable-provider-without-fallback")
        # Nor does the password step, asked for by address, let the linked account in.
        page.goto(base_url + f"/login?password=1&email={member.email}")
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("does not allow PAX passwords instead")).to_be_visible()
        assert page.url.startswith(base_url + "/login")
        assert person.problems == [], person.problems
        person.close()


def test_member_edits_their_comment_and_a_files_details(app, make, browser):
    """A contributor corrects their comment and gives a file a clearer name and a description:
    both pages fit a phone, the comment shows it was edited, the file downloads under its new name."""
    from app.clusters.attachments import attach_file
    from app.clusters.services import add_comment
    from app.extensions import db
    from tests.conftest import TEST_PASSWORD
    from tests.test_posts_pages import publish

    author = make.user(clusters={CLUSTER: "contributor"})
    post = publish(author, cluster=CLUSTER, tlp="AMBER", title="Night shift gate checks")
    content = b"gate,checked\nA,yes\n"
    attach_file(author, post, "scan0001.csv", [content], len(content))
    comment = add_comment(author, post, "The checklist is atached.")
    db.session.commit()

    with live_server(app) as base_url:
        person = Person(browser, base_url)
        page = person.page
        person.sign_in(author.email, TEST_PASSWORD)
        page.goto(f"{base_url}/posts/{post.id}")
        page.get_by_role("link", name="Edit your comment").click()
        field(page, "Your comment").fill("The checklist is attached.")
        screenshots_at_widths(person, "g-comment-edit")
        page.get_by_role("button", name="Save", exact=True).click()
        page.wait_for_url(re.compile(rf".*/posts/{post.id}(#comment-{comment.id})?$"))
        own = page.locator(f"#comment-{comment.id}")
        expect(own).to_contain_text("The checklist is attached.")
        expect(own).to_contain_text("edited")

        page.locator("#attachments").get_by_role("link", name="Edit").first.click()
        field(page, "File name").fill("night-shift-gate-checks.csv")
        field(page, "Description").fill("Which gates were checked on the night of 3 November.")
        screenshots_at_widths(person, "g-file-details")
        page.get_by_role("button", name="Save").click()
        files = page.locator("#attachments")
        expect(files).to_contain_text("night-shift-gate-checks.csv")
        expect(files).to_contain_text("Which gates were checked")
        with page.expect_download() as download:
            files.get_by_role("link", name=re.compile("night-shift-gate-checks")).first.click()
        assert download.value.suggested_filename == "night-shift-gate-checks.csv"
        assert Path(download.value.path()).read_bytes() == content
        assert person.problems == []
        person.close()


def test_author_sees_who_can_see_their_post_and_what_a_looser_marking_would_change(app, make, browser):
    """The audience panel on the post page names the organisations and the rule that lets each
    in; on the edit form, choosing a looser marking says at once how many more would see it (the
    page's script asks as the marking changes), and nothing is saved until the author saves."""
    from tests.conftest import TEST_PASSWORD
    from tests.test_posts_pages import publish

    home = make.org("port_authority", name="Journey Port Authority")
    recipient = make.org("terminal_operator", name="Journey Recipient Terminals")
    author = make.user(home, clusters={CLUSTER: "contributor"})
    make.user(home)
    make.user(recipient)
    make.user(clusters={CLUSTER: "contributor"})
    post = publish(author, cluster=CLUSTER, tlp="AMBER+STRICT", title="Seal checks", recipient_orgs=[recipient.name])

    with live_server(app) as base_url:
        person = Person(browser, base_url)
        page = person.page
        person.sign_in(author.email, TEST_PASSWORD)
        page.goto(f"{base_url}/posts/{post.id}")
        panel = page.locator("#audience")
        expect(panel).to_contain_text("Who can see this post")
        panel.get_by_text("Organisations, and why they can see it").click()
        expect(panel).to_contain_text("Journey Recipient Terminals")
        expect(panel).to_contain_text("Named recipient organisation: 1")
        expect(panel).to_contain_text("The author's organisation: 2")
        screenshots_at_widths(person, "h-audience-panel")

        page.goto(f"{base_url}/posts/{post.id}/edit")
        page.locator("input[name=tlp][value=AMBER]").check(force=True)
        preview = page.locator("#audience-preview")
        # AMBER adds the cluster's members: the contributor of another organisation.
        expect(preview).to_contain_text("This makes the post visible to 1 more organisation (1 more person)")
        preview.scroll_into_view_if_needed()
        screenshots_at_widths(person, "h-audience-preview")
        page.goto(f"{base_url}/posts/{post.id}")
        expect(page.locator("#audience")).to_contain_text("Journey Recipient Terminals")


# --- (i) a customs officer finds an incident note by a container number typed loosely ----------


def test_officer_finds_an_incident_note_by_a_container_number_typed_in_lower_case_with_spaces(app, make, browser):
    """The container number is typed as it is read off a door, in lower case with spaces and a
    hyphen: the officer's own note comes first, saying which container it holds; a stricter note
    of another organisation about the same container is neither listed nor counted."""
    from tests.conftest import TEST_PASSWORD
    from tests.test_posts_pages import publish

    number = container_number()
    incident = {
        "port_locode": "NLRTM",
        "occurred_on": "2025-03-14",
        "modus_operandi": "rip_on_rip_off",
        "substance": "cocaine",
        "container_numbers": [number],
    }
    officer = make.user(clusters={CLUSTER: "contributor"}, org_type="customs")
    other = make.user(clusters={CLUSTER: "contributor"}, org_type="police")
    note = dict(type="incident_note", cluster=CLUSTER, tlp="AMBER", incident=incident, body="Bags behind the doors.")
    publish(officer, **note, title="Rip-off in a reefer at quay 8")
    publish(other, **{**note, "tlp": "AMBER+STRICT"}, title="Police follow-up on the reefer")
    typed = f"{number[:4].lower()} {number[4:7]} {number[7:10]}-{number[10]}"
    secret = enrol_totp(officer)  # law enforcement signs in with a second factor

    with live_server(app) as base_url:
        person = Person(browser, base_url)
        page = person.page
        person.sign_in(officer.email, TEST_PASSWORD, secret)
        page.goto(f"{base_url}/search")
        field(page, "Search for").fill(typed)
        page.get_by_role("button", name="Search").click()
        results = page.locator(".pax-search-results")
        expect(results.get_by_role("status")).to_contain_text("1 result")
        expect(results).to_contain_text("Rip-off in a reefer at quay 8")
        expect(results.locator("mark")).to_have_text(number)
        expect(results).not_to_contain_text("Police follow-up")
        screenshots_at_widths(person, "i-identifier-search")
        assert person.problems == []
        person.close()


def test_officer_finds_whom_to_call_in_the_directory_from_a_cross_match_hit(app, make, browser):
    """A customs officer's incident note matches a police note they may not open: the hit names
    the police force and leads to its focal point's contact in the member directory."""
    from app.extensions import db
    from tests.conftest import TEST_PASSWORD
    from tests.test_crossmatch import author, container, note

    shared = container()
    police = author(make, cluster="operational-cooperation")
    police_org = police.organisation
    focal = make.user(police_org, focal_point=True)
    focal.work_phone, focal.directory_shows_phone, focal.directory_shows_email = "+32 2 642 61 11", True, True
    db.session.commit()
    note(police, [shared], tlp="AMBER+STRICT", cluster="operational-cooperation")
    officer = author(make, org_type="customs")
    ours = note(officer, [shared], tlp="AMBER+STRICT", title="Reefer with a false floor")
    secret = enrol_totp(officer)  # customs: a second factor is required

    with live_server(app) as base_url:
        person = Person(browser, base_url)
        page = person.page
        person.sign_in(officer.email, TEST_PASSWORD, totp_secret=secret)
        page.goto(f"{base_url}/directory/")
        expect(page.locator("#orgs-title")).to_contain_text("Organisations")
        screenshots_at_widths(person, "k-directory")
        page.goto(f"{base_url}/posts/{ours.id}")
        page.get_by_role("link", name=f"Contact the focal point of {police_org.name}").click()
        focal_section = page.locator("#focal-point")
        expect(focal_section).to_contain_text(focal.name)
        expect(focal_section).to_contain_text("+32 2 642 61 11")
        screenshots_at_widths(person, "k-directory-organisation")


def test_the_post_form_shows_the_sections_of_the_chosen_type(app, make, browser):
    """With script, the deliverable and incident sections appear only for their type (without it
    they all stay, and the server says which details a type does not carry)."""
    from tests.conftest import TEST_PASSWORD

    author = make.user(clusters={CLUSTER: "contributor"})
    with live_server(app) as base_url:
        person = Person(browser, base_url)
        page = person.page
        person.sign_in(author.email, TEST_PASSWORD)
        page.goto(f"{base_url}/clusters/{CLUSTER}/posts/new")
        incident = page.locator("[data-pax-for-type=incident_note]")
        deliverable = page.locator("[data-pax-for-type=deliverable]")
        kind = page.locator("select[name=type]")
        kind.select_option("best_practice")
        expect(incident).to_be_hidden()
        expect(deliverable).to_be_hidden()
        kind.select_option("incident_note")
        expect(incident).to_be_visible()
        expect(deliverable).to_be_hidden()
        kind.select_option("deliverable")
        expect(deliverable).to_be_visible()
        expect(incident).to_be_hidden()


def test_a_member_is_warned_before_the_idle_limit_and_stays_signed_in(app, make, browser):
    """Two minutes before the idle limit the page offers to stay signed in; pressing it keeps
    the session (the page's clock is moved forward instead of waiting half an hour)."""
    from tests.conftest import TEST_PASSWORD

    member = make.user()
    with live_server(app) as base_url:
        person = Person(browser, base_url)
        page = person.page
        person.sign_in(member.email, TEST_PASSWORD)
        page.clock.install()
        page.goto(f"{base_url}/dashboard")
        warning = page.locator("#pax-idle-warning")
        expect(warning).to_be_hidden()
        idle = int(warning.get_attribute("data-pax-idle-seconds"))
        page.clock.fast_forward((idle - 110) * 1000)
        expect(warning).to_be_visible()
        expect(warning).to_contain_text("You will be signed out soon")
        with page.expect_response(re.compile(r".*/session/alive$")) as alive:
            warning.get_by_role("button", name="Stay signed in").click()
        assert alive.value.status == 204
        expect(warning).to_be_hidden()


# --- (i) every page on a 320 px phone: nothing scrolls sideways but a wide table's own region ----

#: Pages kept as screenshots for a reader to look at, by endpoint.
NARROW_SHOTS = {
    "main.dashboard": "dashboard",
    "account.index": "account",
    "clusters.post": "post",
    "clusters.search": "search",
    "admin.users": "admin-users",
    "audit.index": "audit",
    "help.markings": "help-markings",
    "help.packs": "help-packs",
    "meetings.edit_agenda_item": "agenda-item-edit",
    "workplan.print_view": "workplan-print",
}


@pytest.fixture
def demo(browser, test_root, database_url):  # type: ignore[no-untyped-def]
    """The demo data, as the accessibility test serves it, in this module's browser (one Playwright
    per thread); per test, so the other journeys start from empty tables."""
    from tests.test_accessibility import demo_portal

    with demo_portal(test_root, database_url, browser) as portal:
        yield portal
        for context in portal.contexts.values():
            context.close()


def test_every_page_fits_a_320_px_screen(demo):
    """Issue 21 item 10 (WCAG 1.4.10): every GET page the accessibility test visits, as the role it
    visits it as, plus the pages a visitor sees, at 320 px. Only whole-page sideways scrolling
    fails; a table wider than the screen scrolls inside its focusable region instead."""
    from tests.test_accessibility import _context_for, _get_pages, _new_context

    visitor = _new_context(demo)
    visitor.new_page()
    pages = [(e, r, u) for e, r, u in _get_pages(demo)] + [
        (name, "visitor", url)
        for name, url in (("landing", "/"), ("login", "/login"), ("help.signing_in", "/help/signing-in"))
    ]
    measure = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    wide, shown = [], 0
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for endpoint, role, url in pages:
        page = (visitor if role == "visitor" else _context_for(demo, role)).pages[0]
        page.set_viewport_size({"width": 320, "height": 800})
        response = page.goto(url)
        if response is None or response.status != 200:
            continue  # the accessibility test asserts each page's status
        shown += 1
        with contextlib.suppress(PlaywrightTimeoutError):
            page.wait_for_function(f"() => ({measure}) <= 0", timeout=1500)
        overflow = page.evaluate(measure)
        if overflow > 0:
            culprits = page.evaluate(
                """() => [...document.querySelectorAll('body *')]
                     .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
                     .slice(0, 3).map(e => e.tagName.toLowerCase() + '.' + [...e.classList].join('.'))"""
            )
            wide.append(f"{url} ({endpoint}, {role}) by {overflow} px: {culprits}")
        if endpoint in NARROW_SHOTS:
            page.screenshot(path=str(OUTPUT / f"j-320-{NARROW_SHOTS[endpoint]}.png"), full_page=True)
    visitor.close()
    assert shown >= 40
    assert not wide, "pages that scroll sideways at 320 px:\n" + "\n".join(wide)
