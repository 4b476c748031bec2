"""A person signs in with a demo account in a real Chromium and sees the dashboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from app.demo import DEMO_PASSWORD
from tests.support.browser import CHROMIUM_ARGS, chromium_path, live_server

OUTPUT = Path(__file__).resolve().parent.parent / "test-output"

pytestmark = [pytest.mark.browser, pytest.mark.committed_db, pytest.mark.slow]


@pytest.fixture
def browser_page(app, runner):
    runner.invoke(args=["demo", "load"], catch_exceptions=False)
    with live_server(app) as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page()
        problems: list[str] = []
        # Script errors, CSP violations and broken assets; a 422 form page is not a problem.
        page.on(
            "console",
            lambda msg: (
                problems.append(msg.text)
                if msg.type == "error" and not msg.text.startswith("Failed to load resource")
                else None
            ),
        )
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on(
            "response",
            lambda r: (
                problems.append(f"{r.status} {r.url}")
                if r.status >= 400 and r.request.resource_type != "document"
                else None
            ),
        )
        yield page, base_url, problems
        browser.close()


def test_demo_member_signs_in_and_sees_dashboard(browser_page):
    page, base_url, problems = browser_page
    OUTPUT.mkdir(exist_ok=True)
    page.goto(base_url + "/")
    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("E-mail address").fill("anna.peeters@portofantwerpbruges.example")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base_url + "/dashboard")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Welcome")
    assert page.get_by_role("link", name="Operational cooperation").first.is_visible()
    page.screenshot(path=str(OUTPUT / "dashboard.png"), full_page=True)
    assert problems == [], problems


def test_wrong_password_shows_the_error_in_the_page(browser_page):
    page, base_url, problems = browser_page
    page.goto(base_url + "/login")
    page.get_by_label("E-mail address").fill("anna.peeters@portofantwerpbruges.example")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    assert "The e-mail address or password is incorrect." in page.get_by_role("alert").first.inner_text()
    assert page.get_by_label("E-mail address").input_value() == "anna.peeters@portofantwerpbruges.example"
    assert problems == [], problems


def _sign_in_as_anna(page, base_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base_url + "/login")
    page.get_by_label("E-mail address").fill("anna.peeters@portofantwerpbruges.example")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base_url + "/dashboard")


def test_member_follows_the_workplan_and_downloads_a_signed_meeting_pack(browser_page):
    """The workplan's timeline draws without script; the meeting page's pack button gives a zip
    whose manifest the pack key verifies, and which holds only what this member may see."""
    import base64
    import io
    import json
    import zipfile

    from app.keys.signing import verify

    page, base_url, problems = browser_page
    OUTPUT.mkdir(exist_ok=True)
    _sign_in_as_anna(page, base_url)
    page.get_by_role("link", name="Workplan").first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "Workplan 2026"
    assert page.get_by_text("Overdue").first.is_visible()
    page.get_by_role("link", name="Timeline of due dates").first.click()
    chart = page.get_by_role("img").filter(has=page.locator("title"))
    assert chart.first.is_visible()
    page.screenshot(path=str(OUTPUT / "workplan-timeline.png"), full_page=True)

    page.get_by_role("link", name="Meetings").first.click()
    page.get_by_role("link", name="Operational cooperation: technical meeting on container misuse").click()
    page.screenshot(path=str(OUTPUT / "meeting.png"), full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download meeting pack").click()
    download = download_info.value
    assert download.suggested_filename.endswith("-pack.zip")
    pack = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    manifest = pack.read("manifest.json")
    key = page.request.get(base_url + "/api/v1/pack-key").json()
    assert verify(base64.b64decode(key["public_key"]), base64.b64decode(pack.read("manifest.sig")), manifest)
    listed = json.loads(manifest)
    assert listed["recipient"]["email"] == "anna.peeters@portofantwerpbruges.example"
    assert sorted(f["name"] for f in listed["files"]) == sorted(
        n for n in pack.namelist() if n not in ("index.html", "manifest.json", "manifest.sig")
    )
    assert problems == [], problems
