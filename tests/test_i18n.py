"""The catalogs (issue 23, items 1 and 2): all 24 complete, every placeholder kept, nothing left in
English that is not allowed to be, and no English string in the code that is not in them.

The rules are tools/i18n.py's (`python tools/i18n.py check translations` prints the same findings).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app.i18n import LANGUAGES
from tools.i18n import KEYWORDS, identical_allowed, placeholders, problems

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"


def catalog(code: str):  # type: ignore[no-untyped-def]
    with (TRANSLATIONS / code / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=code)


def msgids(messages) -> set[object]:  # type: ignore[no-untyped-def]
    return {m.id for m in messages if m.id}


@pytest.fixture(scope="module")
def template():  # type: ignore[no-untyped-def]
    with (TRANSLATIONS / "messages.pot").open("rb") as f:
        return read_po(f)


def test_there_is_a_catalog_for_each_official_language_and_no_other() -> None:
    found = {p.name for p in TRANSLATIONS.iterdir() if (p / "LC_MESSAGES" / "messages.po").exists()}
    assert found == set(LANGUAGES) and len(found) == 24


@pytest.mark.parametrize("code", sorted(LANGUAGES))
def test_every_catalog_is_complete_and_keeps_the_placeholders(code: str, template) -> None:  # type: ignore[no-untyped-def]
    messages = catalog(code)
    assert msgids(messages) == msgids(template), "run `make messages`: the catalog and the template differ"
    found = problems(messages)
    if code == "en":  # English is the source: each string is itself
        found = [line for line in found if not line.startswith("same as English")]
    assert found == []


def test_the_checks_catch_what_they_are_for() -> None:
    """The completeness rules find a missing translation, a lost or renamed placeholder, a
    missing plural form and an English string, and allow TLP labels and acronyms as they are."""
    from babel.messages.catalog import Catalog

    broken = Catalog(locale="pl")
    broken.add("Posted by %(name)s", "Opublikował %(author)s")
    broken.add("Delete", "")
    broken.add(("%(num)d file", "%(num)d files"), ("%(num)d plik", "%(num)d pliki", ""))
    broken.add("Sign out", "Sign out")
    broken.add("TLP:AMBER+STRICT", "TLP:AMBER+STRICT")
    broken.add("PAX, STIX, TAXII", "PAX, STIX, TAXII")
    found = problems(broken)
    assert any("placeholders ['%(author)s'] instead of ['%(name)s']" in line for line in found)
    assert any(line.startswith("untranslated: 'Delete'") for line in found)
    assert any(line.startswith("plural forms missing (2 of 3)") for line in found)
    assert any(line.startswith("same as English: 'Sign out'") for line in found)
    assert len(found) == 4
    assert identical_allowed("TLP:RED") and not identical_allowed("Marking")
    assert placeholders("%(count)d of %(total)d, 100%%") == ["%%", "%(count)d", "%(total)d"]


def test_no_english_string_in_the_code_is_missing_from_the_catalogs(tmp_path: Path, template) -> None:  # type: ignore[no-untyped-def]
    """`pybabel extract` over the checkout (as `make messages` runs it: babel.cfg's patterns are
    relative to the directory given, so it is given the root) finds nothing that
    the catalogs lack: a new English string cannot land untranslated."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "--quiet", "extract", "-F", str(ROOT / "babel.cfg"),
         *KEYWORDS, "-o", str(pot), "."],
        check=True, cwd=ROOT,
    )  # fmt: skip
    with pot.open("rb") as f:
        extracted = read_po(f)
    missing = sorted(str(m) for m in msgids(extracted) - msgids(template))
    assert missing == [], f"{len(missing)} new strings: run `make messages` and translate them in all 24 catalogs"
    # English itself is a catalog too, so the language selector's English is a complete choice.
    assert msgids(catalog("en")) >= msgids(extracted)


#: A control whose visible words are one msgid and whose accessible name is another:
#: ``ecl.link(_('Edit'), ..., attrs={'aria-label': _('Edit your comment')})``.
VISIBLE_AND_NAME = re.compile(
    r"_\((['\"])((?:(?!\1).)+)\1\)(?P<between>.{0,250}?)'aria-label':\s*_\((['\"])((?:(?!\4).)+)\4", re.S
)


@pytest.mark.parametrize("code", sorted(set(LANGUAGES) - {"en"}))
def test_an_accessible_name_starts_from_the_visible_words_in_every_language(code: str) -> None:
    """WCAG 2.5.3 (label in name): where a link or button's accessible name says more than its
    visible words, each language's name must still contain those words, or speech users cannot
    say what they see ("Muokkaa", not "Oman kommentin muokkaus" for Edit)."""
    messages = catalog(code)
    pairs = set()
    for path in (ROOT / "templates").rglob("*.html"):
        for match in VISIBLE_AND_NAME.finditer(path.read_text(encoding="utf-8")):
            if "_(" not in match.group("between"):
                pairs.add((match.group(2), match.group(5)))
    assert len(pairs) >= 5
    wrong = []
    for visible, name in sorted(pairs):
        shown, said = messages.get(visible), messages.get(name)
        if shown is None or said is None:
            continue
        words = re.sub(r"%\(\w+\)s", "", shown.string).strip().lower()
        if words not in said.string.lower():
            wrong.append(f"{shown.string!r} is not in {said.string!r}")
    assert wrong == []
