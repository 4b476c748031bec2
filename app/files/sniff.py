"""What an uploaded file really is, and a name that is safe to keep and to send back.

The media type comes from the file's first bytes (``filetype``'s signatures, plus a UTF-8 text
check), never from what the browser declared. Only the allow-list below is accepted, and the
filename's extension must be one that type is known by: a text file named ``.html`` or a zip
named ``.pdf`` is refused, so nothing PAX serves opens as something else on a member's machine.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import filetype
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

#: Bytes read before deciding (``filetype`` looks at most at this many).
SNIFF_BYTES = 8192


@dataclass(frozen=True)
class Kind:
    media_type: str
    label: str | LazyString
    extensions: tuple[str, ...]


_OFFICE = "application/vnd.openxmlformats-officedocument"
ALLOWED: dict[str, Kind] = {
    kind.media_type: kind
    for kind in (
        Kind("application/pdf", "PDF", ("pdf",)),
        Kind(f"{_OFFICE}.wordprocessingml.document", _l("Word document"), ("docx",)),
        Kind(f"{_OFFICE}.spreadsheetml.sheet", _l("Excel workbook"), ("xlsx",)),
        Kind(f"{_OFFICE}.presentationml.presentation", _l("PowerPoint presentation"), ("pptx",)),
        Kind("application/msword", _l("Word 97-2003 document"), ("doc",)),
        Kind("application/vnd.ms-excel", _l("Excel 97-2003 workbook"), ("xls",)),
        Kind("application/vnd.ms-powerpoint", _l("PowerPoint 97-2003 presentation"), ("ppt",)),
        Kind("application/vnd.oasis.opendocument.text", _l("OpenDocument text"), ("odt",)),
        Kind("application/vnd.oasis.opendocument.spreadsheet", _l("OpenDocument spreadsheet"), ("ods",)),
        Kind("application/vnd.oasis.opendocument.presentation", _l("OpenDocument presentation"), ("odp",)),
        Kind("image/png", _l("PNG image"), ("png",)),
        Kind("image/jpeg", _l("JPEG image"), ("jpg", "jpeg")),
        Kind("image/gif", _l("GIF image"), ("gif",)),
        Kind("image/webp", _l("WebP image"), ("webp",)),
        Kind("image/tiff", _l("TIFF image"), ("tif", "tiff")),
        Kind("application/zip", _l("ZIP archive"), ("zip",)),
        Kind("text/csv", _l("CSV table"), ("csv",)),
        Kind("text/plain", _l("text file"), ("txt", "text", "log", "md")),
    )
}
#: Text files are told apart by their extension; a name without one is plain text.
_TEXT_TYPES = ("text/csv", "text/plain")
_ZIP_CONTAINERS = {
    ext: kind.media_type
    for kind in ALLOWED.values()
    for ext in kind.extensions
    if ext in ("docx", "xlsx", "pptx", "odt", "ods", "odp")
}
ACCEPT_EXTENSIONS = sorted({f".{ext}" for kind in ALLOWED.values() for ext in kind.extensions})


#: What a refused file is, in words: a member knows a "Windows program", not its media type.
REFUSED_LABELS = {
    "application/x-msdownload": _l("a Windows program"),
    "application/vnd.microsoft.portable-executable": _l("a Windows program"),
    "application/x-executable": _l("a program"),
    "application/x-elf": _l("a program"),
    "application/x-mach-binary": _l("a program"),
    "application/x-sharedlib": _l("a program"),
    "application/x-shockwave-flash": _l("a Flash animation"),
    "application/x-rar-compressed": _l("a RAR archive"),
    "application/vnd.rar": _l("a RAR archive"),
    "application/x-7z-compressed": _l("a 7-Zip archive"),
    "application/gzip": _l("a compressed archive"),
    "application/x-bzip2": _l("a compressed archive"),
    "application/x-xz": _l("a compressed archive"),
    "application/x-tar": _l("an archive"),
    "application/x-sqlite3": _l("a database"),
    "application/epub+zip": _l("an e-book"),
    "application/rtf": _l("an RTF document"),
    "application/x-deb": _l("a software package"),
    "application/x-rpm": _l("a software package"),
    "application/vnd.ms-cab-compressed": _l("a software package"),
}
_REFUSED_FAMILIES = {
    "audio": _l("a sound recording"),
    "video": _l("a video"),
    "image": _l("an image in another format"),
    "font": _l("a font"),
}
ACCEPTED_WORDS = _l(
    "Upload PDF, Office documents (Word, Excel, PowerPoint, OpenDocument), images (PNG, JPEG, GIF, "
    "WebP, TIFF), text, CSV or ZIP files."
)


def kind_label(media_type: str) -> str:
    kind = ALLOWED.get(media_type)
    return str(kind.label) if kind else _("file")


def _refused_words(media_type: str | None) -> str:
    label = REFUSED_LABELS.get(media_type or "") or _REFUSED_FAMILIES.get((media_type or "").split("/", 1)[0])
    if label:
        return _(
            "This file is %(label)s, which PAX does not accept. %(accepted)s", label=label, accepted=ACCEPTED_WORDS
        )
    if media_type:
        return _("PAX does not accept this kind of file. %(accepted)s", accepted=ACCEPTED_WORDS)
    return _(
        "PAX cannot recognise what kind of file this is, so it does not accept it. %(accepted)s",
        accepted=ACCEPTED_WORDS,
    )


class RejectedFile(ValueError):
    """The file may not be stored; the message says why in words a member understands."""


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start < len(head) - 3:
            return False
    return True


def sniff(head: bytes, filename: str) -> Kind:
    """The allowed kind of a file starting with ``head`` and named ``filename``, or ``RejectedFile``."""
    extension = filename.rsplit(".", 1)[1].lower() if "." in filename else ""
    guessed = filetype.guess_mime(head) if head else None
    if guessed is None and _is_text(head):
        guessed = "text/csv" if extension == "csv" else "text/plain"
    if guessed == "application/zip" and extension in _ZIP_CONTAINERS:
        # Office and OpenDocument files are zips; not every writer puts the part filetype looks for first.
        guessed = _ZIP_CONTAINERS[extension]
    kind = ALLOWED.get(guessed or "")
    if kind is None:
        raise RejectedFile(_refused_words(guessed))
    if extension and extension not in kind.extensions and not (kind.media_type in _TEXT_TYPES and not extension):
        # A mismatched name would make the member's computer open the file as something else.
        raise RejectedFile(
            _(
                "This file is a %(kind)s but its name ends in .%(extension)s. "
                "Rename it to end in .%(wanted)s and upload it again.",
                kind=kind.label,
                extension=extension,
                wanted=kind.extensions[0],
            )
        )
    return kind


_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f/\\:*?"<>|]+')
MAX_NAME_BYTES = 200


def safe_filename(raw: str, fallback: str = "attachment") -> str:
    """The last path component of ``raw``, without control or reserved characters, at most 200 bytes.

    Browsers send only a base name, but other clients may send ``../../etc/passwd`` or
    ``C:\\fakepath\\x``; nothing of the path survives. Leading dots are dropped (no hidden files).
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE.sub("_", name)
    name = " ".join(name.split()).strip(" .")
    # Bidirectional overrides make "exe.pdf" read as "fdp.exe"; format characters go.
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cf")
    if not name:
        return fallback
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    while len((stem + dot + ext).encode()) > MAX_NAME_BYTES and stem:
        stem = stem[:-1]
    return (stem + dot + ext) if stem else fallback + dot + ext
