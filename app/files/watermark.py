"""Per-recipient watermarks: every page of a PDF marked AMBER or stricter is stamped, at download,
with the marking, the reader's name and organisation, the date and a short forensic reference.

The reference goes into the download's audit event (``watermark``), so a leaked copy names the
download it came from (``flask --app app audit trace REF``). Stamping works on files, never on
the whole document in memory: the plaintext is decrypted into a private temporary directory,
pikepdf (qpdf) reads it from there as it needs objects and writes the stamped copy beside it,
and both are deleted when the copy has been sent. Streams are copied, not decoded, so memory
stays near the size of the page tree, whatever the size of the images inside.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pikepdf

from app.markings import Tlp

#: Markings whose PDFs are stamped for their reader.
STAMPED_TLPS = frozenset({Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED})
#: Letters of a reference: Crockford's base 32, nothing that reads as another letter.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: Bytes read or written at a time when copying to and from the temporary files.
COPY_SIZE = 1024 * 1024
#: Font size of the stamp, in points.
FONT_SIZE = 7


class StampFailed(Exception):
    """The PDF could not be opened or written for stamping (damaged, password-protected)."""


def needs_stamp(tlp: Tlp | str | None, media_type: str) -> bool:
    """Whether a download of a file of ``media_type`` marked ``tlp`` is stamped for its reader."""
    return media_type == "application/pdf" and tlp is not None and Tlp(tlp) in STAMPED_TLPS


def new_reference() -> str:
    """A short random reference, ``XXXX-XXXX-XXXX`` (60 bits): unguessable, easy to read out."""
    letters = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return f"{letters[:4]}-{letters[4:8]}-{letters[8:]}"


@dataclass(frozen=True)
class Stamp:
    """What every page of a stamped copy says."""

    tlp: Tlp
    reader: str
    organisation: str
    on: date
    reference: str

    @property
    def text(self) -> str:
        return f"{self.tlp.label} - {self.reader} ({self.organisation}) - {self.on.isoformat()} - Ref {self.reference}"


def _pdf_string(text: str) -> bytes:
    """``text`` as a PDF literal string in WinAnsi (Latin-1 close enough for names), escaped."""
    raw = text.encode("cp1252", "replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _stamp_ops(font: str, box: list[float], text: bytes) -> bytes:
    x0, y0, x1, y1 = (float(v) for v in box)
    left, bottom, top = min(x0, x1) + 18, min(y0, y1) + 8, max(y0, y1) - 8 - FONT_SIZE
    lines = []
    for y in (bottom, top):
        lines.append(
            b"q BT %s %d Tf 0.6 0 0 rg 1 0 0 1 %.2f %.2f Tm %s Tj ET Q" % (font.encode(), FONT_SIZE, left, y, text)
        )
    return b"\n".join(lines) + b"\n"


def stamp_pdf(source: Path, target: Path, stamp: Stamp) -> int:
    """Write ``source`` stamped on every page to ``target``; the number of pages stamped.

    Each page's own drawing is wrapped in ``q``/``Q`` so that whatever state it leaves does not
    move or hide the stamp, which is drawn last, at the bottom and the top of the page.
    """
    text = _pdf_string(stamp.text)
    try:
        with pikepdf.open(source) as pdf:
            font = pdf.make_indirect(
                pikepdf.Dictionary(
                    Type=pikepdf.Name.Font,
                    Subtype=pikepdf.Name.Type1,
                    BaseFont=pikepdf.Name.Helvetica,
                    Encoding=pikepdf.Name.WinAnsiEncoding,
                )
            )
            count = 0
            for page in pdf.pages:
                name = page.add_resource(font, pikepdf.Name.Font, prefix="PAXStamp")
                page.contents_add(pikepdf.Stream(pdf, b"q\n"), prepend=True)
                page.contents_add(pikepdf.Stream(pdf, b"Q\n" + _stamp_ops(str(name), list(page.cropbox), text)))
                count += 1
            pdf.save(target)
    except (pikepdf.PdfError, pikepdf.PasswordError, OSError, ValueError, KeyError, TypeError) as exc:
        raise StampFailed(type(exc).__name__) from None
    return count


@dataclass
class StampedCopy:
    """A stamped copy waiting in its temporary directory: its size, SHA-256, and its bytes to
    read once (``chunks``), after which, or on ``close``, the directory is deleted."""

    directory: Path
    path: Path
    size: int
    sha256: str
    pages: int

    def chunks(self) -> Iterator[bytes]:
        try:
            with self.path.open("rb") as handle:
                while piece := handle.read(COPY_SIZE):
                    yield piece
        finally:
            self.close()

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def stamped_copy(plaintext: Iterable[bytes], stamp: Stamp, temp_dir: str | None = None) -> StampedCopy:
    """Write ``plaintext`` (decrypted chunks) to a private temporary file, stamp it into another,
    delete the plaintext, and return the stamped copy. ``StampFailed`` (or what reading the
    chunks raises) leaves nothing behind."""
    directory = Path(tempfile.mkdtemp(prefix="pax-stamp-", dir=temp_dir))
    try:
        source, target = directory / "in.pdf", directory / "out.pdf"
        descriptor = os.open(source, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            for chunk in plaintext:
                handle.write(chunk)
        pages = stamp_pdf(source, target, stamp)
        source.unlink()
        digest = hashlib.sha256()
        with target.open("rb") as handle:
            while piece := handle.read(COPY_SIZE):
                digest.update(piece)
        return StampedCopy(directory, target, target.stat().st_size, digest.hexdigest(), pages)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
