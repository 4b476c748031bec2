"""Encrypted file storage on both backends (local directory and S3 via moto's server).

Round trips at the sizes where segment arithmetic goes wrong, every way a blob can be damaged or
swapped, wrong and missing keys, crypto-shredding, and the unfinished-write sweep.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.files import crypto
from app.files.models import StoredFile
from app.files.services import (
    FileUnavailable,
    blob_store,
    open_file,
    read_all,
    shred_files,
    store_file,
    sweep,
)
from app.keys.sealed import keyring

SEG = crypto.SEGMENT_SIZE
SIZES = [0, 1, SEG - 1, SEG, SEG + 1, 5 * 1024 * 1024 + 3]


def text_bytes(size: int) -> bytes:
    """Random but printable (the type sniffer accepts it as text)."""
    return os.urandom(size // 2 + 1).hex().encode()[:size]


def chunked(data: bytes, sizes: tuple[int, ...] = (1, 7000, SEG, 3 * SEG + 11)) -> Iterator[bytes]:
    """Pieces of awkward sizes, as a network would hand them over."""
    offset, turn = 0, 0
    while offset < len(data):
        step = sizes[turn % len(sizes)]
        yield data[offset : offset + step]
        offset += step
        turn += 1


def stored(data: bytes, name: str = "report.txt") -> StoredFile:
    record, _meta = store_file("attachment", chunked(data), name, None, 10**10)
    db.session.commit()
    return record


def blob(record: StoredFile) -> bytes:
    reader = blob_store().open(record.blob_key)
    try:
        return reader.read(10**9)
    finally:
        reader.close()


def replace_blob(record: StoredFile, data: bytes) -> None:
    with blob_store().writer(record.blob_key) as writer:
        writer.write(data)


@pytest.mark.parametrize("size", SIZES)
def test_round_trip_at_segment_edges(files_app: Flask, size: int) -> None:
    data = text_bytes(size)
    record = stored(data)
    assert record.size == size
    assert blob_store().size(record.blob_key) == crypto.blob_size(size)
    assert read_all(record) == data
    # A range starting and ending inside segments decrypts only what it needs and cuts exactly.
    if size > 2:
        start, stop = size // 3, size - size // 4
        assert b"".join(open_file(record, start, stop).chunks) == data[start:stop]


def test_blob_holds_no_plaintext(files_app: Flask) -> None:
    marker = f"PAX-PLAINTEXT-{secrets.token_hex(8)}".encode()
    record = stored(marker * 5000)
    raw = blob(record)
    assert marker not in raw
    assert raw.startswith(crypto.MAGIC)


def _segment(record: StoredFile, index: int) -> slice:
    start = crypto.HEADER_SIZE + index * (SEG + crypto.TAG_SIZE)
    return slice(start, start + SEG + crypto.TAG_SIZE)


def _three_segments(files_app: Flask) -> tuple[StoredFile, bytes, bytes]:
    data = text_bytes(2 * SEG + 100)
    record = stored(data)
    return record, data, blob(record)


def test_truncated_blob_is_refused_before_any_byte(files_app: Flask) -> None:
    record, _data, raw = _three_segments(files_app)
    replace_blob(record, raw[:-10])
    with pytest.raises(FileUnavailable) as failure:
        open_file(record)
    assert failure.value.reason == "integrity"


def test_truncation_at_a_segment_boundary_is_detected_by_the_last_flag(files_app: Flask) -> None:
    """Cut the last segment and make the recorded size agree: the new last segment was not sealed as last."""
    record, data, raw = _three_segments(files_app)
    replace_blob(record, raw[: _segment(record, 2).start])
    record.size = 2 * SEG
    db.session.commit()
    with pytest.raises(FileUnavailable):
        b"".join(open_file(record).chunks)
    # Reading only the first segment is still fine: it is authentic.
    assert b"".join(open_file(record, 0, 100).chunks) == data[:100]


def test_extended_blob_is_refused(files_app: Flask) -> None:
    record, _data, raw = _three_segments(files_app)
    replace_blob(record, raw + raw[_segment(record, 1)])
    with pytest.raises(FileUnavailable):
        open_file(record)


def test_corrupted_first_segment_is_refused_before_any_byte(files_app: Flask) -> None:
    record, _data, raw = _three_segments(files_app)
    damaged = bytearray(raw)
    damaged[crypto.HEADER_SIZE + 5] ^= 0x01
    replace_blob(record, bytes(damaged))
    with pytest.raises(FileUnavailable) as failure:
        open_file(record)
    assert failure.value.reason == "integrity"


def test_corrupted_later_segment_stops_the_stream_after_the_good_ones(files_app: Flask) -> None:
    record, data, raw = _three_segments(files_app)
    damaged = bytearray(raw)
    damaged[_segment(record, 1).start + 100] ^= 0x80
    replace_blob(record, bytes(damaged))
    opened = open_file(record)
    received = b""
    with pytest.raises(FileUnavailable):
        for chunk in opened.chunks:
            received += chunk
    assert received == data[:SEG]  # only the authenticated first segment came out


def test_reordered_segments_are_detected(files_app: Flask) -> None:
    record, _data, raw = _three_segments(files_app)
    first, second = raw[_segment(record, 0)], raw[_segment(record, 1)]
    swapped = raw[: crypto.HEADER_SIZE] + second + first + raw[_segment(record, 2).start :]
    replace_blob(record, swapped)
    with pytest.raises(FileUnavailable):
        b"".join(open_file(record).chunks)


def test_blob_swapped_between_files_is_detected(files_app: Flask) -> None:
    data = text_bytes(SEG + 10)
    one, other = stored(data), stored(text_bytes(SEG + 10))
    replace_blob(other, blob(one))  # same length, valid ciphertext, wrong file
    with pytest.raises(FileUnavailable):
        open_file(other)
    assert read_all(one) == data


def test_edited_header_is_detected(files_app: Flask) -> None:
    record, _data, raw = _three_segments(files_app)
    header = bytearray(raw[: crypto.HEADER_SIZE])
    header[-1] ^= 0x01  # the nonce prefix
    replace_blob(record, bytes(header) + raw[crypto.HEADER_SIZE :])
    with pytest.raises(FileUnavailable):
        open_file(record)
    header = bytearray(raw[: crypto.HEADER_SIZE])
    header[4] = 99  # an unknown format version
    replace_blob(record, bytes(header) + raw[crypto.HEADER_SIZE :])
    with pytest.raises(FileUnavailable):
        open_file(record)


def test_missing_blob_is_a_clear_error(files_app: Flask) -> None:
    record = stored(b"some text")
    blob_store().delete(record.blob_key)
    with pytest.raises(FileUnavailable, match="missing"):
        open_file(record)


def test_missing_or_wrong_kek_is_a_key_error(files_app: Flask) -> None:
    data = b"shift roster for quay 1742"
    record = stored(data)
    real = record.wrapped_dek
    prefix, kid, payload = real.split(".", 2)
    ring = keyring()
    if ring.kind == "file":
        # The keyring file holds another key under the same id.
        saved = ring.keks[kid]
        ring.keks[kid] = os.urandom(32)
        with pytest.raises(FileUnavailable) as failure:
            open_file(record)
        assert failure.value.reason == "key"
        ring.keks[kid] = saved
    # A KEK the backend does not hold, and a wrapped key that was tampered with.
    for wrapped in (f"{prefix}.{kid[:-6]}000000.{payload}", f"{prefix}.{kid}.{payload[:-4]}AAAA"):
        record.wrapped_dek = wrapped
        with pytest.raises(FileUnavailable) as failure:
            open_file(record)
        assert failure.value.reason == "key"
    record.wrapped_dek = real
    assert read_all(record) == data


def test_wrapped_key_moved_to_another_file_does_not_open(files_app: Flask) -> None:
    one, other = stored(b"first file"), stored(b"other file")
    other.wrapped_dek = one.wrapped_dek
    db.session.commit()
    with pytest.raises(FileUnavailable):
        open_file(other)


def test_crypto_shred_leaves_nothing_decryptable(files_app: Flask) -> None:
    data = text_bytes(SEG * 2)
    record = stored(data)
    backup = blob(record)  # a backup taken before the deletion
    key, uuid = record.blob_key, record.uuid
    shred_files([record])
    db.session.commit()
    assert db.session.scalar(sa.select(StoredFile).where(StoredFile.uuid == uuid)) is None
    assert key not in {k for k, _ in blob_store().list_blobs()}
    # No data key left in the database opens the backup's first segment, under any KEK.
    header = crypto.Header.parse(backup[: crypto.HEADER_SIZE])
    for wrapped, other_uuid in db.session.execute(sa.select(StoredFile.wrapped_dek, StoredFile.uuid)):
        from app.keys.sealed import unseal

        dek = unseal(wrapped, f"file-dek:{other_uuid}")
        decryptor = crypto.SegmentDecryptor(dek, bytes.fromhex(uuid), header, len(data))
        with pytest.raises(crypto.IntegrityError):
            decryptor.decrypt(0, backup[crypto.HEADER_SIZE : crypto.HEADER_SIZE + SEG + crypto.TAG_SIZE])


def test_shred_is_undone_with_its_transaction(files_app: Flask) -> None:
    """A deletion that rolls back keeps the file whole: the blob goes only after the commit."""
    data = b"keep me"
    record = stored(data)
    shred_files([record])
    db.session.rollback()
    assert read_all(db.session.get(StoredFile, record.id)) == data


def test_write_rolled_back_leaves_no_blob(files_app: Flask) -> None:
    before = {k for k, _ in blob_store().list_blobs()}
    record, _meta = store_file("attachment", [b"never committed"], "a.txt", None, 10**6)
    assert record.blob_key in {k for k, _ in blob_store().list_blobs()}
    db.session.rollback()
    assert {k for k, _ in blob_store().list_blobs()} == before


def test_failed_write_leaves_nothing(files_app: Flask) -> None:
    def broken() -> Iterator[bytes]:
        yield b"a" * (9 * 1024 * 1024)  # past one S3 part, so a multipart upload is under way
        raise ConnectionResetError("client went away")

    before = {k for k, _ in blob_store().list_blobs()}
    with pytest.raises(ConnectionResetError):
        store_file("attachment", broken(), "a.txt", None, 10**9)
    db.session.rollback()
    assert {k for k, _ in blob_store().list_blobs()} == before
    assert sweep(grace_seconds=0)["unfinished"] == 0  # the aborted write was cleaned up at once


def test_sweep_removes_orphans_and_unfinished_writes(files_app: Flask) -> None:
    kept = stored(b"kept")
    store = blob_store()
    orphan = f"attachment/{secrets.token_hex(16)}"
    with store.writer(orphan) as writer:
        writer.write(b"left by a killed process")
    unfinished = store.writer(f"attachment/{secrets.token_hex(16)}")
    writer = unfinished.__enter__()
    writer.write(b"x" * (9 * 1024 * 1024))
    if hasattr(writer, "_flush"):
        writer._flush()  # S3: a multipart upload exists with one part
    young = sweep()
    assert young["orphans"] == 0  # younger than the grace period: left alone
    result = sweep(grace_seconds=-60)
    assert result["orphans"] == 1
    # moto dates every multipart upload in 2010, so on S3 the first sweep already removed it.
    assert young["unfinished"] + result["unfinished"] == 1
    assert {k for k, _ in store.list_blobs()} == {kept.blob_key}
    assert read_all(kept) == b"kept"
    with contextlib.suppress(Exception):
        unfinished.__exit__(RuntimeError, RuntimeError("abandoned"), None)


def test_blob_keys_cannot_name_paths(files_app: Flask) -> None:
    store = blob_store()
    for key in ["../etc/passwd", "attachment/../../x", "attachment/" + "0" * 31 + "/", "/abs"]:
        with pytest.raises(ValueError):
            store.size(key)
