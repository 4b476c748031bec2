"""Rebuild ``app/auth/data/common-passwords.txt`` from Openwall's list of common passwords.

    apt-get install john-data
    .venv/bin/python -m tools.common_passwords [/usr/share/john/password.lst]

The source's ``#!comment`` lines are dropped; each password is normalised as the password
policy compares it (``app.auth.passwords.comparable``: Unicode NFKC, case-folded) and kept
once, in the source's order (most common first).
"""

from __future__ import annotations

import sys
from pathlib import Path

from app.auth.passwords import COMMON_PASSWORDS_FILE, comparable

SOURCE = Path("/usr/share/john/password.lst")

HEADER = """\
# Common passwords, most common first: Openwall's password.lst (Debian package john-data,
# /usr/share/john/password.lst), "compiled by Solar Designer of Openwall Project in 1996
# through 2011. It is assumed to be in the public domain." (the list's own header; last
# update 2011/11/20, 3546 entries). See https://www.openwall.com/wordlists/
# Rebuilt with tools/common_passwords.py: comments removed, Unicode NFKC normalised,
# case-folded, deduplicated keeping the first occurrence: {count} entries.
"""


def build(source: Path) -> list[str]:
    seen: dict[str, None] = {}
    for line in source.read_text(encoding="latin-1").splitlines():
        if not line.startswith("#!comment") and (word := comparable(line).strip()):
            seen.setdefault(word)
    return list(seen)


def main(argv: list[str]) -> int:
    words = build(Path(argv[0]) if argv else SOURCE)
    COMMON_PASSWORDS_FILE.write_text(HEADER.format(count=len(words)) + "\n".join(words) + "\n", encoding="utf-8")
    print(f"{len(words)} passwords written to {COMMON_PASSWORDS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
