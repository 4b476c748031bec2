"""Envelope encryption of stored files: a streaming AEAD over AES-256-GCM segments.

Blob format, version 1 (never change it in place: a new version gets a new number and this
one keeps decrypting, ``tests/fixtures/files-v1`` holds a blob of it):

    header   = b"PAXF" | version (1 byte) | segment size (4 bytes, big-endian) | nonce prefix (7 random bytes)
    segment  = AES-256-GCM(DEK, nonce, plaintext segment, aad) = ciphertext | 16-byte tag
    nonce    = nonce prefix (7) | segment index (4, big-endian) | last-segment flag (1: 0x01 last, 0x00 not)
    aad      = b"pax-file-v1:" | file uuid (16 bytes) | header

Every segment but the last holds exactly ``segment size`` plaintext bytes; the last holds 0 to
``segment size`` (a zero-byte file is one empty last segment). The index in the nonce detects
reordering and dropped segments, the last-segment flag detects truncation at a segment
boundary, the file's uuid in the associated data detects a blob swapped between files, and the
header in the associated data detects an edited header. This is the construction of
Hoang, Reyhanitabar, Rogaway and Vizár's "online AE" (as in Tink's AES-GCM streaming AEAD),
built only from ``cryptography``'s AESGCM.

The DEK is wrapped with AES-256-GCM under a KEK (``app.keys.sealed``, the file uuid bound as
context), and the file's name, media type and digest are encrypted under the DEK itself, so
destroying the wrapped DEK shreds the name with the content.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"PAXF"
VERSION = 1
SEGMENT_SIZE = 64 * 1024
TAG_SIZE = 16
PREFIX_SIZE = 7
HEADER_SIZE = len(MAGIC) + 1 + 4 + PREFIX_SIZE
_HEADER = struct.Struct(">4sBI7s")
_AAD_LABEL = b"pax-file-v1:"
_META_LABEL = b"pax-file-meta-v1:"
#: Segment sizes a reader accepts from a header: a forged header cannot make it allocate gigabytes.
_SEGMENT_SIZES = range(4 * 1024, 4 * 1024 * 1024 + 1)


class IntegrityError(Exception):
    """The blob is not what was stored: truncated, extended, corrupted, reordered or swapped."""


def new_dek() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def segment_count(size: int, segment_size: int = SEGMENT_SIZE) -> int:
    return max(1, -(-size // segment_size))


def blob_size(size: int, segment_size: int = SEGMENT_SIZE) -> int:
    """The exact stored size of a ``size``-byte plaintext."""
    return HEADER_SIZE + size + segment_count(size, segment_size) * TAG_SIZE


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index >= 2**32:
        raise ValueError("file too large for one stream")
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


@dataclass(frozen=True)
class Header:
    segment_size: int
    nonce_prefix: bytes
    raw: bytes

    @classmethod
    def new(cls, segment_size: int = SEGMENT_SIZE) -> Header:
        prefix = os.urandom(PREFIX_SIZE)
        return cls(segment_size, prefix, _HEADER.pack(MAGIC, VERSION, segment_size, prefix))

    @classmethod
    def parse(cls, raw: bytes) -> Header:
        if len(raw) != HEADER_SIZE:
            raise IntegrityError("the blob is shorter than its header")
        magic, version, segment_size, prefix = _HEADER.unpack(raw)
        if magic != MAGIC or version != VERSION or segment_size not in _SEGMENT_SIZES:
            raise IntegrityError("the blob's header is not a PAX file header of a known version")
        return cls(segment_size, prefix, raw)

    def aad(self, file_uuid: bytes) -> bytes:
        return _AAD_LABEL + file_uuid + self.raw

    @property
    def stored_segment_size(self) -> int:
        return self.segment_size + TAG_SIZE


class SegmentEncryptor:
    """Takes plaintext in pieces of any size and hands encrypted segments to ``sink``.

    A full segment is held back until more data arrives, so the last one can be flagged when
    ``finish`` is called without knowing the length in advance. Output goes through one reused
    buffer (``encrypt_into``): ``sink`` must consume or copy it before returning.
    """

    def __init__(
        self, dek: bytes, file_uuid: bytes, sink: Callable[[memoryview], Any], segment_size: int = SEGMENT_SIZE
    ):
        self.header = Header.new(segment_size)
        self._aead = AESGCM(dek)
        self._aad = self.header.aad(file_uuid)
        self._sink = sink
        self._segment_size = segment_size
        self._pending = bytearray()
        self._out = bytearray(segment_size + TAG_SIZE)
        self._index = 0
        self.size = 0
        sink(memoryview(self.header.raw))

    def _emit(self, data: bytes | bytearray | memoryview, last: bool) -> None:
        out = memoryview(self._out)[: len(data) + TAG_SIZE]
        self._aead.encrypt_into(_nonce(self.header.nonce_prefix, self._index, last), data, self._aad, out)
        self._sink(out)
        self._index += 1

    def update(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        self.size += len(view)
        segment = self._segment_size
        while view:
            if len(self._pending) == segment:
                self._emit(self._pending, last=False)
                self._pending.clear()
            if not self._pending and len(view) > segment:
                # Whole segments straight from the caller's buffer; one is kept back as a possible last.
                self._emit(view[:segment], last=False)
                view = view[segment:]
                continue
            take = segment - len(self._pending)
            self._pending += view[:take]
            view = view[take:]

    def finish(self) -> None:
        self._emit(self._pending, last=True)
        self._pending.clear()


class SegmentDecryptor:
    """Opens the segments of one blob; each is authenticated before a byte of it is returned."""

    def __init__(self, dek: bytes, file_uuid: bytes, header: Header, size: int):
        self.header = header
        self.size = size
        self.count = segment_count(size, header.segment_size)
        self._aead = AESGCM(dek)
        self._aad = header.aad(file_uuid)

    def offset_of(self, index: int) -> int:
        """Where segment ``index`` starts in the blob."""
        return HEADER_SIZE + index * self.header.stored_segment_size

    def decrypt(self, index: int, ciphertext: bytes | bytearray | memoryview) -> bytes:
        last = index == self.count - 1
        expected = (self.size - index * self.header.segment_size if last else self.header.segment_size) + TAG_SIZE
        if len(ciphertext) != expected:
            raise IntegrityError(f"segment {index} of the blob is truncated")
        try:
            return self._aead.decrypt(_nonce(self.header.nonce_prefix, index, last), ciphertext, self._aad)
        except InvalidTag:
            raise IntegrityError(f"segment {index} of the blob fails authentication") from None


def decrypt_stream(
    decryptor: SegmentDecryptor, read: Callable[[int], bytes], first: int = 0, last: int | None = None
) -> Iterator[bytes]:
    """Plaintext of segments ``first``..``last`` from ``read`` (positioned at segment ``first``)."""
    last = decryptor.count - 1 if last is None else last
    stored = decryptor.header.stored_segment_size
    for index in range(first, last + 1):
        yield decryptor.decrypt(index, read(stored))


def seal_meta(dek: bytes, file_uuid: bytes, meta: dict[str, Any]) -> bytes:
    nonce = os.urandom(12)
    payload = json.dumps(meta, separators=(",", ":"), sort_keys=True).encode()
    return nonce + AESGCM(dek).encrypt(nonce, payload, _META_LABEL + file_uuid)


def open_meta(dek: bytes, file_uuid: bytes, sealed: bytes) -> dict[str, Any]:
    try:
        payload = AESGCM(dek).decrypt(sealed[:12], sealed[12:], _META_LABEL + file_uuid)
    except (InvalidTag, ValueError):
        raise IntegrityError("the file's encrypted name and type do not open") from None
    meta: dict[str, Any] = json.loads(payload)
    return meta
