"""The invitation journey in Debian's chromium: a focal point invites a colleague from the web,
the mail goes through the outbox to a real SMTP server, and the colleague follows the mail's
link to choose a password and lands on the dashboard, signed in.

Backend-independent, so it runs in the SQLite half only (as tests/test_journeys.py does).
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.support.browser import live_server

# The journeys' browser (one Chromium per module), markers, output folder and field finder.
from tests.test_journeys import OUTPUT, browser, field, pytestmark  # noqa: F401


def test_invited_colleague_goes_from_the_mail_link_to_the_dashboard(app, make, runner, smtp, browser):  # noqa: F811
    from tests.conftest import TEST_PASSWORD

    focal = make.user(focal_point=True)
    email = f"dockmaster@{focal.organisation.email_domains[0]}"
    with live_server(app) as base_url:
        app.config["BASE_URL"] = base_url
        app.config["SMTP_URL"] = smtp.url
        context = browser.new_context()
        context.set_default_timeout(10_000)
        problems: list[str] = []
        contexts = [context]
        try:
            # The focal point invites from the web.
            page = context.new_page()
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.goto(base_url + "/login")
            page.get_by_label("E-mail address").fill(focal.email)
            page.get_by_role("button", name="Continue").click()
            page.get_by_label("Password").fill(TEST_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(base_url + "/dashboard")
            page.goto(base_url + "/admin/approvals")
            page.get_by_role("link", name="Invite a colleague").click()
            field(page, "Colleague's name").fill("Dana Dockmaster")
            field(page, "Colleague's work e-mail address").fill(email)
            page.get_by_role("button", name="Send the invitation").click()
            expect(page.get_by_text(f"a mail is on its way to {email}")).to_be_visible()

            # The outbox delivers to the real SMTP server; the colleague opens the link.
            assert runner.invoke(args=["outbox", "send"]).exit_code == 0
            [received] = [m for m in smtp.inbox if m.envelope_to == [email]]
            link = re.search(r"(http://\S+/invitation/\S+)", received.text).group(1)
            assert link.startswith(base_url)

            # The colleague's own browser.
            other = browser.new_context()
            other.set_default_timeout(10_000)
            contexts.append(other)
            colleague = other.new_page()
            colleague.on("pageerror", lambda exc: problems.append(str(exc)))
            colleague.goto(link)
            expect(colleague.get_by_role("heading", name=re.compile("Welcome to PAX, Dana Dockmaster"))).to_be_visible()
            colleague.locator("#new_password").fill("a long and private password")
            field(colleague, "Password again").fill("a long and private password")
            colleague.get_by_role("button", name="Create my account").click()
            colleague.wait_for_url(base_url + "/dashboard")
            expect(colleague.get_by_text("Your account is ready")).to_be_visible()
            OUTPUT.mkdir(parents=True, exist_ok=True)
            colleague.screenshot(path=str(OUTPUT / "invitation-to-dashboard.png"), full_page=True)

            # The link was single use.
            colleague.goto(link)
            expect(colleague.get_by_text("does not work any more")).to_be_visible()
        finally:
            for each in contexts:
                each.close()
    assert problems == []
