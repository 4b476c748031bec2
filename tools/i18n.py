"""Catalog work: extract part of PAX's msgids, start the 23 translations, check them, merge parts.

    python tools/i18n.py extract AREA PATH...   i18n-work/AREA/messages.pot and one .po per language
    python tools/i18n.py check AREA|translations [LANG...]   what is missing or wrong, per language
    python tools/i18n.py merge                  i18n-work/*/<lang>.po into translations/<lang>/...

``check`` applies the rules the catalog tests apply (tests/test_i18n.py): every msgid translated,
every plural form filled, exactly the source's placeholders, no translation equal to its English
source unless it is made of ``IDENTICAL_TERMS`` (TLP labels, PAX, acronyms) or the language writes
that very word as English does (``same_words``: translations/identical.txt).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "i18n-work"
TRANSLATIONS = ROOT / "translations"
TARGETS = [
    "bg",
    "cs",
    "da",
    "de",
    "el",
    "es",
    "et",
    "fi",
    "fr",
    "ga",
    "hr",
    "hu",
    "it",
    "lt",
    "lv",
    "mt",
    "nl",
    "pl",
    "pt",
    "ro",
    "sk",
    "sl",
    "sv",
]
KEYWORDS = ["-k", "lazy_gettext", "-k", "_l", "-k", "lazy_ngettext:1,2"]

PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%%|\{\w*\}")

#: Terms every language writes as English does: the TLP labels as FIRST's standard writes them,
#: names, acronyms, and codes. A msgid made only of these (and punctuation) may stay as it is.
IDENTICAL_TERMS = {
    "PAX",
    "TLP",
    "TLP:RED",
    "TLP:AMBER",
    "TLP:AMBER+STRICT",
    "TLP:GREEN",
    "TLP:CLEAR",
    "RED",
    "AMBER",
    "AMBER+STRICT",
    "GREEN",
    "CLEAR",
    "CSV",
    "XLSX",
    "PDF",
    "ZIP",
    "JSON",
    "STIX",
    "TAXII",
    "API",
    "SSO",
    "OIDC",
    "SAML",
    "OK",
    "ID",
    "URL",
    "UN/LOCODE",
    "LOCODE",
    "IMO",
    "ISO",
    "UTC",
    "CET",
    "MFA",
    "TOTP",
    "Europol",
    "Eurojust",
    "Frontex",
    "EMSA",
    "OpenID",
    "Connect",
    "iCalendar",
    "ICS",
    "E-mail",
    "Email",
    "Internet",
    "Web",
    "Online",
    "online",
    "Status",
    "Portal",
    "Standard",
    "Total",
    "Minimum",
    "Maximum",
    "Ad",
    "hoc",
}


def same_words(locale: str) -> set[str]:
    """The msgids ``locale`` writes exactly as English does ("Menu" in French, "Administrator" in
    Polish): translations/identical.txt, and while a part is being translated, its own
    i18n-work/<area>/identical.txt. Lines are ``<lang><TAB><msgid>``."""
    allowed = set()
    for path in [TRANSLATIONS / "identical.txt", *sorted(WORK.glob("*/identical.txt"))]:
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                code, _, msgid = line.partition("\t")
                if code == locale and msgid:
                    allowed.add(msgid)
    return allowed


def placeholders(text: str) -> list[str]:
    return sorted(match.group(0) for match in PLACEHOLDER.finditer(text))


def identical_allowed(msgid: str) -> bool:
    words = re.findall(r"[^\s.,:;()/\-\u2013\[\]!?'\"%]+", re.sub(PLACEHOLDER, " ", msgid))
    return all(w in IDENTICAL_TERMS or not any(c.isalpha() for c in w) for w in words)


def _plural_count(locale: str) -> int:
    return Catalog(locale=locale).num_plurals


def problems(catalog: Catalog) -> list[str]:
    """Every reason ``catalog`` is not finished, one line each."""
    found = []
    nplurals = catalog.num_plurals
    same = same_words(str(catalog.locale)) if catalog.locale else set()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
        strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
        label = repr(ids[0])[:70]
        if message.fuzzy:
            found.append(f"fuzzy: {label}")
        if isinstance(message.id, (list, tuple)) and len([s for s in strings if s]) < nplurals:
            found.append(f"plural forms missing ({len([s for s in strings if s])} of {nplurals}): {label}")
            continue
        if not all(strings):
            found.append(f"untranslated: {label}")
            continue
        want = placeholders(ids[-1])
        for text in strings:
            got = placeholders(text)
            # A singular form may leave out %(count)s where the language says "one" in words.
            if got != want and not (isinstance(message.id, (list, tuple)) and set(got) <= set(want)):
                found.append(f"placeholders {got} instead of {want}: {label}")
                break
        if (
            not isinstance(message.id, (list, tuple))
            and strings[0] == ids[0]
            and not identical_allowed(ids[0])
            and ids[0] not in same
        ):
            found.append(f"same as English: {label}")
    return found


def load(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def save(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=0, omit_header=False, no_location=True, sort_output=True)


def start(template: Catalog, locale: str, existing: Catalog | None) -> Catalog:
    catalog = Catalog(locale=locale, project="PAX", fuzzy=False)
    for message in template:
        if not message.id:
            continue
        old = existing.get(message.id) if existing is not None else None
        string = old.string if old is not None else ("",) * (catalog.num_plurals) if message.pluralizable else ""
        catalog[message.id] = Message(message.id, string, flags=[f for f in message.flags if f != "fuzzy"])
    return catalog


def _files(paths: list[str]) -> list[str]:
    """Directories as their files: babel.cfg's patterns are relative to the root, so pybabel
    must be given files (or the root itself), not a sub-directory."""
    found = []
    for path in paths:
        if Path(path).is_dir():
            found += sorted(str(p) for p in Path(path).rglob("*") if p.suffix in (".py", ".html"))
        else:
            found.append(path)
    return found


def extract(area: str, paths: list[str]) -> None:
    paths = _files(paths)
    out = WORK / area
    out.mkdir(parents=True, exist_ok=True)
    pot = out / "messages.pot"
    subprocess.run(  # noqa: S603  (our own interpreter, our own paths)
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "--quiet",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "--no-location",
            "--sort-output",
            "--omit-header",
            *KEYWORDS,
            "-o",
            str(pot),
            *paths,
        ],
        check=True,
        cwd=ROOT,
    )
    template = load(pot)
    for locale in TARGETS:
        path = out / f"{locale}.po"
        existing = load(path, locale) if path.exists() else None
        save(start(template, locale, existing), path)
    print(
        f"{len([m for m in template if m.id])} msgids in {pot.relative_to(ROOT)}; "
        f"{len(TARGETS)} catalogs in {out.relative_to(ROOT)}"
    )


def check(where: str, locales: list[str]) -> int:
    bad = 0
    for locale in locales or TARGETS:
        path = (
            (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po")
            if where == "translations"
            else WORK / where / f"{locale}.po"
        )
        if not path.exists():
            print(f"{locale}: missing {path}")
            bad += 1
            continue
        found = problems(load(path, locale))
        bad += bool(found)
        print(f"{locale}: {'complete' if not found else f'{len(found)} problems'}")
        for line in found[:15]:
            print(f"    {line}")
    return 1 if bad else 0


def merge() -> None:
    """Fill translations/<lang>/LC_MESSAGES/messages.po from every part's <lang>.po, for the
    msgids of translations/messages.pot (run `make messages` first)."""
    template = load(TRANSLATIONS / "messages.pot")
    for locale in TARGETS:
        found: dict[object, object] = {}
        for part in sorted(WORK.glob(f"*/{locale}.po")):
            for message in load(part, locale):
                strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
                if message.id and all(strings) and message.id not in found:
                    found[message.id] = message.string
        target = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
        existing = load(target, locale) if target.exists() else None
        catalog = start(template, locale, existing)
        for message in catalog:
            if message.id and message.id in found:
                strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
                if not all(strings):
                    message.string = found[message.id]
        save(catalog, target)
    english = start(template, "en", None)
    for message in english:
        if message.id:
            message.string = message.id if not message.pluralizable else tuple(message.id)
    save(english, TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po")


if __name__ == "__main__":
    command, *rest = sys.argv[1:] or ["help"]
    if command == "extract" and len(rest) >= 2:
        extract(rest[0], rest[1:])
    elif command == "check" and rest:
        sys.exit(check(rest[0], rest[1:]))
    elif command == "merge":
        merge()
    else:
        print(__doc__)
        sys.exit(2)
