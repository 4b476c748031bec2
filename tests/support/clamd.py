"""A real ClamAV clamd for the tests, on a unix socket in a temporary directory.

It loads a signature database of its own (no freshclam, no network): one MD5 signature
(``.hdb``: ``md5:size:name``) of the 68-byte EICAR test file, named ``Eicar-Test-Signature``.
clamd runs in the foreground with the rest of its settings at their defaults and logs into the
directory, never to system files. Debian's ``clamav-daemon`` package provides it (``.ci/run``).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: The EICAR anti-virus test file: harmless, and detected as malware by every scanner.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Eicar-Test-Signature"


def clamd_binary() -> str | None:
    return shutil.which("clamd") or next((p for p in ("/usr/sbin/clamd",) if Path(p).exists()), None)


@contextmanager
def running_clamd(directory: Path, timeout: float = 90) -> Iterator[str]:
    """Start clamd in ``directory``; yields its socket path once it answers PING."""
    from app.files.scanning import Clamd

    binary = clamd_binary()
    if binary is None:
        raise RuntimeError(
            "clamd is not installed: the malware scanning tests need Debian's clamav-daemon package "
            "(apt-get install clamav-daemon; .ci/run installs it)"
        )
    database = directory / "db"
    database.mkdir(parents=True, exist_ok=True)
    (database / "pax-test.hdb").write_text(f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:{SIGNATURE}\n")  # noqa: S324 (ClamAV's format)
    socket_path = directory / "clamd.sock"
    log = directory / "clamd.log"
    config = directory / "clamd.conf"
    config.write_text(f"LocalSocket {socket_path}\nDatabaseDirectory {database}\nForeground yes\nLogFile {log}\n")
    with open(directory / "clamd.out", "wb") as out:
        process = subprocess.Popen([binary, "--config-file", str(config)], stdout=out, stderr=subprocess.STDOUT)
    try:
        scanner = Clamd(str(socket_path), 5)
        deadline = time.monotonic() + timeout
        while not scanner.ping():
            if process.poll() is not None or time.monotonic() > deadline:
                output = (directory / "clamd.out").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"clamd did not start (exit {process.poll()}): {output}")
            time.sleep(0.1)
        yield str(socket_path)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
