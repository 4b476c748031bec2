"""The Senior Officials' meeting journey in Debian's chromium: the organiser invites an
organisation with a delegation of two; the invitation reaches its focal point by mail through a
real SMTP server; the focal point follows the mail's link and names the delegation; a delegate
follows their mail's link and answers; the organiser sees the participant list (each of these
pages checked with axe-core; screenshots at
1366 and 320 px under test-output/journeys/; the 1366 px one is kept as
docs/screenshots/participants-1366.png).

Backend-independent, so it runs in the SQLite half only (as tests/test_journeys.py does).
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.support.axe import FAILING_IMPACTS, run_axe
from tests.support.browser import live_server

# The journeys' browser (one Chromium per module), markers, output folder and helpers.
from tests.test_journeys import OUTPUT, Person, browser, enrol_totp, field, pytestmark, screenshots_at_widths, tick  # noqa: F401


def _named(user, name: str):  # type: ignore[no-untyped-def]
    from app.auth.models import User
    from app.extensions import db

    db.session.execute(sa.update(User).where(User.id == user.id).values(name=name))
    db.session.commit()
    return name


def _axe(browser, person: Person, label: str) -> list[str]:  # type: ignore[no-untyped-def]  # noqa: F811
    """Serious and critical axe-core violations of the person's current page, checked in a copy
    of their session that lets axe's script in (the portal's CSP rightly refuses it)."""
    context = browser.new_context(storage_state=person.context.storage_state(), bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(person.page.url)
        return [str(v) for v in run_axe(page, label) if v.impact in FAILING_IMPACTS]
    finally:
        context.close()


def _link(smtp, user, subject: str) -> str:  # type: ignore[no-untyped-def]
    [mail] = [m for m in smtp.inbox if m.envelope_to == [user.email] and subject in m.message["Subject"]]
    return re.search(r"(http://\S+/meetings/\d+)", mail.text).group(1)


def test_focal_point_names_a_delegation_and_a_delegate_answers(app, make, runner, smtp, browser):  # noqa: F811
    from app.extensions import db
    from app.meetings.services import schedule_meeting
    from app.meetings.validation import parse_meeting
    from tests.conftest import TEST_PASSWORD
    from tests.test_meeting_invitations import senior_officials

    curator = make.user(role="curator", org_type="commission")
    secret = enrol_totp(curator)
    _named(curator, "Claire Dubois")
    port = make.org("port_authority", name="Port of Valletta Authority")
    focal = make.user(org=port, focal_point=True)
    delegates = [make.user(org=port), make.user(org=port)]
    spare = make.user(org=port)
    focal_name = _named(focal, "Maria Camilleri")
    names = [_named(delegates[0], "Joseph Borg"), _named(delegates[1], "Rita Zammit")]
    _named(spare, "Karl Vella")
    customs = make.org("customs", name="Malta Customs")
    customs_focal = make.user(org=customs, focal_point=True)
    _named(customs_focal, "Anton Grech")
    when = {"starts_at": "2027-05-11T09:30:00+02:00", "ends_at": "2027-05-11T13:00:00+02:00"}
    meeting = schedule_meeting(curator, parse_meeting(senior_officials(**when)))
    db.session.commit()

    with live_server(app) as base_url:
        app.config["BASE_URL"] = base_url
        app.config["SMTP_URL"] = smtp.url
        people: list[Person] = []
        try:
            # The organiser invites two organisations from the participants page.
            organiser = Person(browser, base_url)
            people.append(organiser)
            organiser.sign_in(curator.email, "correct horse battery staple", secret)
            page = organiser.page
            page.goto(f"{base_url}/meetings/{meeting.id}")
            page.locator("#participants-link").click()
            expect(page.get_by_text("invites by organisation")).to_be_visible()
            for organisation, size in (("Port of Valletta Authority", "2"), ("Malta Customs", "1")):
                page.locator("#invite-organisation").select_option(label=organisation)
                page.locator("#invite-delegation-size").fill(size)
                page.get_by_role("button", name="Invite the organisation").click()
                expect(page.get_by_text(f"{organisation} is invited")).to_be_visible()

            # The focal point's mail, through the real SMTP server, leads to the meeting.
            assert runner.invoke(args=["outbox", "send"]).exit_code == 0
            link = _link(smtp, focal, "name its delegation")
            assert link.startswith(base_url)
            focal_person = Person(browser, base_url)
            people.append(focal_person)
            focal_person.sign_in(focal.email, TEST_PASSWORD)
            fp = focal_person.page
            fp.goto(link)
            fp.get_by_role("link", name="Name your organisation's delegation").click()
            failing = _axe(browser, focal_person, "delegation form")
            tick(fp, names[0])
            tick(fp, names[1])
            fp.get_by_role("button", name="Name the delegation").click()
            expect(fp.get_by_text("Your delegation is named: 2 people")).to_be_visible()

            # A delegate's mail leads to the meeting; they answer from the participants page.
            assert runner.invoke(args=["outbox", "send"]).exit_code == 0
            delegate = Person(browser, base_url)
            people.append(delegate)
            delegate.sign_in(delegates[0].email, TEST_PASSWORD)
            dp = delegate.page
            dp.goto(_link(smtp, delegates[0], "You are invited"))
            dp.locator("#participants-link").click()
            failing += _axe(browser, delegate, "answer form")
            dp.locator("label", has_text="Attends in person").click()
            dp.get_by_role("button", name="Save my answer").click()
            expect(dp.get_by_text("Your answer is saved: attends in person")).to_be_visible()

            # The organiser sees the participant list with the answer, and can export it.
            page.reload()
            table = page.get_by_role("table", name=re.compile("invited people"))
            expect(table).to_contain_text(names[0])
            expect(table).to_contain_text("Attends in person")
            expect(table).to_contain_text(names[1])
            expect(table).to_contain_text("No answer yet")
            expect(table).not_to_contain_text("Karl Vella")
            expect(page.get_by_role("link", name="Export as CSV")).to_be_visible()
            failing += _axe(browser, organiser, "participant list and invitations")
            assert failing == []
            page.locator("#participants-title").scroll_into_view_if_needed()
            screenshots_at_widths(organiser, "participants")
            assert focal_name not in table.inner_text()
            for person in people:
                assert person.problems == [], person.problems
        finally:
            for person in people:
                person.close()
