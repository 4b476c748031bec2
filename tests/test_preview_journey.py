"""A member previews a stamped AMBER PDF in the browser: pdf.js, from our own origin with eval
off, draws every page under the portal's CSP (a violation is a console error, which fails the
journey), and each page shows the stamp naming the member. Screenshots at both widths."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import expect

from tests.conftest import TEST_PASSWORD
from tests.support.browser import live_server
from tests.support.pdfs import pdf_bytes
from tests.test_journeys import OUTPUT, Person, browser, pytestmark, screenshots_at_widths  # noqa: F401

DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def test_member_previews_an_amber_pdf_stamped_with_their_name(app, make, browser, tmp_path):  # noqa: F811
    from app.clusters.attachments import attach_file
    from app.extensions import db
    from tests.test_posts_pages import publish

    author = make.user(clusters={"policy": "contributor"})
    post = publish(author, tlp="AMBER", title="Container seal checks")
    attachment, _ = attach_file(author, post, "seal-checks.pdf", [pdf_bytes(tmp_path, 3)], 10**7)
    db.session.commit()
    reader = make.user(clusters={"policy": "reader"})
    with live_server(app) as base_url:
        person = Person(browser, base_url)
        page = person.page
        person.sign_in(reader.email, TEST_PASSWORD)
        page.goto(f"{base_url}/posts/{post.id}")
        page.get_by_role("link", name="Preview").first.click()
        page.wait_for_url(f"{base_url}/attachments/{attachment.id}/preview")
        section = page.locator(".pax-pdf-preview")
        expect(section).to_have_attribute("data-pdf-preview", "ready", timeout=20_000)
        expect(page.get_by_role("img", name="Page 1 of 3")).to_be_visible()
        expect(page.get_by_role("img", name="Page 3 of 3")).to_be_attached()
        expect(page.get_by_role("status")).to_have_text("3 pages.")
        screenshots_at_widths(person, "pdf-preview")
        page.set_viewport_size({"width": 1366, "height": 900})
        page.get_by_role("img", name="Page 1 of 3").screenshot(path=str(OUTPUT / "stamped-page.png"))
        assert person.problems == [], person.problems
        person.close()
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(OUTPUT / "pdf-preview-1366.png", DOCS / "pdf-preview-1366.png")
    shutil.copyfile(OUTPUT / "stamped-page.png", DOCS / "stamped-page.png")


def test_member_compares_post_versions_and_lists_file_versions_at_both_widths(app, make, browser):  # noqa: F811
    from app.clusters.attachments import add_attachment_version, attach_file
    from app.clusters.services import edit_post
    from app.clusters.validation import parse_post
    from app.extensions import db
    from tests.test_posts_pages import publish

    author = make.user(clusters={"policy": "contributor"})
    post = publish(author, title="Seal checks", body="Check the seals of every reefer container on arrival.")
    raw = {"type": "best_practice", "cluster": "policy", "title": "Seal checks at the gate", "tlp": "GREEN"}
    body = "Check the seals and the bolt numbers of every container on arrival and before departure."
    edit_post(author, post, parse_post({**raw, "body": body}), post.version)
    attachment, _ = attach_file(author, post, "checklist.txt", [b"seal\n"], 10**6)
    add_attachment_version(author, attachment, "checklist.txt", [b"seal\nbolt\n"], 10**6)
    db.session.commit()
    with live_server(app) as base_url:
        person = Person(browser, base_url)
        page = person.page
        person.sign_in(author.email, TEST_PASSWORD)
        page.goto(f"{base_url}/posts/{post.id}/history")
        page.get_by_role("link", name="Compare two versions word by word").click()
        expect(page.get_by_role("heading", name="Version 1, the earlier")).to_be_visible()
        expect(page.locator("ins").first).to_be_visible()
        expect(page.locator("del").first).to_be_visible()
        screenshots_at_widths(person, "post-compare")
        page.goto(f"{base_url}/posts/{post.id}")
        page.get_by_role("link", name="Versions").first.click()
        expect(page.get_by_role("link", name="Download Version 2 (latest)")).to_be_visible()
        screenshots_at_widths(person, "attachment-versions")
        assert person.problems == [], person.problems
        person.close()
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(OUTPUT / "post-compare-1366.png", DOCS / "post-compare-1366.png")
