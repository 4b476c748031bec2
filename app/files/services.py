"""Storing, reading and shredding encrypted files; the one place blobs and data keys meet.

Callers (post attachments, meeting documents) hand ``store_file`` an iterator of plaintext
chunks straight from the request body; it sniffs the type from the first bytes, encrypts while
it streams into the blob store, and adds a ``StoredFile`` row to the current transaction.
The blob is tied to that transaction: if it rolls back, the blob is deleted; a shredded file's
blob is deleted only once the deletion is committed. ``storage sweep`` removes what a killed
process left behind.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session

from app import localtime
from app.audit.services import record_apart
from app.db import utcnow
from app.extensions import db
from app.files import crypto, scanning
from app.files.models import StoredFile
from app.files.pipeline import Behind
from app.files.sniff import SNIFF_BYTES, Kind, safe_filename, sniff
from app.files.storage import BlobMissing, BlobStore, StorageError, read_exact, store_from_url
from app.keys.sealed import SealError, keyring, seal, sealed_kek_id, unseal

log = logging.getLogger("pax.files")

#: Upload chunks waiting for encryption: bounds the memory an upload holds.
ENCRYPT_AHEAD = 4
#: Unfinished writes and unreferenced blobs younger than this are left alone by the sweep.
SWEEP_GRACE_SECONDS = 3600


class FileTooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(_("The file is larger than the %(size)s PAX accepts.", size=human_size(limit)))
        self.limit = limit


class FileTooLargeToScan(FileTooLarge):
    """Larger than the malware scanner takes (``PAX_CLAMD_MAX_BYTES``) while scanning is on."""

    def __init__(self, limit: int):
        super().__init__(limit)
        self.args = (
            _(
                "The malware scanner checks files of up to %(size)s; this one is larger, so it was not stored.",
                size=human_size(limit),
            ),
        )


class FileUnavailable(Exception):
    """The file cannot be served: ``reason`` is ``integrity``, ``key``, ``storage`` or ``scan``
    (waiting for its malware scan)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class BlobDamaged(FileUnavailable):
    """The blob is there but fails authentication or has the wrong length: it stays refused
    (``mark_damaged``) until ``storage verify`` finds it whole again."""

    def __init__(self, message: str):
        super().__init__("integrity", message)


@dataclass(frozen=True)
class FileMeta:
    filename: str
    media_type: str
    sha256: str


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "bytes" else f"{value:,.1f} {unit}".replace(".0 ", " ")
        value /= 1024
    raise AssertionError


# --- the application's blob store and the transaction hooks --------------------------------------


def init_app(app: Flask) -> None:
    app.extensions["pax_blobs"] = store_from_url(app.config["STORAGE_URL"], app.config.get("S3_ENDPOINT_URL"))


def blob_store() -> BlobStore:
    store: BlobStore = current_app.extensions["pax_blobs"]
    return store


_WRITTEN = "pax_blobs_written"
_DOOMED = "pax_blobs_doomed"


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    # Releasing a savepoint fires this too; the blobs are kept or dropped with the outermost one.
    if session.in_nested_transaction():
        return
    session.info.pop(_WRITTEN, None)
    for store, key in session.info.pop(_DOOMED, []):
        _delete_quietly(store, key)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: Any) -> None:
    if transaction.parent is not None:
        return
    # Still listed after the outermost transaction ended: it was not committed.
    for store, key in session.info.pop(_WRITTEN, []):
        _delete_quietly(store, key)
    session.info.pop(_DOOMED, None)


def _delete_quietly(store: BlobStore, key: str) -> None:
    try:
        store.delete(key)
    except StorageError:
        # The data key is gone already, so the blob is unreadable; the sweep removes it later.
        log.warning("blob %s could not be deleted now; storage sweep will remove it", key)


# --- writing -----------------------------------------------------------------------------------


def _with_head(chunks: Iterable[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The first ``SNIFF_BYTES`` (or all, if shorter) and an iterator over everything."""
    iterator = iter(chunks)
    head = bytearray()
    held: list[bytes] = []
    for chunk in iterator:
        held.append(chunk)
        head += chunk[: SNIFF_BYTES - len(head)]
        if len(head) >= SNIFF_BYTES:
            break

    def everything() -> Iterator[bytes]:
        yield from held
        yield from iterator

    return bytes(head), everything()


def store_file(
    kind: str,
    chunks: Iterable[bytes],
    filename: str,
    uploader: Any,
    max_bytes: int,
    target: tuple[str, Any] | None = None,
    flush: bool = True,
) -> tuple[StoredFile, FileMeta]:
    """Encrypt ``chunks`` into a new blob and add its ``StoredFile`` to the session (written at
    once, or with ``flush=False`` at the transaction's next flush: a form sending several files
    takes no write lock while the later ones arrive).

    With a scanner configured (``app.files.scanning``) the plaintext goes to clamd as it is
    encrypted: malware raises ``FileInfected`` (audited as a refused upload to ``target``, the
    item the file was for), a file clamd may not take raises ``FileTooLargeToScan``, and a scanner
    that gives no verdict leaves the file ``pending`` (stored, served to nobody).

    Raises ``RejectedFile`` (type or name refused, nothing written), ``FileTooLarge``,
    ``StorageError``, or whatever reading the chunks raises; in every case no blob remains.
    """
    name = safe_filename(filename)
    head, body = _with_head(chunks)
    file_kind: Kind = sniff(head, name)
    file_uuid = secrets.token_hex(16)
    dek = crypto.new_dek()
    digest = hashlib.sha256()
    record = StoredFile(uuid=file_uuid, kind=kind)
    store = blob_store()
    clamd = scanning.Clamd.configured()
    scan_limit = current_app.config["CLAMD_MAX_BYTES"]
    with store.writer(record.blob_key) as blob:
        scan = scanning.StreamScan(clamd) if clamd else None
        encryptor = crypto.SegmentEncryptor(dek, bytes.fromhex(file_uuid), blob.write)

        def take(chunk: bytes) -> None:
            digest.update(chunk)
            encryptor.update(chunk)
            if scan:
                scan.feed(chunk)

        received = 0
        try:
            # Hashing, AES-GCM, clamd and file writes release the GIL: they overlap the multipart parsing.
            with Behind(take, depth=ENCRYPT_AHEAD, name="pax-encrypt") as worker:
                for chunk in body:
                    received += len(chunk)
                    if received > max_bytes:
                        raise FileTooLarge(max_bytes)
                    if scan and received > scan_limit:
                        raise FileTooLargeToScan(scan_limit)
                    worker.put(chunk)
            encryptor.finish()
            status = scan.verdict() if scan else scanning.UNSCANNED
        except scanning.FileInfected as exc:
            log.warning("upload refused: clamd found %s in a %s file of user %s", exc.signature, kind, _id(uploader))
            record_apart(
                "file.upload_refused",
                actor=uploader,
                target=target,
                outcome="denied",
                kind=kind,
                reason="malware",
                signature=exc.signature,
                bytes=received,
            )
            raise
        finally:
            if scan:
                scan.close()
    db.session.info.setdefault(_WRITTEN, []).append((store, record.blob_key))
    if scan and scan.failure:
        log.warning("%s file %s held pending a malware scan: %s", kind, file_uuid, scan.failure)
    record.scan_status = status
    record.scanned_at = utcnow() if status == scanning.CLEAN else None
    meta = FileMeta(filename=name, media_type=file_kind.media_type, sha256=digest.hexdigest())
    record.size = encryptor.size
    record.wrapped_dek = seal(dek, _dek_context(file_uuid))
    record.kek_id = sealed_kek_id(record.wrapped_dek)
    record.meta_sealed = crypto.seal_meta(dek, bytes.fromhex(file_uuid), meta.__dict__)
    record.uploaded_by_id = getattr(uploader, "id", None)
    db.session.add(record)
    if flush:
        db.session.flush()
    return record, meta


def _id(user: Any) -> Any:
    return getattr(user, "id", None)


def _dek_context(file_uuid: str) -> str:
    return f"file-dek:{file_uuid}"


# --- reading -----------------------------------------------------------------------------------


def data_key(file: StoredFile) -> bytes:
    try:
        return unseal(file.wrapped_dek, _dek_context(file.uuid))
    except SealError:
        raise FileUnavailable(
            "key", "The file's key does not open: the key-encryption key is missing from the keyring or wrong."
        ) from None


def file_meta(file: StoredFile, dek: bytes | None = None) -> FileMeta:
    try:
        meta = crypto.open_meta(dek or data_key(file), bytes.fromhex(file.uuid), file.meta_sealed)
    except crypto.IntegrityError as exc:
        raise FileUnavailable("integrity", str(exc)) from None
    return FileMeta(filename=meta["filename"], media_type=meta["media_type"], sha256=meta["sha256"])


@dataclass
class OpenedFile:
    """A file checked as far as it can be before sending: key, header, length and first segment."""

    file: StoredFile
    meta: FileMeta
    start: int
    stop: int
    chunks: Iterator[bytes]

    @property
    def length(self) -> int:
        return self.stop - self.start


def open_file(
    file: StoredFile, start: int = 0, stop: int | None = None, despite_mark: bool = False, for_scan: bool = False
) -> OpenedFile:
    """Plaintext bytes ``start``..``stop`` of ``file``, decrypted segment by segment as they are read.

    Everything that can be checked before the first byte is: the data key, the metadata, the
    blob's exact length and header, and the first and the last segment of the range (the last
    is where truncation and damage to the end show). A segment in between that fails
    authentication raises ``BlobDamaged`` from the iterator, so a response streaming it is cut
    off instead of completed with bad data; the file is then marked damaged (``mark_damaged``),
    and every later request is refused here, before any byte, wherever the damage sits
    (``despite_mark`` reads it anyway: ``verify_blobs`` checking whether it was restored).

    A file waiting for its malware scan is refused (``scan``) whoever asks, as the read paths'
    queries already leave it out; only the scanner (``for_scan``) and ``verify_blobs`` read it.
    """
    if file.waiting_for_scan and not for_scan:
        raise FileUnavailable("scan", "The file is waiting for a malware scan.")
    if file.damaged_at is not None and not despite_mark:
        when = localtime.format_datetime(file.damaged_at, with_zone=True)
        raise FileUnavailable(
            "integrity",
            f"The stored copy of this file failed its integrity check on {when}, so PAX does not serve it. "
            "Ask whoever shared it to upload it again.",
        )
    stop = file.size if stop is None else stop
    dek = data_key(file)
    meta = file_meta(file, dek)
    store = blob_store()
    key = file.blob_key
    try:
        stored = store.size(key)
        reader = store.open(key)
        header = crypto.Header.parse(read_exact(reader, crypto.HEADER_SIZE))
    except BlobMissing:
        raise FileUnavailable("integrity", "The file's encrypted blob is missing from storage.") from None
    except StorageError as exc:
        raise FileUnavailable("storage", f"The file store cannot be read: {exc}") from None
    except crypto.IntegrityError as exc:
        raise BlobDamaged(str(exc)) from None
    if stored != crypto.blob_size(file.size, header.segment_size):
        reader.close()
        raise BlobDamaged("The file's encrypted blob has the wrong length (truncated or extended).")
    decryptor = crypto.SegmentDecryptor(dek, bytes.fromhex(file.uuid), header, file.size)
    segment = header.segment_size
    first = start // segment
    last = max(first, (stop - 1) // segment) if stop > start else first
    if first:
        reader.close()
        try:
            reader = store.open(key, decryptor.offset_of(first))
        except StorageError as exc:
            raise FileUnavailable("storage", f"The file store cannot be read: {exc}") from None
    segments = crypto.decrypt_stream(decryptor, lambda n: read_exact(reader, n), first, last)
    try:
        opening = next(segments)
        if last > first:
            _check_segment(store, key, decryptor, last)
    except crypto.IntegrityError as exc:
        reader.close()
        raise BlobDamaged(str(exc)) from None
    except StorageError as exc:
        reader.close()
        raise FileUnavailable("storage", str(exc)) from None

    def plaintext() -> Iterator[bytes]:
        try:
            offset = first * segment
            chunk: bytes = opening
            index = first
            while True:
                lo = max(start - offset, 0)
                hi = min(stop - offset, len(chunk))
                if hi > lo:
                    yield chunk if (lo == 0 and hi == len(chunk)) else chunk[lo:hi]
                index += 1
                offset += segment
                if index > last:
                    return
                try:
                    chunk = next(segments)
                except crypto.IntegrityError as exc:
                    raise BlobDamaged(str(exc)) from None
                except StorageError as exc:
                    raise FileUnavailable("storage", str(exc)) from None
        finally:
            reader.close()

    return OpenedFile(file=file, meta=meta, start=start, stop=stop, chunks=plaintext())


def _check_segment(store: BlobStore, key: str, decryptor: crypto.SegmentDecryptor, index: int) -> None:
    """Authenticate segment ``index`` of the blob on its own (``IntegrityError`` if it fails)."""
    reader = store.open(key, decryptor.offset_of(index))
    try:
        decryptor.decrypt(index, read_exact(reader, decryptor.header.stored_segment_size))
    finally:
        reader.close()


def read_all(file: StoredFile) -> bytes:
    """The whole plaintext; for tests and small files only."""
    return b"".join(open_file(file).chunks)


# --- shredding and sweeping --------------------------------------------------------------------


def shred_files(files: Iterable[StoredFile]) -> int:
    """Delete the files' rows (their wrapped data keys) now and their blobs once that is committed."""
    store = blob_store()
    count = 0
    for file in files:
        db.session.info.setdefault(_DOOMED, []).append((store, file.blob_key))
        db.session.delete(file)
        count += 1
    db.session.flush()
    return count


def sweep(grace_seconds: int = SWEEP_GRACE_SECONDS) -> dict[str, int]:
    """Remove unfinished writes, blobs no file row names and stamping directories a killed worker
    left behind, older than the grace period."""
    from app.files.watermark import sweep_stale

    store = blob_store()
    cutoff = time.time() - grace_seconds
    unfinished = store.sweep_unfinished(cutoff)
    known = set(db.session.scalars(sa.select(StoredFile.kind + "/" + StoredFile.uuid)))
    orphans = 0
    for key, modified in list(store.list_blobs()):
        if key not in known and modified < cutoff:
            store.delete(key)
            orphans += 1
    stamping = sweep_stale(current_app.config.get("STAMP_TEMP_DIR"), cutoff)
    return {"unfinished": unfinished, "orphans": orphans, "stamping": stamping}


def mark_damaged(file_id: int) -> None:
    """Remember that the file's blob failed authentication: from now on it is refused before any
    byte. Kept in a transaction of its own, as the request that found the damage fails."""
    try:
        _set_damage_marks(damaged=[file_id], restored=[])
    except Exception:
        log.exception("could not mark file %s damaged", file_id)


def _set_damage_marks(damaged: list[int], restored: list[int]) -> None:
    """Mark ``damaged`` files (keeping the date of an earlier mark) and clear ``restored`` ones, in
    a short transaction of its own: no lock is held while blobs are read."""
    with db.independent_transaction() as session:
        if damaged:
            session.execute(
                sa.update(StoredFile)
                .where(StoredFile.id.in_(damaged), StoredFile.damaged_at.is_(None))
                .values(damaged_at=utcnow())
            )
        if restored:
            session.execute(sa.update(StoredFile).where(StoredFile.id.in_(restored)).values(damaged_at=None))


@dataclass
class VerifyResult:
    checked: int = 0
    damaged: list[int] = field(default_factory=list)
    restored: list[int] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)


def verify_blobs(batch_size: int = 100) -> VerifyResult:
    """Authenticate every stored file's whole blob (a scrub): mark the damaged ones, so they are
    refused before any byte, and clear the mark of those that verify again (restored from a
    backup). A blob the store cannot read now (``StorageError``) is reported, not marked. The
    marks of each batch are written in a short transaction of their own after its blobs are read."""
    result = VerifyResult()
    last_id = 0
    while True:
        files = db.session.scalars(
            sa.select(StoredFile).where(StoredFile.id > last_id).order_by(StoredFile.id).limit(batch_size)
        ).all()
        if not files:
            return result
        last_id = files[-1].id
        damaged: list[int] = []
        restored: list[int] = []
        for file in files:
            result.checked += 1
            try:
                for _chunk in open_file(file, despite_mark=True, for_scan=True).chunks:
                    pass
            except BlobDamaged:
                damaged.append(file.id)
            except FileUnavailable as exc:
                # A missing blob is damage too, but nothing to mark: the file answers so anyway.
                (result.damaged if exc.reason == "integrity" else result.unreadable).append(file.id)
            else:
                if file.damaged_at is not None:
                    restored.append(file.id)
        result.damaged += damaged
        result.restored += restored
        if damaged or restored:
            _set_damage_marks(damaged, restored)


def kek_usage() -> dict[str, int]:
    """How many data keys each KEK wraps."""
    rows = db.session.execute(sa.select(StoredFile.kek_id, sa.func.count()).group_by(StoredFile.kek_id))
    return {kid: count for kid, count in rows}


def rewrap_batch(batch_size: int) -> int:
    """Rewrap up to ``batch_size`` data keys not yet under the active KEK; returns how many."""
    ring = keyring()
    active = ring.active_kek_id
    files = db.session.scalars(
        sa.select(StoredFile).where(StoredFile.kek_id != active).order_by(StoredFile.id).limit(batch_size)
    ).all()
    for file in files:
        file.wrapped_dek = seal(data_key(file), _dek_context(file.uuid), ring)
        file.kek_id = sealed_kek_id(file.wrapped_dek)
    db.session.flush()
    return len(files)
