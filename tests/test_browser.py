"""A person signs in with a demo account in a real Chromium and sees the dashboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from app.demo import DEMO_PASSWORD
from tests.support.browser import CHROMIUM_ARGS, chromium_path, live_server

OUTPUT = Path(__file__).resolve().parent.parent / "test-output"

pytestmark = pytest.mark.browser


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
