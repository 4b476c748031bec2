"""Reading a multipart upload from the request body as it arrives.

Werkzeug's ``request.files`` would first copy the whole file to a temporary file in clear;
this reads the body with werkzeug's incremental ``MultipartDecoder`` instead, so the file part
flows straight into encryption and nothing but ciphertext ever touches a disk. Small form
fields before and after the file are collected (at most 64 KiB each).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from flask import current_app, request
from flask_babel import gettext as _
from flask_wtf.csrf import ValidationError as CsrfInvalid
from flask_wtf.csrf import validate_csrf
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from app.validation import ValidationError

log = logging.getLogger("pax.uploads")

READ_SIZE = 256 * 1024
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 20
#: Room for the multipart framing and small fields on top of the file size limit.
FRAMING_ALLOWANCE = 1024 * 1024


class UploadError(ValueError):
    """The request body is not a usable upload; the message says what to send instead."""


class UploadRefused(Exception):
    """An upload that stored nothing: the status to answer, the message for the member and, for a
    refused form field (422), a message per field."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}


def upload_limit() -> int:
    limit: int = current_app.config["MAX_UPLOAD_BYTES"]
    return limit


def allow_large_body(files: int = 1) -> None:
    """Raise this request's body limit to ``files`` uploads (other requests keep the small one)."""
    request.max_content_length = files * upload_limit() + FRAMING_ALLOWANCE


@dataclass
class MultipartUpload:
    """Walks a multipart body once: fields up to the file, the file's data, then the rest."""

    file_field: str = "file"
    fields: dict[str, str] = field(default_factory=dict)
    #: Every field in the order sent, repeated names included (a multiple choice sends several).
    pairs: list[tuple[str, str]] = field(default_factory=list)
    filename: str | None = None
    _decoder: MultipartDecoder | None = None
    _eof: bool = False

    def __post_init__(self) -> None:
        mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
        boundary = options.get("boundary", "")
        if mimetype != "multipart/form-data" or not boundary:
            raise UploadError(_("No file arrived with this upload. Choose a file and send it from the upload form."))
        self._decoder = MultipartDecoder(
            # Bounds the decoder's buffer (one read plus part headers); field sizes are checked below.
            boundary.encode("latin-1"),
            max_form_memory_size=2 * READ_SIZE,
            max_parts=MAX_PARTS,
        )
        self._stream = request.stream

    def _event(self) -> object:
        assert self._decoder is not None
        while True:
            try:
                event = self._decoder.next_event()
            except RequestEntityTooLarge:
                raise UploadError(
                    _(
                        "The upload holds more than %(count)s fields, or a field with too long a label. "
                        "Send the file and its details only.",
                        count=MAX_PARTS,
                    )
                ) from None
            except ValueError:
                if self._eof:
                    raise UploadError(_("The upload ended before it was complete; send it again.")) from None
                # The decoder's own words name form internals; the member only needs to know it was unreadable.
                raise UploadError(_("The upload arrived damaged and could not be read; send it again.")) from None
            if not isinstance(event, NeedData):
                return event
            if self._eof:
                raise UploadError(_("The upload ended before it was complete; send it again."))
            data = self._stream.read(READ_SIZE)
            if not data:
                self._eof = True
                self._decoder.receive_data(None)
                continue
            try:
                self._decoder.receive_data(data)
            except RequestEntityTooLarge:
                raise UploadError(
                    _("A field of the upload has too long a label. Send the file and its details only.")
                ) from None

    def _field_value(self, name: str) -> str:
        value = bytearray()
        while True:
            event = self._event()
            assert isinstance(event, Data)
            value += event.data
            if len(value) > MAX_FIELD_BYTES:
                raise UploadError(_("A detail sent with the file is too long; shorten it and upload again."))
            if not event.more_data:
                break
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise UploadError(
                _("A detail sent with the file is not readable text; type it again and upload.")
            ) from None

    def until_file(self) -> str:
        """Read the fields before the file part; returns the file's name as the client sent it."""
        while True:
            event = self._event()
            if isinstance(event, File):
                if event.name != self.file_field:
                    raise UploadError(
                        _(
                            "The file was sent in a field PAX does not read, so nothing was saved. "
                            "Choose the file in the upload form and send it again."
                        )
                    )
                self.filename = event.filename or ""
                return self.filename
            if isinstance(event, Field):
                self._keep_field(event.name)
            elif isinstance(event, Epilogue):
                raise UploadError(_("The upload holds no file. Choose a file to upload."))

    def _keep_field(self, name: str) -> None:
        value = self._field_value(name)
        self.fields[name] = value
        self.pairs.append((name, value))

    def next_file(self) -> str | None:
        """Read on to the next file part (keeping the fields before it); the file's name as the
        client sent it ("" for a file input left empty), or None at the end of the body. For a
        form that sends several files; read each one's ``file_chunks`` before asking for the next."""
        while True:
            event = self._event()
            if isinstance(event, File):
                if event.name != self.file_field:
                    raise UploadError(
                        _(
                            "A file was sent in a field PAX does not read, so nothing was saved. "
                            "Choose the files in the form and send it again."
                        )
                    )
                self.filename = event.filename or ""
                return self.filename
            if isinstance(event, Field):
                self._keep_field(event.name)
            elif isinstance(event, Epilogue):
                return None

    def file_chunks(self) -> Iterator[bytes]:
        """The file part's bytes, as they arrive."""
        while True:
            event = self._event()
            assert isinstance(event, Data)
            if event.data:
                yield event.data
            if not event.more_data:
                return

    def rest(self) -> dict[str, str]:
        """Read the fields after the file to the end of the body; all fields seen so far."""
        while True:
            event = self._event()
            if isinstance(event, Epilogue):
                return self.fields
            if isinstance(event, File):
                raise UploadError(_("More than one file was sent; nothing was saved. Upload one file at a time."))
            if isinstance(event, Field):
                self._keep_field(event.name)


#: A refused upload's remaining body is read and dropped up to this size, so the browser gets
#: the error page instead of a reset connection; beyond it the connection is simply closed.
DISCARD_LIMIT = 64 * 1024 * 1024


def discard_rest() -> None:
    stream = request.stream
    left = DISCARD_LIMIT
    try:
        while left > 0:
            data = stream.read(min(READ_SIZE, left))
            if not data:
                return
            left -= len(data)
    except Exception:  # the client went away or the body is over the limit: nothing left to do
        return


T = TypeVar("T")


@dataclass(frozen=True)
class IncomingFile:
    """An upload's file as it arrives: the name the client gave it, the form fields sent before
    it, its bytes (read from the request as they are consumed) and the most it may hold."""

    filename: str
    fields: dict[str, str]
    chunks: Iterator[bytes]
    max_bytes: int


def check_csrf_field(fields: dict[str, str]) -> None:
    """The CSRF check of a page's upload form, on its ``csrf_token`` field (sent before the file).

    Flask-WTF's global check would parse the whole body first, so the upload views are exempt
    from it and pass this to ``receive_upload`` instead.
    """
    try:
        validate_csrf(fields.get("csrf_token"))
    except CsrfInvalid:
        raise UploadError(
            _("Your form expired or was not sent from this portal. Reload the page and choose the file again.")
        ) from None


def receive_upload(
    store: Callable[[IncomingFile], T], check_fields: Callable[[dict[str, str]], None] | None = None
) -> T:
    """Walk the request's multipart body once, as pages and API both need it.

    The fields before the file go to ``check_fields`` (a form's CSRF token), the file to
    ``store`` (which hands it to a service), then the rest of the body is read. Nothing read
    before it is kept in an open transaction meanwhile (the session is committed first). Every
    refusal becomes ``UploadRefused``, the service's own too (``NotAllowed`` is 403, a
    ``ValidationError`` 422 naming its fields); the caller's transaction must then be rolled
    back, which also deletes a blob ``store`` already wrote.
    """
    from app.extensions import db

    allow_large_body()
    # End the request's transaction before the body streams in: what it read (the post, the
    # caller) stays loaded, and no snapshot, row or lock is held for as long as a slow client
    # takes. The records are written afterwards, in the request's one short transaction.
    db.session.commit()
    with refusals():
        form = MultipartUpload()
        filename = form.until_file()
        if check_fields:
            check_fields(form.fields)
        if not filename:
            raise UploadError(_("No file was chosen. Choose a file to upload."))
        stored = store(IncomingFile(filename, dict(form.fields), form.file_chunks(), upload_limit()))
        form.rest()
        return stored


@contextmanager
def refusals() -> Iterator[None]:
    """Turn every refusal of an upload into ``UploadRefused`` (the service's own too:
    ``NotAllowed`` is 403, a ``ValidationError`` 422 naming its fields), reading and dropping what
    is left of the body where answering politely is worth it. The caller's transaction must then
    be rolled back, which also deletes the blobs already written."""
    from app.errors import MESSAGES, Refusal
    from app.files.scanning import FileInfected
    from app.files.services import FileTooLarge
    from app.files.sniff import RejectedFile
    from app.files.storage import StorageError, StorageFull

    try:
        yield
    except FileTooLarge as exc:
        # Reading on through gigabytes to answer politely would cost more than a closed connection.
        raise UploadRefused(413, str(exc)) from None
    except FileInfected as exc:
        # Already audited by ``store_file``; the blob it began is gone.
        discard_rest()
        raise UploadRefused(422, str(exc), {"file": str(exc)}) from None
    except (UploadError, RejectedFile) as exc:
        discard_rest()
        raise UploadRefused(415 if isinstance(exc, RejectedFile) else 400, str(exc)) from None
    except Refusal as exc:
        discard_rest()
        raise UploadRefused(403, str(exc)) from None
    except ValidationError as exc:
        discard_rest()
        raise UploadRefused(422, " ".join(exc.fields.values()), exc.fields) from None
    except StorageFull:
        # Nothing of the file is kept (the store removed its partial blob); say so plainly.
        log.error("upload refused: the blob store is full")
        discard_rest()
        raise UploadRefused(507, str(MESSAGES[507][2])) from None
    except StorageError:
        discard_rest()
        raise UploadRefused(
            503, _("The file store is unavailable, so the file was not saved. Try again in a few minutes.")
        ) from None
