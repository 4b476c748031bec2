"""Per-recipient watermarks: every page of a PDF marked AMBER or stricter is stamped, at download,
with the marking, the reader's name and organisation, the date and a short forensic reference.

The reference goes into the download's audit event (``watermark``), so a leaked copy names the
download it came from (``flask --app app audit trace REF``). Stamping works on files, never on
the whole document in memory, and no plaintext touches a disk: the decrypted PDF is written to a
private temporary directory encrypted again, in the blob format (``app.files.crypto``), under a
key made for this one download that exists only in the worker's memory. pikepdf (qpdf) reads it
through ``_SealedReader``, which opens the segments it asks for, and writes the stamped copy
through ``_SealedWriter`` into another such file; both are deleted when the copy has been sent,
and one left behind by a killed worker is unreadable. Streams are copied, not decoded, so memory
stays near the size of the page tree, whatever the size of the images inside.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import secrets
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from flask_babel import gettext as _

from app.files import crypto
from app.markings import Tlp

if TYPE_CHECKING:
    import pikepdf

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
        # Read by the downloader: in the language of the request the copy is made for.
        return _(
            "%(marking)s - %(reader)s (%(organisation)s) - %(date)s - Ref %(reference)s",
            marking=self.tlp.label,
            reader=self.reader,
            organisation=self.organisation,
            date=self.on.isoformat(),
            reference=self.reference,
        )


#: The stamp's font: DejaVu Sans (Debian's fonts-dejavu-core) writes every official EU language's
#: letters, Greek and Cyrillic names included (``PAX_STAMP_FONT``; the PDF carries a subset of it).
STAMP_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
_FONT_NAME = "PAXStampSans"
_MISSING_FONTS: set[str] = set()
log = logging.getLogger("pax.watermark")


def _register_font(path: str) -> str:
    """The reportlab name of the stamp's font, registered once per process; Helvetica (Latin
    letters only, with a warning in the log) where the font file is missing."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if not os.path.isfile(path):
        if path not in _MISSING_FONTS:
            _MISSING_FONTS.add(path)
            log.warning("stamp font %s is missing: names outside Latin letters will not print", path)
        return "Helvetica"
    name = f"{_FONT_NAME}-{hashlib.sha256(path.encode()).hexdigest()[:8]}"
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, path))
    return name


def _overlay(width: float, height: float, text: str, font_path: str) -> pikepdf.Pdf:
    """A one-page PDF of ``width`` x ``height`` points holding the stamp at its bottom and top,
    drawn by reportlab with the font embedded (subset to the letters used)."""
    import pikepdf
    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height), pageCompression=1)
    canvas.setFillColorRGB(0.6, 0, 0)
    canvas.setFont(_register_font(font_path), FONT_SIZE)
    for y in (8, height - 8 - FONT_SIZE):
        canvas.drawString(18, y, text)
    canvas.showPage()
    canvas.save()
    buffer.seek(0)
    return pikepdf.open(buffer)


def stamp_pdf(source: Path | BinaryIO, target: Path | BinaryIO, stamp: Stamp, font_path: str = STAMP_FONT) -> int:
    """Write ``source`` stamped on every page to ``target`` (paths or file objects); the number of
    pages stamped.

    The stamp is one form XObject per page size, drawn last over each page; each page's own
    drawing is wrapped in ``q``/``Q`` so that whatever state it leaves does not move or hide it.
    """
    import pikepdf  # loaded at the first stamp, not by every worker at start

    try:
        with pikepdf.open(source) as pdf:
            forms: dict[tuple[float, float], pikepdf.Object] = {}
            count = 0
            for page in pdf.pages:
                x0, y0, x1, y1 = (float(v) for v in page.cropbox)
                size = (round(abs(x1 - x0), 2), round(abs(y1 - y0), 2))
                if size not in forms:
                    with _overlay(*size, stamp.text, font_path) as overlay:
                        forms[size] = pdf.copy_foreign(overlay.pages[0].as_form_xobject())
                name = page.add_resource(forms[size], pikepdf.Name.XObject, prefix="PAXStamp")
                place = b"Q\nq 1 0 0 1 %.2f %.2f cm %s Do Q\n" % (min(x0, x1), min(y0, y1), str(name).encode())
                page.contents_add(pikepdf.Stream(pdf, b"q\n"), prepend=True)
                page.contents_add(pikepdf.Stream(pdf, place))
                count += 1
            pdf.save(target)
    except (pikepdf.PdfError, pikepdf.PasswordError, OSError, ValueError, KeyError, TypeError) as exc:
        raise StampFailed(type(exc).__name__) from None
    return count


#: Segments of a sealed temporary file kept open in memory by its reader (qpdf reads around).
_READER_CACHE = 32


class _SealedWriter(io.RawIOBase):
    """A write-only file that encrypts what it is given into ``path`` (``SegmentEncryptor``
    under ``key``) and hashes the plaintext on the way."""

    def __init__(self, path: Path, key: bytes, label: bytes) -> None:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(descriptor, "wb")
        self._encryptor = crypto.SegmentEncryptor(key, label, self._file.write)
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self._encryptor.update(view)
        self.sha256.update(view)
        self.size += len(view)
        return len(view)

    def tell(self) -> int:
        return self.size

    def close(self) -> None:
        if not self.closed:
            self._encryptor.finish()
            self._file.close()
        super().close()


class _SealedReader(io.RawIOBase):
    """A seekable read-only view of the plaintext of a file ``_SealedWriter`` wrote."""

    def __init__(self, path: Path, key: bytes, label: bytes, size: int) -> None:
        self._file = path.open("rb")
        header = crypto.Header.parse(self._file.read(crypto.HEADER_SIZE))
        self._decryptor = crypto.SegmentDecryptor(key, label, header, size)
        self._segment = header.segment_size
        self._size = size
        self._position = 0
        self._cache: OrderedDict[int, bytes] = OrderedDict()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def _plain(self, index: int) -> bytes:
        found = self._cache.get(index)
        if found is not None:
            self._cache.move_to_end(index)
            return found
        self._file.seek(self._decryptor.offset_of(index))
        plain = self._decryptor.decrypt(index, self._file.read(self._decryptor.header.stored_segment_size))
        self._cache[index] = plain
        if len(self._cache) > _READER_CACHE:
            self._cache.popitem(last=False)
        return plain

    def readinto(self, buffer: Any) -> int:
        out = memoryview(buffer).cast("B")
        done = 0
        while done < len(out) and self._position < self._size:
            index, start = divmod(self._position, self._segment)
            piece = self._plain(index)[start : start + len(out) - done]
            out[done : done + len(piece)] = piece
            done += len(piece)
            self._position += len(piece)
        return done

    def chunks(self) -> Iterator[bytes]:
        """The whole plaintext in order, segment by segment (without filling the cache)."""
        for index in range(self._decryptor.count):
            self._file.seek(self._decryptor.offset_of(index))
            yield self._decryptor.decrypt(index, self._file.read(self._decryptor.header.stored_segment_size))

    def close(self) -> None:
        if not self.closed:
            self._file.close()
            self._cache.clear()
        super().close()


@dataclass
class StampedCopy:
    """A stamped copy waiting, sealed, in its temporary directory: its size, SHA-256, and its
    bytes to read once (``chunks``), after which, or on ``close``, the directory is deleted."""

    directory: Path
    path: Path
    size: int
    sha256: str
    pages: int
    key: bytes

    def chunks(self) -> Iterator[bytes]:
        try:
            with _SealedReader(self.path, self.key, _OUT_LABEL, self.size) as reader:
                yield from reader.chunks()
        finally:
            self.close()

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


_IN_LABEL, _OUT_LABEL = b"pax-stamp-in", b"pax-stamp-out"
_PREFIX = "pax-stamp-"


def sweep_stale(temp_dir: str | None, older_than: float) -> int:
    """Delete stamping directories older than ``older_than`` (a Unix time): those a killed worker
    left behind (sealed, so unreadable, but taking room). How many were deleted."""
    root = Path(temp_dir or tempfile.gettempdir())
    removed = 0
    for directory in root.glob(_PREFIX + "*"):
        try:
            if directory.is_dir() and directory.stat().st_mtime < older_than:
                shutil.rmtree(directory, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed


def stamped_copy(
    plaintext: Iterable[bytes], stamp: Stamp, temp_dir: str | None = None, font_path: str = STAMP_FONT
) -> StampedCopy:
    """Seal ``plaintext`` (decrypted chunks) into a private temporary file under a key made for
    this copy, stamp it into another such file, delete the first, and return the stamped copy.
    ``StampFailed`` (or what reading the chunks raises) leaves nothing behind."""
    directory = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=temp_dir))
    key = crypto.new_dek()
    try:
        source, target = directory / "in.sealed", directory / "out.sealed"
        with _SealedWriter(source, key, _IN_LABEL) as sealed_in:
            for chunk in plaintext:
                sealed_in.write(chunk)
        with (
            _SealedReader(source, key, _IN_LABEL, sealed_in.size) as reader,
            _SealedWriter(target, key, _OUT_LABEL) as writer,
        ):
            pages = stamp_pdf(reader, writer, stamp, font_path)  # type: ignore[arg-type]
        source.unlink()
        return StampedCopy(directory, target, writer.size, writer.sha256.hexdigest(), pages, key)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
