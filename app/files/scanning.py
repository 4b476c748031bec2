"""Malware scanning of uploads by ClamAV's clamd, spoken to over its socket.

With ``PAX_CLAMD_ADDRESS`` set (a unix socket path, or ``host:port``), ``store_file`` streams
every upload's plaintext to clamd (``zINSTREAM``: 4-byte big-endian chunk lengths, a zero
length at the end) while it encrypts it, so nothing is written in clear anywhere. The verdict
decides what becomes of the file:

- ``stream: OK``: stored ``clean`` and visible;
- ``stream: <signature> FOUND``: ``FileInfected``; nothing is stored;
- clamd unreachable, too slow (``PAX_CLAMD_TIMEOUT_SECONDS``) or answering an error: stored,
  encrypted, but ``pending``: nobody may download it and only its uploader sees it listed,
  until ``flask storage rescan`` finds clamd back and scans it;
- larger than ``PAX_CLAMD_MAX_BYTES`` (clamd's ``StreamMaxLength``, 25 MiB by default, refuses
  more): ``app.files.services.FileTooLargeToScan`` (413); nothing is stored.

Without the setting files are stored ``unscanned`` and visible, as before scanning existed.
Scanner failures never raise from a ``StreamScan``: they become the ``pending`` verdict.
"""

from __future__ import annotations

import logging
import socket
import struct
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

log = logging.getLogger("pax.files")

#: ``StoredFile.scan_status`` values.
CLEAN = "clean"
PENDING = "pending"
UNSCANNED = "unscanned"
#: Statuses whose files may be served: scanned clean, or stored while no scanner was configured.
RELEASED = (CLEAN, UNSCANNED)

#: What a pending file's uploader is shown in place of its download link.
WAITING_FOR_SCAN = _l(
    "Waiting for a malware scan: nobody can download it, and only you see it, until it is found clean."
)

#: Longest answer clamd gives (a signature name and a few words).
_MAX_REPLY = 4096


class FileInfected(Exception):
    """clamd found ``signature`` in the upload; nothing of it is kept."""

    def __init__(self, signature: str):
        super().__init__(_("This file contains malware (%(signature)s) and was not stored.", signature=signature))
        self.signature = signature


class ScannerUnavailable(Exception):
    """clamd did not give a verdict (the message says why, never anything of the file)."""


def parse_address(address: str) -> str | tuple[str, int]:
    """A unix socket path as is, or ``host:port`` as a (host, port) pair."""
    if address.startswith("/"):
        return address
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


@dataclass(frozen=True)
class Clamd:
    """Where clamd listens and how long each step may take."""

    address: str
    timeout: float

    @classmethod
    def configured(cls) -> Clamd | None:
        """The app's scanner, or None when uploads are not scanned."""
        address = current_app.config.get("CLAMD_ADDRESS")
        if not address:
            return None
        return cls(address, float(current_app.config["CLAMD_TIMEOUT_SECONDS"]))

    def connect(self) -> socket.socket:
        target = parse_address(self.address)
        if isinstance(target, str):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            sock = socket.socket(socket.AF_INET6 if ":" in target[0] else socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(target)
        except OSError:
            sock.close()
            raise
        return sock

    def ping(self) -> bool:
        try:
            with self.connect() as sock:
                sock.sendall(b"zPING\0")
                return _reply(sock) == "PONG"
        except (OSError, ScannerUnavailable):
            return False


def _reply(sock: socket.socket) -> str:
    """One NUL-terminated answer of clamd (``z`` commands)."""
    data = bytearray()
    while not data.endswith(b"\0"):
        piece = sock.recv(_MAX_REPLY)
        if not piece:
            break
        data += piece
        if len(data) > _MAX_REPLY:
            raise ScannerUnavailable("clamd's answer is too long")
    if not data:
        raise ScannerUnavailable("clamd closed the connection without an answer")
    return data.rstrip(b"\0").decode("utf-8", "replace").strip()


def display_signature(name: str) -> str:
    """clamd's signature name without the ``.UNOFFICIAL`` mark of a local database."""
    return name.removesuffix(".UNOFFICIAL")


class StreamScan:
    """One ``zINSTREAM`` session fed chunk by chunk. ``feed`` may run in another thread than the
    one that created it (``store_file``'s encryption helper); a scanner failure only records why
    (``failure``), so the file is stored pending. ``verdict`` returns ``CLEAN`` or ``PENDING`` and
    raises ``FileInfected``."""

    def __init__(self, clamd: Clamd):
        self.failure: str | None = None
        self._sock: socket.socket | None = None
        try:
            self._sock = clamd.connect()
            self._sock.sendall(b"zINSTREAM\0")
        except OSError as exc:
            self._fail(f"clamd at {clamd.address} is unreachable ({exc.strerror or type(exc).__name__})")

    def _fail(self, reason: str) -> None:
        self.failure = reason
        self.close()

    def feed(self, chunk: bytes) -> None:
        if self._sock is None or not chunk:
            return
        try:
            self._sock.sendall(struct.pack(">I", len(chunk)))
            self._sock.sendall(chunk)
        except OSError as exc:
            self._fail(f"clamd stopped reading the file ({exc.strerror or type(exc).__name__})")

    def verdict(self) -> str:
        if self._sock is None:
            return PENDING
        try:
            self._sock.sendall(struct.pack(">I", 0))
            answer = _reply(self._sock)
        except OSError as exc:
            self._fail(f"clamd gave no verdict ({exc.strerror or type(exc).__name__})")
            return PENDING
        except ScannerUnavailable as exc:
            self._fail(str(exc))
            return PENDING
        self.close()
        result = answer.removeprefix("stream:").strip()
        if result == "OK":
            return CLEAN
        if result.endswith(" FOUND"):
            raise FileInfected(display_signature(result.removesuffix(" FOUND").strip()))
        # "... ERROR" (a limit exceeded, the engine not ready): no verdict, the file waits.
        self.failure = f"clamd answered an error: {answer[:200]}"
        return PENDING

    def close(self) -> None:
        if self._sock is not None:
            sock, self._sock = self._sock, None
            sock.close()
