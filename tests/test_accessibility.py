"""WCAG 2.1 AA: axe-core on every page of the portal, and the main journey by keyboard alone.

The pages come from the app's url_map: every GET rule is visited, as the role that may see it,
with its parameters filled from the demo data, unless it is listed in ``SKIPPED`` with a reason.
A new page is therefore checked without anyone remembering to add it here. Forms are also
checked with their validation errors shown. Any serious or critical violation fails.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from app.auth.mfa import VALID_WINDOW
from app.demo import DEMO_PASSWORD
from tests.support import databases
from tests.support.axe import FAILING_IMPACTS, Violation, axe_version, run_axe, summary
from tests.support.browser import CHROMIUM_ARGS, chromium_path, live_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.committed_db,
    pytest.mark.slow,
    pytest.mark.skipif(
        databases.backend() == "postgresql", reason="pages do not depend on the database: run once, in the SQLite half"
    ),
]

MEMBER = "anna.peeters@portofantwerpbruges.example"  # coordinator of operational cooperation
CURATOR = "claire.martin@ec-home.example"
ADMIN = "admin@pax-ops.example"
LAW_ENFORCEMENT_NOT_ENROLLED = "sanne.jansen@politie-nl.example"  # lands on the TOTP set-up page

#: GET rules that are not HTML pages, or that cannot be reached by visiting them, and why.
SKIPPED = {
    "static": "static files",
    "health.healthz": "JSON health probe",
    "health.readyz": "JSON readiness probe",
    "main.security_txt": "plain text for security researchers (RFC 9116), not a page",
    "auth.keep_alive": "answers 204 to the idle warning's script, not a page",
    "main.choose_language": "saves the language chosen in the header and goes back (tests/test_i18n_choice.py)",
    "main.security_txt_legacy": "redirects to security.txt",
    "account.data_export": "downloads the account's data as JSON",
    "audit.export_csv": "downloads CSV",
    "attachments.download": "downloads the attachment",
    "attachments.download_version": "downloads a version of the attachment",
    "attachments.thumbnail": "a PNG thumbnail, not a page",
    "attachments.post_files": "downloads the post's files (zip)",
    "meetings.download_version": "downloads a version of the document",
    "meetings.document_thumbnail": "a PNG thumbnail, not a page",
    "meetings.ics": "downloads an iCalendar file",
    "meetings.calendar": "downloads an iCalendar file",
    "meetings.feed": "the calendar subscription feed (iCalendar), read by calendar clients with no session",
    "meetings.participants_csv": "downloads CSV",
    "meetings.participants_xlsx": "downloads a spreadsheet",
    "meetings.document": "downloads the document",
    "packs.download": "downloads the meeting pack (zip)",
    "stats.seizures_csv": "downloads CSV",
    "workplan.export_csv": "downloads CSV",
    "workplan.export_xlsx": "downloads a spreadsheet",
    "stix.post_bundle": "downloads a STIX 2.1 bundle (JSON)",
    "stix.cluster_bundle": "downloads a STIX 2.1 bundle (JSON)",
    "taxii.discovery": "TAXII 2.1 JSON for member systems (tests/test_taxii.py)",
    "taxii.api_root": "TAXII 2.1 JSON",
    "taxii.collections": "TAXII 2.1 JSON",
    "taxii.collection": "TAXII 2.1 JSON",
    "taxii.objects": "TAXII 2.1 JSON (STIX objects)",
    "taxii.manifest": "TAXII 2.1 JSON",
    "taxii.get_object": "TAXII 2.1 JSON (a STIX object)",
    "taxii.versions": "TAXII 2.1 JSON",
    "taxii.unknown": "TAXII 2.1 error object for any other address under /taxii2/",
    "auth.sso_start": "redirects to the organisation's identity provider (tests/test_sso.py drives it)",
    "auth.sso_callback": "needs the identity provider's signed answer",
    # Reached during sign-in instead, where they are checked (see _sign_in and the anonymous test):
    "auth.login": "checked in both sign-in steps by test_anonymous_pages_and_sign_in_steps",
    "auth.mfa_verify": "checked while the curator and administrator sign in",
    "auth.mfa_setup": "checked while a law-enforcement user without TOTP signs in",
    "auth.awaiting_approval": "checked by test_anonymous_pages_and_sign_in_steps (SSO sends pending users there)",
    "main.landing": "checked by test_anonymous_pages_and_sign_in_steps",
    # Single-use links: their dead-link pages are checked by test_anonymous_pages_and_sign_in_steps.
    "onboarding.reset_password": "a mailed single-use link (tests/test_password_reset.py drives it)",
    "onboarding.accept_invitation": "a mailed single-use link (tests/test_journey_invitation.py drives it)",
    "identity_links.confirm": "a single-use link given to the browser that tried SSO (tests/test_sso_links.py)",
}

#: Endpoints only a curator may open (the rest of the member-facing pages use the member).
CURATOR_ENDPOINTS = {
    "meetings.new",
    "meetings.edit",
    "meetings.delete",
    "meetings.agenda",
    "meetings.edit_agenda_item",
    "meetings.remove_agenda_item",
    "meetings.minutes",
    "meetings.upload_document",
    "meetings.edit_document",
    "meetings.delete_document",
    "workplan.new_item",
    "workplan.edit_item",
    "workplan.adopt",
}


@dataclass
class Portal:
    base_url: str
    browser: Browser
    ids: dict[str, Any]
    totp: dict[str, str]
    contexts: dict[str, BrowserContext] = field(default_factory=dict)
    #: the last TOTP step each account signed in with: the portal accepts a step once
    totp_steps: dict[str, int] = field(default_factory=dict)
    #: every violation found, of any impact, for the summary printed at the end
    found: list[Violation] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    def check(self, page: Page, label: str) -> list[Violation]:
        violations = run_axe(page, label)
        self.found.extend(violations)
        self.checked.append(label)
        return [v for v in violations if v.impact in FAILING_IMPACTS]


def _demo_ids() -> dict[str, Any]:
    """Parameter values for the url_map's rules, from the demo data."""
    from app.auth.models import IdentityProvider, User
    from app.clusters.models import Attachment, Comment, Post
    from app.extensions import db
    from app.meetings.models import AgendaItem, Meeting, MeetingDocument
    from app.workplan.models import Workplan, WorkplanItem

    member = db.session.scalar(sa.select(User).where(User.email == MEMBER))
    assert member is not None
    post_id = db.session.scalar(
        sa.select(Post.id).join(Attachment, Attachment.post_id == Post.id).where(Post.author_id == member.id)
    )
    attachment_id = db.session.scalar(sa.select(Attachment.id).where(Attachment.post_id == post_id))
    meeting = db.session.scalar(
        sa.select(Meeting).join(MeetingDocument, MeetingDocument.meeting_id == Meeting.id).order_by(Meeting.id)
    )
    assert post_id and attachment_id and meeting is not None, "demo data lacks a post with attachment or a meeting"
    return {
        "slug": "operational-cooperation",
        "post_id": post_id,
        "attachment_id": attachment_id,
        "meeting_id": meeting.id,
        "agenda_item_id": db.session.scalar(sa.select(AgendaItem.id).where(AgendaItem.meeting_id == meeting.id)),
        "document_id": db.session.scalar(sa.select(MeetingDocument.id).where(MeetingDocument.meeting_id == meeting.id)),
        "year": db.session.scalar(sa.select(sa.func.max(Workplan.year))),
        "item_id": db.session.scalar(sa.select(sa.func.min(WorkplanItem.id))),
        "comment_id": db.session.scalar(
            sa.select(sa.func.min(Comment.id)).where(Comment.author_id == member.id, Comment.post_id == post_id)
        ),
        "user_id": member.id,
        "organisation_id": member.organisation_id,
        "provider_id": db.session.scalar(sa.select(sa.func.min(IdentityProvider.id))),
    }


@pytest.fixture(scope="module")
def portal(test_root, database_url) -> Iterator[Portal]:  # type: ignore[no-untyped-def]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        with demo_portal(test_root, database_url, browser) as result:
            yield result
        browser.close()
    _print_summary(result)


@contextlib.contextmanager
def demo_portal(test_root, database_url, browser: Browser) -> Iterator[Portal]:  # type: ignore[no-untyped-def]
    """The demo data served live, with TOTP enrolled for the curator and administrator; shared
    with the narrow-screen journey (tests/test_journeys.py), which brings its own browser."""
    from app import create_app
    from app.auth.models import User
    from app.auth.sso import add_provider
    from app.extensions import db
    from tests.conftest import IsolatedClient, make_config

    application = create_app(make_config(test_root, database_url))
    application.test_client_class = IsolatedClient
    with application.app_context():
        application.test_cli_runner().invoke(args=["demo", "load"], catch_exceptions=False)
        from app.auth import mfa

        totp: dict[str, str] = {}
        for email in (CURATOR, ADMIN):
            user = db.session.scalar(sa.select(User).where(User.email == email))
            secret = pyotp.random_base32()
            # the previous step's code, so that a sign-in in this step is not a replay
            assert mfa.enrol(user, secret, pyotp.TOTP(secret).at(time.time() - 30)) is not None
            totp[email] = secret
        member = db.session.scalar(sa.select(User).where(User.email == MEMBER))
        # an identity provider for the admin's provider page, at an organisation nobody here signs in for
        from app.directory.services import find_organisation

        add_provider(
            find_organisation("Hanseatic Shipping Line"),
            "Hanseatic SSO",
            "https://sso.hanseatic-line.example",
            "pax",
            "s",
        )
        # the member's own post gets an attachment, so its edit and delete pages are the member's too
        from app.clusters.attachments import attach_file
        from app.clusters.models import Post

        own = db.session.scalar(sa.select(Post).where(Post.author_id == member.id).order_by(Post.id))
        content = b"Checklist for sealing empty containers.\n"
        attach_file(member, own, "sealing-checklist.txt", [content], len(content))
        # and a comment of the member's own under it, for the comment's edit page
        from app.clusters.services import add_comment

        add_comment(member, own, "Updated: the checklist is attached.")
        db.session.commit()
        ids = _demo_ids()
        db.session.remove()
        try:
            with live_server(application) as base_url:
                yield Portal(base_url, browser, ids, totp)
        finally:
            db.session.remove()
            databases.empty_tables(db.engine)


def _print_summary(portal: Portal) -> None:
    counts = summary(portal.found)
    rules = sorted({(v.impact, v.rule) for v in portal.found})
    print(  # the summary the closing note quotes
        f"\naxe-core {axe_version()}: {len(portal.checked)} pages/states checked; "
        f"violating nodes by impact: {counts or 'none'}; rules: {rules or 'none'}"
    )


def _new_context(portal: Portal) -> BrowserContext:
    context = portal.browser.new_context(bypass_csp=True, base_url=portal.base_url)
    context.set_default_timeout(10_000)
    return context


def _unused_code(portal: Portal, email: str) -> str:
    """A code for a time step this account has not signed in with yet, within the portal's
    window of one step either side (waiting for the clock when both are used)."""
    totp = pyotp.TOTP(portal.totp[email])
    last = portal.totp_steps.get(email, -1)
    while last + 1 > totp.timecode(datetime.now(UTC)) + VALID_WINDOW:
        time.sleep(0.5)
    step = max(totp.timecode(datetime.now(UTC)), last + 1)
    portal.totp_steps[email] = step
    return totp.generate_otp(step)


def _sign_in(portal: Portal, page: Page, email: str, failing: list[Violation] | None = None) -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if page.url.endswith("/login/mfa"):
        if failing is not None:
            failing += portal.check(page, "/login/mfa (second factor)")
        page.get_by_label(re.compile("code", re.I)).first.fill(_unused_code(portal, email))
        page.get_by_role("button", name=re.compile("Verify|Continue|Sign in", re.I)).first.click()
    page.wait_for_url(re.compile(r"/dashboard$"))


def _context_for(portal: Portal, role: str) -> BrowserContext:
    if role not in portal.contexts:
        context = _new_context(portal)
        _sign_in(portal, context.new_page(), {"member": MEMBER, "curator": CURATOR, "admin": ADMIN}[role])
        portal.contexts[role] = context
    return portal.contexts[role]


#: Administration pages for focal points, not administrators; the demo member is her organisation's.
FOCAL_POINT_ENDPOINTS = {"admin.sign_in_settings"}


def _role_for(endpoint: str) -> str:
    if endpoint in FOCAL_POINT_ENDPOINTS:
        return "member"
    if endpoint.startswith(("admin.", "audit.index")):
        return "admin"
    if endpoint in CURATOR_ENDPOINTS:
        return "curator"
    return "member"


def _get_pages(portal: Portal) -> list[tuple[str, str, str]]:
    """(endpoint, role, url) for every GET page of the url_map not in SKIPPED."""
    from flask import current_app

    pages, unfillable = [], []
    for rule in sorted(current_app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in (rule.methods or ()) or rule.rule.startswith("/api/") or rule.endpoint in SKIPPED:
            continue
        missing = [arg for arg in rule.arguments if portal.ids.get(arg) is None]
        if missing:
            unfillable.append(f"{rule.endpoint} ({', '.join(missing)})")
            continue
        url = rule.build({arg: portal.ids[arg] for arg in rule.arguments}, append_unknown=False)[1]
        pages.append((rule.endpoint, _role_for(rule.endpoint), url))
    assert not unfillable, f"parameters the demo data cannot fill; add to SKIPPED with a reason: {unfillable}"
    return pages


def _assert_none(failing: list[Violation]) -> None:
    assert not failing, "serious/critical axe violations:\n" + "\n".join(str(v) for v in failing)


def test_anonymous_pages_and_sign_in_steps(portal: Portal) -> None:
    context = _new_context(portal)
    page = context.new_page()
    failing: list[Violation] = []
    for url, expected in (
        ("/", 200),
        ("/login", 200),
        ("/no-such-page", 404),
        ("/login/pending", 200),
        ("/login/forgot", 200),
        ("/login/reset/no-such-link", 404),
        ("/invitation/no-such-link", 404),
    ):
        response = page.goto(url)
        assert response is not None and response.status == expected, (url, response and response.status)
        failing += portal.check(page, f"{url} (anonymous)")
    # the second sign-in step (password), then the pages some accounts land on
    page.goto("/login")
    page.get_by_label("E-mail address").fill(MEMBER)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password").wait_for()
    failing += portal.check(page, "/login (password step)")
    for email, lands_on in ((LAW_ENFORCEMENT_NOT_ENROLLED, "/login/mfa/setup"),):
        other = _new_context(portal)
        p = other.new_page()
        p.goto("/login")
        p.get_by_label("E-mail address").fill(email)
        p.get_by_role("button", name="Continue").click()
        p.get_by_label("Password").fill(DEMO_PASSWORD)
        p.get_by_role("button", name="Sign in").click()
        p.wait_for_url(re.compile(re.escape(lands_on) + "$"))
        failing += portal.check(p, lands_on)
        other.close()
    # the second factor page, while the curator and administrator sign in
    for role in ("curator", "admin"):
        ctx = _new_context(portal)
        _sign_in(portal, ctx.new_page(), {"curator": CURATOR, "admin": ADMIN}[role], failing)
        portal.contexts[role] = ctx
    context.close()
    _assert_none(failing)


def test_every_page_of_the_url_map(portal: Portal) -> None:
    failing: list[Violation] = []
    pages = _get_pages(portal)
    wrong_status = []
    for endpoint, role, url in pages:
        page = _context_for(portal, role).pages[0]
        response = page.goto(url)
        status = response.status if response is not None else None
        if status != 200:
            wrong_status.append(f"{endpoint} {url} as {role}: {status}")
            continue
        failing += portal.check(page, f"{url} ({endpoint}, {role})")
    assert not wrong_status, "pages not shown to the role chosen for them:\n" + "\n".join(wrong_status)
    assert len(pages) >= 40
    _assert_none(failing)


def _submit_empty(page: Page, url: str) -> None:
    """Open ``url`` and submit its form as it is (empty or defaults), then wait for the answer."""
    page.goto(url)
    form = page.locator("#main-content form.pax-form").first
    for box in form.locator("input[type=text], input[type=email], input[type=date], textarea").all():
        if box.is_visible() and box.is_editable():
            box.fill("")
    with page.expect_navigation():
        form.locator("button[type=submit]:not([name=pax_save_draft])").last.click()


def test_forms_with_validation_errors_shown(portal: Portal) -> None:
    failing: list[Violation] = []
    anonymous = _new_context(portal)
    page = anonymous.new_page()
    _submit_empty(page, "/login")
    assert page.locator(".ecl-feedback-message, [role=alert]").first.is_visible()
    failing += portal.check(page, "/login (empty, errors shown)")
    page.goto("/login")
    page.get_by_label("E-mail address").fill(MEMBER)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").first.wait_for()
    failing += portal.check(page, "/login (wrong password)")
    anonymous.close()
    for role, url in (
        ("member", "/clusters/operational-cooperation/posts/new"),
        ("curator", "/meetings/new"),
        ("curator", "/workplan/items/new"),
    ):
        page = _context_for(portal, role).pages[0]
        _submit_empty(page, url)
        assert page.locator(".ecl-feedback-message").first.is_visible(), f"{url}: no error shown"
        failing += portal.check(page, f"{url} (empty, errors shown)")
    _assert_none(failing)


_FOCUS_STATE = """() => {
    const e = document.activeElement;
    if (!e || e === document.body) return null;
    const s = getComputedStyle(e);
    const r = e.getBoundingClientRect();
    return {
        tag: e.tagName.toLowerCase(), id: e.id, text: (e.innerText || e.value || '').trim().slice(0, 80),
        name: e.getAttribute('name'), href: e.getAttribute('href'),
        visible: r.width > 0 && r.height > 0,
        // an outline, a shadow, or ECL's 2px focus border on selects
        ring: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none'
            || (s.borderTopStyle !== 'none' && parseFloat(s.borderTopWidth) >= 2),
        focusVisible: e.matches(':focus-visible'),
        inMain: !!e.closest('#main-content'),
    };
}"""


def _tab_to(page: Page, wanted: Any, limit: int = 60, key: str = "Tab") -> dict[str, Any]:
    """Press Tab until ``wanted(state)`` holds for the focused element; every element focused on
    the way must show a visible focus indicator."""
    for _ in range(limit):
        page.keyboard.press(key)
        state = page.evaluate(_FOCUS_STATE)
        if state is None:
            continue
        if state["visible"]:
            assert state["focusVisible"] and state["ring"], f"focus is not visible on {state}"
        if wanted(state):
            return state
    raise AssertionError(f"{key} never reached the element on {page.url}")


def test_main_journey_by_keyboard_alone(portal: Portal) -> None:
    """Sign in, reach a cluster from the menu, open a post and comment on it with keys only,
    seeing where the focus is at every step. The portal's own CSP applies (no bypass)."""
    context = portal.browser.new_context(base_url=portal.base_url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")

    # The skip link is the first stop and moves the focus to the main content.
    first = _tab_to(page, lambda s: True, limit=1)
    assert first["text"] == "Skip to main content" and first["visible"], first
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main-content"
    assert _tab_to(page, lambda s: True, limit=1)["inMain"]

    _tab_to(page, lambda s: s["id"] == "email")
    page.keyboard.type(MEMBER)
    page.keyboard.press("Enter")  # Continue
    page.wait_for_url(re.compile(r"/login"))
    page.get_by_label("Password").wait_for()
    if page.evaluate("document.activeElement.id") != "password":
        _tab_to(page, lambda s: s["id"] == "password")
    page.keyboard.type(DEMO_PASSWORD)
    with page.expect_navigation(url=re.compile(r"/dashboard$")):
        page.keyboard.press("Enter")

    # The menu's "Clusters" entry, then the cluster, then a post.
    _tab_to(page, lambda s: s["tag"] == "a" and s["text"] == "Clusters" and not s["inMain"])
    with page.expect_navigation(url=re.compile(r"/clusters/$")):
        page.keyboard.press("Enter")
    _tab_to(page, lambda s: s["inMain"] and (s["href"] or "").endswith("/clusters/operational-cooperation"))
    with page.expect_navigation(url=re.compile(r"/clusters/operational-cooperation$")):
        page.keyboard.press("Enter")
    post = _tab_to(page, lambda s: s["inMain"] and re.search(r"/posts/\d+$", s["href"] or "") is not None)
    with page.expect_navigation(url=re.compile(re.escape(post["href"]) + "$")):
        page.keyboard.press("Enter")

    # The comment box, its submit button (Shift+Tab back and forth), and Space to send it.
    _tab_to(page, lambda s: s["tag"] == "textarea")
    comment = "Typed without a mouse: we seal ours at the gate too."
    page.keyboard.type(comment)
    button = _tab_to(page, lambda s: s["tag"] == "button")
    assert _tab_to(page, lambda s: True, limit=1, key="Shift+Tab")["tag"] == "textarea"
    assert _tab_to(page, lambda s: True, limit=1)["text"] == button["text"]
    with page.expect_navigation():
        page.keyboard.press("Space")
    assert page.get_by_text(comment).first.is_visible()
    context.close()
