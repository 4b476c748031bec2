"""Journeys in Debian's chromium where nothing written is lost: a session that ends while a
comment and a long post are being written, a draft saved as the member types and continued after
the browser was closed, and a new post published with its files before anyone is told of it.

Like the other journeys, they run in the SQLite half only.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.support import databases
from tests.support.browser import live_server
from tests.support.smtp import deliver_outbox
from tests.test_journeys import PDF, Person, field, screenshots_at_widths
from tests.test_journeys import browser as browser  # the module's chromium, a fixture

CLUSTER = "operational-cooperation"
SCREENSHOTS = "docs/screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.committed_db,
    pytest.mark.slow,
    pytest.mark.skipif(databases.backend() == "postgresql", reason="browser journeys run once, in the SQLite half"),
]

LONG_TEXT = (
    "On 3 December a reefer container declared as bananas was opened at terminal 3. "
    "The seal number on the door did not match the one in the manifest. " * 30
).strip()


def _end_sessions_of(user) -> None:  # type: ignore[no-untyped-def]
    """An administrator ends the member's sessions (or the idle limit passes) while they write."""
    from app.auth.models import UserSession
    from app.extensions import db

    db.session.execute(
        sa.update(UserSession).where(UserSession.user_id == user.id).values(revoked_at=datetime.now(UTC))
    )
    db.session.commit()


def _publish(author, title: str):  # type: ignore[no-untyped-def]
    from app.clusters.services import publish_post
    from app.clusters.validation import parse_post
    from app.extensions import db

    raw = {"type": "best_practice", "cluster": CLUSTER, "title": title, "body": "Check seals.", "tlp": "GREEN"}
    post = publish_post(author, parse_post(raw))
    db.session.commit()
    return post


def test_a_comment_and_a_long_post_written_while_the_session_ended_come_back_after_signing_in(app, make, browser):
    from tests.conftest import TEST_PASSWORD

    author = make.user(clusters={CLUSTER: "contributor"})
    post = _publish(author, "Seal checks at the reefer gate")
    with live_server(app) as base_url:
        person = Person(browser, base_url)
        person.sign_in(author.email, TEST_PASSWORD)
        comment_tab = person.page
        comment_tab.goto(f"{base_url}/posts/{post.id}")
        comment_tab.get_by_label("Add a comment").fill("The seal on MSKU 123456-5 was cut and glued back.")
        post_tab = person.context.new_page()
        post_tab.goto(f"{base_url}/clusters/{CLUSTER}/posts/new")
        post_tab.get_by_label("Type of post").select_option(label="Best practice")
        post_tab.get_by_text("TLP:GREEN", exact=True).first.click()
        field(post_tab, "Title").fill("Reefer seals replaced between gate and stack")
        field(post_tab, "Text").fill(LONG_TEXT)

        _end_sessions_of(author)

        # The comment is sent: PAX asks to sign in again, and says the words are kept.
        comment_tab.get_by_role("button", name="Add comment").click()
        comment_tab.wait_for_url(re.compile(r".*/login\?next=.*"))
        expect(comment_tab.locator("main")).to_contain_text("it is kept: sign in again")
        comment_tab.get_by_label("E-mail address").fill(author.email)
        comment_tab.get_by_role("button", name="Continue").click()
        comment_tab.get_by_label("Password").fill(TEST_PASSWORD)
        comment_tab.get_by_role("button", name="Sign in").click()
        comment_tab.wait_for_url(f"{base_url}/posts/{post.id}")
        expect(comment_tab.get_by_label("Add a comment")).to_have_value(
            "The seal on MSKU 123456-5 was cut and glued back."
        )
        expect(comment_tab.locator("main")).to_contain_text("What you wrote is filled in again below")

        # The long post is published from the other tab: its page belonged to the ended session.
        post_tab.get_by_role("button", name="Publish").click()
        post_tab.wait_for_url(f"{base_url}/clusters/{CLUSTER}/posts/new")
        expect(field(post_tab, "Title")).to_have_value("Reefer seals replaced between gate and stack")
        expect(field(post_tab, "Text")).to_have_value(LONG_TEXT)
        expect(post_tab.locator("main")).to_contain_text("What you wrote is filled in again below")
        person.page = post_tab
        person.screenshot("restored-after-expiry")
        shutil.copy("test-output/journeys/restored-after-expiry.png", SCREENSHOTS + "/restored-after-expiry.png")

        # Both are sent as they are now.
        post_tab.get_by_role("button", name="Publish").click()
        expect(post_tab.locator("main")).to_contain_text("is published in")
        comment_tab.get_by_role("button", name="Add comment").click()
        expect(comment_tab.locator("main")).to_contain_text("Your comment is added.")
        comment_tab.goto(f"{base_url}/drafts/")
        expect(comment_tab.locator("main")).to_contain_text("You have no drafts.")
        assert person.problems == []
        person.close()


def test_a_draft_saved_while_typing_is_there_after_the_browser_was_closed(app, make, browser):
    from tests.conftest import TEST_PASSWORD

    member = make.user(clusters={CLUSTER: "contributor"})
    with live_server(app) as base_url:
        first = Person(browser, base_url)
        first.sign_in(member.email, TEST_PASSWORD)
        page = first.page
        page.goto(f"{base_url}/clusters/{CLUSTER}/posts/new")
        field(page, "Title").fill("Draft: cloned container numbers in Zeebrugge")
        field(page, "Text").press_sequentially("Two containers carried the same number", delay=5)
        expect(page.locator("[data-pax-draft-status]")).to_contain_text("Draft saved at", timeout=15_000)
        first.close()  # the browser is closed without sending anything

        second = Person(browser, base_url)
        second.sign_in(member.email, TEST_PASSWORD)
        page = second.page
        page.goto(f"{base_url}/drafts/")
        expect(page.locator("main")).to_contain_text("Draft: cloned container numbers in Zeebrugge")
        screenshots_at_widths(second, "drafts")
        for width in (1366, 320):
            shutil.copy(f"test-output/journeys/drafts-{width}.png", f"{SCREENSHOTS}/drafts-{width}.png")
        page.get_by_role("link", name="Continue").first.click()
        expect(field(page, "Title")).to_have_value("Draft: cloned container numbers in Zeebrugge")
        expect(field(page, "Text")).to_have_value(re.compile("^Two containers carried the same number"))
        expect(page.locator("main")).to_contain_text("You are continuing a draft")
        # The form also says a draft exists when opened afresh.
        page.goto(f"{base_url}/clusters/{CLUSTER}/posts/new")
        expect(page.locator("main")).to_contain_text("You have a draft of this form")
        assert first.problems == [] and second.problems == []
        second.close()


def test_a_new_post_with_two_files_is_announced_only_once_both_are_stored(app, make, browser, smtp, runner):
    from app.clusters.models import Post
    from app.clusters.services import cluster_by_slug
    from app.extensions import db
    from app.notifications.models import DeliveryMode, OutboxMessage
    from app.notifications.services import set_subscription
    from tests.conftest import TEST_PASSWORD

    author = make.user(clusters={CLUSTER: "contributor"})
    subscriber = make.user(clusters={CLUSTER: "reader"})
    set_subscription(subscriber, cluster_by_slug(CLUSTER), DeliveryMode.IMMEDIATE)
    db.session.commit()
    with live_server(app) as base_url:
        person = Person(browser, base_url)
        person.sign_in(author.email, TEST_PASSWORD)
        page = person.page
        page.goto(f"{base_url}/clusters/{CLUSTER}/posts/new")
        page.get_by_label("Type of post").select_option(label="Best practice")
        page.get_by_text("TLP:GREEN", exact=True).first.click()
        field(page, "Title").fill("Seal report with photographs")
        field(page, "Text").fill("The report and the photograph of the cut seal are attached.")
        page.locator("input[name=files]").set_input_files(
            [
                {"name": "seal-report.pdf", "mimeType": "application/pdf", "buffer": PDF},
                {"name": "cut-seal.pdf", "mimeType": "application/pdf", "buffer": PDF.replace(b"1.7", b"1.6")},
            ]
        )
        page.get_by_role("button", name="Publish").click()
        expect(page.locator("main")).to_contain_text("with 2 files")
        db.session.expire_all()
        post = db.session.scalars(sa.select(Post).where(Post.title == "Seal report with photographs")).one()
        assert len(post.attachments) == 2
        mail = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.user_id == subscriber.id)).one()
        # Written in the transaction that published the post, after both files were stored.
        assert mail.created_at >= max(a.file.created_at for a in post.attachments)
        received = deliver_outbox(app, runner, smtp)
        assert [r.envelope_to for r in received] == [[subscriber.email]]
        # Mail names no content (the title stays in the portal): it points at the post.
        assert f"/posts/{post.id}" in received[0].text
        expect(page.get_by_role("link", name="Download seal-report.pdf")).to_be_visible()
        expect(page.get_by_role("link", name="Download cut-seal.pdf")).to_be_visible()
        assert person.problems == []
        person.close()
