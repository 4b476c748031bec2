"""Every page in another language (issue 23): no English left, and a layout that holds.

- Every GET page of the url_map (the accessibility test's list, as the role that may see it) is
  opened in French and in Polish. No string of the English catalog may be left on it: phrases
  of three words or more anywhere in its text or its accessible names, and shorter ones as the
  whole text of a button, label, table header, menu or footer link, or accessible name. Allowed:
  strings whose translation is the English text (TLP labels, PAX, acronyms), and member content
  (the demo data is written in English), which is never a whole catalog phrase.
- The dashboard and a post page in German, Greek and Finnish at 1366 and 320 px: no horizontal
  page overflow, the header, menu and TLP labels inside the screen, axe without a serious
  finding (``lang`` attributes included). The screenshots go to docs/screenshots.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Page

from tests.support import databases
from tests.support.axe import FAILING_IMPACTS, run_axe

# The accessibility test's portal: the demo data served live, with its signed-in browser contexts.
from tests.test_accessibility import Portal, _context_for, _get_pages, portal  # noqa: F401
from tools.i18n import PLACEHOLDER, identical_allowed

pytestmark = [
    pytest.mark.browser,
    pytest.mark.committed_db,
    pytest.mark.slow,
    pytest.mark.skipif(
        databases.backend() == "postgresql", reason="pages do not depend on the database: run once, in the SQLite half"
    ),
]

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "docs" / "screenshots"
MARKUP = re.compile(r"<[^>]+>|&\w+;")

#: The page's words: text nodes (not scripts), the title, and what assistive technology reads.
PAGE_WORDS = """() => {
  const texts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: n => ['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE'].includes(n.parentElement.tagName)
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT });
  while (walker.nextNode()) texts.push(walker.currentNode.nodeValue);
  const names = [];
  const read = ['aria-label', 'title', 'placeholder', 'alt', 'data-pax-ended-text', 'data-pax-draft-failed'];
  for (const el of document.querySelectorAll(read.map(a => `[${a}]`).join(', '))) {
    for (const a of read) {
      if (el.hasAttribute(a)) names.push(el.getAttribute(a));
    }
  }
  const whole = [];
  const chrome = 'button, label, th, legend, summary, option, nav a, .ecl-site-footer a, .ecl-button__label, .ecl-label'
    ;
  for (const el of document.querySelectorAll(chrome)) {
    whole.push(el.textContent);
  }
  return {text: texts.concat(names).join('\\n'), whole: whole.concat(names)};
}"""


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class EnglishLeft:
    """The English catalog's strings as they would show if left untranslated in ``code``."""

    def __init__(self, code: str) -> None:
        with (ROOT / "translations" / code / "LC_MESSAGES" / "messages.po").open("rb") as f:
            catalog = read_po(f, locale=code)
        self.phrases: set[str] = set()
        self.short: set[str] = set()
        translated: list[str] = []
        for message in catalog:
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
            strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
            translated += [squash(MARKUP.sub(" ", s)) for s in strings]
            for source in ids:
                if identical_allowed(source) or source in strings:
                    continue
                for piece in [PLACEHOLDER.sub("\n", MARKUP.sub("\n", source))]:
                    for segment in piece.split("\n"):
                        segment = squash(segment).strip(" .,:;()")
                        words = segment.split()
                        if len(words) >= 3 and len(segment) >= 12:
                            self.phrases.add(segment)
                        elif words and segment == squash(source) and not identical_allowed(segment):
                            self.short.add(segment)
        every_translation = "\n".join(translated)
        # An English phrase a translation itself carries (a quoted command, a name) is not a leftover.
        self.phrases = {p for p in self.phrases if p not in every_translation}
        self.short = {s for s in self.short if s not in set(translated)}

    def found_in(self, words: dict[str, Any], member_content: str) -> list[str]:
        text = squash(words["text"])
        whole = {squash(w) for w in words["whole"]}
        found = {p for p in self.phrases if p in text} | (self.short & whole)
        # What members wrote stays in their language, even where it quotes a catalog phrase (the
        # demo's "Senior Officials' meeting: adoption of the 2026 workplan").
        return sorted(p for p in found if p not in member_content)


def member_content() -> str:
    """Everything members and administrators wrote into the database (the demo data, in
    English): every text column of every table but the clusters', whose four official names and
    descriptions PAX translates."""
    import sqlalchemy as sa

    from app.db import Base
    from app.extensions import db

    texts = []
    for table in Base.metadata.sorted_tables:
        if table.name in ("clusters", "alembic_version"):
            continue
        columns = [
            c for c in table.columns if isinstance(c.type, (sa.String, sa.Text)) and not isinstance(c.type, sa.Enum)
        ]
        if columns:
            for row in db.session.execute(sa.select(*columns)):
                texts += [squash(v) for v in row if isinstance(v, str) and len(v) > 2]
    return "\n".join(texts)


def in_language(url: str, code: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}lang={code}"


@pytest.mark.parametrize("code", ["fr", "pl"])
def test_every_page_of_the_url_map_is_in_the_readers_language(portal: Portal, code: str) -> None:  # noqa: F811
    english = EnglishLeft(code)
    # The demo portal's application context is the one current here (tests/test_accessibility.py).
    written = member_content()
    assert len(english.phrases) > 500, "the catalog seems empty"
    leftovers, wrong_status = [], []
    pages = _get_pages(portal)
    anonymous = portal.browser.new_context(base_url=portal.base_url).new_page()
    for endpoint, role, url in [*pages, ("main.landing", "anonymous", "/"), ("auth.login", "anonymous", "/login")]:
        page = anonymous if role == "anonymous" else _context_for(portal, role).pages[0]
        response = page.goto(in_language(url, code))
        if response is None or response.status != 200:
            wrong_status.append(f"{endpoint} {url}: {response and response.status}")
            continue
        assert page.locator("html").get_attribute("lang") == code, url
        found = english.found_in(page.evaluate(PAGE_WORDS), written)
        leftovers += [f"{endpoint} ({url}): {text!r}" for text in found]
    assert not wrong_status, wrong_status
    assert len(pages) >= 40
    assert not leftovers, f"English left on {code} pages:\n" + "\n".join(leftovers)


OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const outside = [];
  for (const el of document.querySelectorAll('.ecl-site-header *, .ecl-menu__link, .ecl-label, .pax-tlp, table')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || el.closest('[hidden]') || getComputedStyle(el).visibility === 'hidden') continue;
    // A wide table may scroll inside its own box; it must not push the page sideways.
    const scroller = el.tagName === 'TABLE' ? el.parentElement : null;
    if (scroller && scroller.scrollWidth > scroller.clientWidth) continue;
    if (box.right > width + 1 || box.left < -1) {
      outside.push(`${el.tagName.toLowerCase()}.${el.className} ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
  }
  return {page: document.documentElement.scrollWidth - width, outside};
}"""


def _post_url(portal: Portal) -> str:  # noqa: F811
    return f"/posts/{portal.ids['post_id']}"


@pytest.mark.parametrize("code", ["de", "el", "fi"])
def test_the_dashboard_and_a_post_hold_their_layout_in_long_words_and_other_scripts(
    portal: Portal,  # noqa: F811
    code: str,
) -> None:
    member = _context_for(portal, "member")
    problems = []
    for width in (1366, 320):
        page: Page = member.new_page()
        page.set_viewport_size({"width": width, "height": 900})
        for name, url in (("dashboard", "/dashboard"), ("post", _post_url(portal))):
            response = page.goto(in_language(url, code))
            assert response is not None and response.status == 200
            assert page.locator("html").get_attribute("lang") == code
            page.screenshot(path=str(SCREENSHOTS / f"i18n-{name}-{code}-{width}.png"), full_page=True)
            measured = page.evaluate(OVERFLOW)
            if measured["page"] > 0:
                problems.append(f"{name} at {width} px scrolls sideways by {measured['page']} px")
            problems += [f"{name} at {width} px: {what} is outside the screen" for what in measured["outside"]]
            failing = [v for v in run_axe(page, f"{url} ({code}, {width} px)") if v.impact in FAILING_IMPACTS]
            problems += [str(v) for v in failing]
        page.close()
    assert not problems, "\n".join(problems)
