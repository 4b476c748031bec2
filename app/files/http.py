"""Sending a stored file over HTTP: streamed, with Range support, audited, never unauthenticated.

The response starts only after ``open_file`` has checked the key, the blob's length and header
and the first and last segments of the range, and after the first write (1 MiB) is decrypted; a
range of up to ``VERIFIED_WHOLE_UP_TO`` is authenticated whole first. Damage there is the
portal's clean error page or JSON body. In a longer range, a segment in between that fails
authentication ends the stream early: the client sees a body shorter than its Content-Length
(an error), never bad bytes; the file is marked damaged, so every later request for it gets the
clean error before any byte (as after ``storage verify``).
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from flask import Response, current_app, request

from app.audit import alerts
from app.audit.services import record, record_apart
from app.files.models import StoredFile
from app.files.pipeline import ahead
from app.files.services import BlobDamaged, FileMeta, FileUnavailable, file_meta, mark_damaged, open_file
from app.files.watermark import STAMPED_TLPS, Stamp, StampFailed, needs_stamp, new_reference, stamped_copy
from app.markings import Tlp

log = logging.getLogger("pax.files")

#: Bytes handed to the server per write: fewer, larger writes are much faster than 64 KiB ones.
WRITE_SIZE = 1024 * 1024


#: Writes decrypted ahead of the one being sent: bounds the memory a download holds.
AHEAD = 2

#: Downloads of up to this many bytes are authenticated whole before the status line (one extra
#: decryption, a few milliseconds at this size, plaintext discarded), so damage anywhere in them
#: is the clean error; a longer one relies on the first write, its last segment and the damage mark.
VERIFIED_WHOLE_UP_TO = 64 * 1024 * 1024


def decrypted_ahead(chunks: Iterator[bytes], write_size: int = WRITE_SIZE) -> Iterator[bytes]:
    """``chunks`` regrouped into ``write_size`` pieces, decrypted by a thread while the server sends.

    AES-GCM and socket writes both release the GIL, so on two cores decryption overlaps the
    sending instead of adding to it (``app.files.pipeline.ahead``: errors in order, a consumer
    that stops early stops the thread).
    """
    return ahead(chunks, write_size, depth=AHEAD, name="pax-decrypt-ahead")


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """RFC 6266: an ASCII fallback and the UTF-8 name (RFC 5987)."""
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode() or "file"
    fallback = fallback.replace("\\", "_").replace('"', "_")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _requested_range(size: int, etag: str) -> tuple[int, int] | str | None:
    """(start, stop) for a satisfiable single range, None for the whole file, "unsatisfiable" for 416."""
    if "Range" not in request.headers:
        return None
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != etag:
        return None
    wanted = request.range
    if wanted is None or wanted.units != "bytes" or len(wanted.ranges) != 1:
        return None  # malformed or several ranges: the whole file, as RFC 9110 allows
    span = wanted.range_for_length(size)
    return "unsatisfiable" if span is None else span


def failure(file: StoredFile, exc: FileUnavailable, actor: Any, target: tuple[str, Any], source: str | None) -> None:
    """Log and audit a file that could not be served; the caller then answers with the error."""
    log.error("file %s of %s %s not served: %s", file.id, target[0], target[1], exc)
    record_apart(
        f"file.{exc.reason}_failure", actor=actor, target=target, source=source, file_id=file.id, reason=str(exc)
    )
    if isinstance(exc, BlobDamaged):
        mark_damaged(file.id)


def send_stored_file(
    file: StoredFile,
    *,
    actor: Any,
    target: tuple[str, Any],
    action: str,
    target_org: Any = None,
    filename: str | None = None,
    tlp: Tlp | None = None,
    **details: Any,
) -> Response:
    """The file as an attachment download; one ``action`` audit event with the bytes sent,
    naming ``target_org`` (the organisation whose item it is) so that organisation sees it.
    ``filename``: the name to save it under instead of the uploaded one (already cleaned).
    ``tlp``: the marking the file is read under; a PDF marked AMBER or stricter is sent as a
    copy stamped for ``actor`` (``send_stamped_copy``)."""
    if tlp is not None and tlp in STAMPED_TLPS:
        try:
            meta = file_meta(file)
        except FileUnavailable as exc:
            failure(file, exc, actor, target, request.remote_addr)
            raise
        if needs_stamp(tlp, meta.media_type):
            return send_stamped_copy(
                file,
                meta,
                tlp,
                actor=actor,
                target=target,
                action=action,
                target_org=target_org,
                filename=filename,
                **details,
            )
    etag = f'"{file.uuid}"'
    span = _requested_range(file.size, etag)
    if span == "unsatisfiable":
        response = Response(status=416)
        response.headers["Content-Range"] = f"bytes */{file.size}"
        return response
    start, stop = span if isinstance(span, tuple) else (0, file.size)
    try:
        if stop - start <= VERIFIED_WHOLE_UP_TO:
            for _piece in open_file(file, start, stop).chunks:
                pass
        opened = open_file(file, start, stop)
        pieces = decrypted_ahead(opened.chunks)
        # Decrypted before the status line is sent: an error in it is still a clean answer.
        first_piece = next(pieces, b"")
    except FileUnavailable as exc:
        failure(file, exc, actor, target, request.remote_addr)
        raise
    # The body is sent after the request context is gone: take what the audit needs now.
    source = request.remote_addr
    record(
        action,
        actor=actor,
        target=target,
        target_org=target_org,
        file_id=file.id,
        bytes=opened.length,
        offset=start,
        **details,
    )
    if start == 0:
        # A download counts once towards the downloads alert, not each range a viewer reads.
        alerts.downloaded(actor)

    def body() -> Iterator[bytes]:
        try:
            if first_piece:
                yield first_piece
            yield from pieces
        except FileUnavailable as exc:
            failure(file, exc, actor, target, source)
            raise

    response = Response(
        body(),
        status=206 if isinstance(span, tuple) else 200,
        mimetype=opened.meta.media_type,
        direct_passthrough=True,
    )
    # A body never iterated (the client went away first) still stops the decrypting thread.
    response.call_on_close(pieces.close)
    headers = response.headers
    headers["Content-Length"] = str(opened.length)
    headers["Content-Disposition"] = content_disposition(filename or opened.meta.filename)
    headers["Accept-Ranges"] = "bytes"
    headers["ETag"] = etag
    headers["Cache-Control"] = "private, no-store"
    # Even opened in the browser by mistake, the file runs no script and loads nothing.
    headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    if isinstance(span, tuple):
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{file.size}"
    return response


def stamp_for(actor: Any, tlp: Tlp) -> Stamp:
    """The stamp a copy read by ``actor`` under ``tlp`` carries, with a new reference."""
    organisation = getattr(getattr(actor, "organisation", None), "name", "")
    return Stamp(Tlp(tlp), actor.name, organisation, datetime.now(UTC).date(), new_reference())


def make_stamped_copy(file: StoredFile, stamp: Stamp, actor: Any, target: tuple[str, Any], source: str | None) -> Any:
    """The file decrypted and stamped (``app.files.watermark.stamped_copy``); a failure is logged
    and audited and raised as ``FileUnavailable`` (``stamp``: the PDF does not open for stamping)."""
    try:
        return stamped_copy(
            open_file(file).chunks, stamp, current_app.config["STAMP_TEMP_DIR"], current_app.config["STAMP_FONT"]
        )
    except FileUnavailable as exc:
        failure(file, exc, actor, target, source)
        raise
    except StampFailed as exc:
        refused = FileUnavailable("stamp", f"the PDF could not be stamped ({exc})")
        failure(file, refused, actor, target, source)
        raise refused from None


def send_stamped_copy(
    file: StoredFile,
    meta: FileMeta,
    tlp: Tlp,
    *,
    actor: Any,
    target: tuple[str, Any],
    action: str,
    target_org: Any = None,
    filename: str | None = None,
    **details: Any,
) -> Response:
    """A PDF stamped on every page for ``actor`` (``app.files.watermark``), whole (no ranges: each
    copy is its own), with the ``action`` audit event recording the stamp's reference and the
    stamped copy's digest, so ``audit trace`` finds this download from a leaked copy."""
    stamp = stamp_for(actor, tlp)
    copy = make_stamped_copy(file, stamp, actor, target, request.remote_addr)
    record(
        action,
        actor=actor,
        target=target,
        target_org=target_org,
        file_id=file.id,
        bytes=copy.size,
        offset=0,
        watermark=stamp.reference,
        stamped_sha256=copy.sha256,
        tlp=Tlp(tlp).value,
        **details,
    )
    alerts.downloaded(actor)
    response = Response(copy.chunks(), status=200, mimetype=meta.media_type, direct_passthrough=True)
    response.call_on_close(copy.close)
    headers = response.headers
    headers["Content-Length"] = str(copy.size)
    headers["Content-Disposition"] = content_disposition(filename or meta.filename)
    headers["Accept-Ranges"] = "none"
    headers["Cache-Control"] = "private, no-store"
    headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    headers["X-Pax-Watermark"] = stamp.reference
    return response
