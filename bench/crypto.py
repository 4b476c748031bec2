"""What encrypting stored files costs: the storage layer alone, and uploads and downloads over HTTP.

Storage layer, on a file of random bytes (default 1 GiB) in a temporary directory under /tmp:

- plain copy to another file through a reused 64 KiB buffer (the baseline),
- encrypt-to-store: the same reads fed to ``SegmentEncryptor`` writing into ``LocalStore.writer``,
- decrypt-from-store: ``decrypt_stream`` over ``LocalStore.open``, plaintext written to a file,

each as throughput and as a ratio to the plain copy (goal: at least 0.40). Every written file
is fsynced, because ``LocalStore.writer`` fsyncs every blob; the figures before that final
fsync are printed too, since on a slow disk the fsync hides the CPU cost, and so is the crypto
layer's throughput with no file I/O at all.

End to end, through the real portal under gunicorn on 127.0.0.1 (fresh SQLite database, org,
user, write token and post made with the CLI and the API), a text file of the same size (the
portal refuses random bytes by content sniffing) is uploaded to ``POST
/api/v1/posts/<id>/attachments`` and downloaded from ``GET /api/v1/attachments/<id>``. The
baseline is a small Flask app in this module (``plain_app``) under the same gunicorn settings,
reading the body with the same streaming multipart parser and storing and serving the same bytes
unencrypted. Printed: upload and download ratios portal / plain (goal: at least 0.70 each) and
the peak RSS (``VmHWM``) of the portal's gunicorn worker (goal: under 100 MiB), with its
start-up part and its transfer part told apart.

The PKCS#11 column: a second portal, the same but with ``PAX_KEYS_BACKEND=pkcs11`` on a throwaway
SoftHSM2 token (its own ``SOFTHSM2_CONF`` under the work directory, initialised with
``softhsm2-util``), uploads and downloads the same file in the same interleaved runs, printed as
its ratio to the file backend (goal for downloads: at least 0.90); and the key operations alone
in this process, on both backends: the per-download unwrap of a data key, an audit-chain HMAC, a
pack signature. Skipped, with a line saying so, when SoftHSM2 is not installed.

Each measurement is run ``--runs`` times (interleaved, so drift in disk speed hits every
variant alike, each after an ``os.sync()``) and the best is reported; exit status 1 means a
transferred file did not match, not that a goal was missed. The whole run takes about two to three minutes at 1 GiB.

Run: ``.venv/bin/python -m bench.crypto [--size-mib N] [--runs N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import io
import json
import os
import platform
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
#: The storage-layer reads, as the brief for a streamed copy: one reused 64 KiB buffer.
COPY_BUFFER = 64 * 1024
#: Client send and receive size, and the plain app's write size (as ``app.files.http.WRITE_SIZE``).
HTTP_CHUNK = 1024 * 1024
STORAGE_GOAL = 0.40
HTTP_GOAL = 0.70
RSS_GOAL_MIB = 100.0
PKCS11_GOAL = 0.90
SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
BENCH_PIN = "bench-user-pin"
#: Set in the plain app's environment: where it keeps the one file it stores.
PLAIN_DIR_ENV = "PAX_BENCH_PLAIN_DIR"


# --- input files -----------------------------------------------------------------------------------


def make_random_file(path: Path, size: int) -> str:
    """``size`` random bytes written in 64 MiB pieces; returns their SHA-256."""
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        left = size
        while left:
            piece = os.urandom(min(64 * MIB, left))
            digest.update(piece)
            handle.write(piece)
            left -= len(piece)
    return digest.hexdigest()


def make_text_file(path: Path, size: int) -> str:
    """``size`` bytes of hex text (the portal only stores what sniffs as an allowed type)."""
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        left = size
        while left:
            piece = os.urandom(32 * MIB).hex().encode("ascii")[:left]
            digest.update(piece)
            handle.write(piece)
            left -= len(piece)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(8 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


def quiesce() -> None:
    """Flush every dirty page before a timed run.

    Otherwise the write-back of the previous run's output (and the discards of deleted files on
    this ext4 mount) lands in the next run, in whichever variant happens to come next.
    """
    os.sync()


# --- storage layer ---------------------------------------------------------------------------------


@dataclass
class Timing:
    """One run: wall time to the end (durable) and to the last write before the final fsync."""

    total: float
    before_fsync: float


@dataclass
class Series:
    name: str
    size: int
    runs: list[Timing] = field(default_factory=list)

    def best(self) -> float:
        """Best throughput in MB/s (10^6 bytes), durable."""
        return self.size / min(run.total for run in self.runs) / 1e6

    def best_before_fsync(self) -> float:
        return self.size / min(run.before_fsync for run in self.runs) / 1e6

    def all_runs(self) -> str:
        return ", ".join(f"{self.size / run.total / 1e6:.0f}" for run in self.runs)


def plain_copy(source: Path, target: Path) -> Timing:
    buffer = bytearray(COPY_BUFFER)
    view = memoryview(buffer)
    start = time.perf_counter()
    with open(source, "rb", buffering=0) as reader, open(target, "wb", buffering=0) as writer:
        while n := reader.readinto(buffer):
            writer.write(view[:n])
        written = time.perf_counter()
        os.fsync(writer.fileno())
    return Timing(time.perf_counter() - start, written - start)


def encrypt_to_store(source: Path, store: Any, key: str, dek: bytes, file_uuid: bytes) -> Timing:
    from app.files import crypto

    buffer = bytearray(COPY_BUFFER)
    view = memoryview(buffer)
    start = time.perf_counter()
    # The writer fsyncs and renames the blob into place when the with-block ends.
    with open(source, "rb", buffering=0) as reader, store.writer(key) as writer:
        encryptor = crypto.SegmentEncryptor(dek, file_uuid, writer.write)
        while n := reader.readinto(buffer):
            encryptor.update(view[:n])
        encryptor.finish()
        written = time.perf_counter()
    return Timing(time.perf_counter() - start, written - start)


def decrypt_from_store(store: Any, key: str, dek: bytes, file_uuid: bytes, size: int, target: Path) -> Timing:
    from app.files import crypto
    from app.files.storage import read_exact

    start = time.perf_counter()
    reader = store.open(key)
    try:
        header = crypto.Header.parse(read_exact(reader, crypto.HEADER_SIZE))
        decryptor = crypto.SegmentDecryptor(dek, file_uuid, header, size)
        with open(target, "wb", buffering=0) as writer:
            for segment in crypto.decrypt_stream(decryptor, lambda n: read_exact(reader, n)):
                writer.write(segment)
            written = time.perf_counter()
            os.fsync(writer.fileno())
    finally:
        reader.close()
    return Timing(time.perf_counter() - start, written - start)


def crypto_alone(size: int) -> tuple[float, float]:
    """MB/s of ``SegmentEncryptor`` and ``decrypt_stream`` with no file I/O: the crypto layer's own cost."""
    from app.files import crypto

    block = min(size, 64 * MIB)
    rounds = max(1, size // block)
    data = memoryview(os.urandom(block))
    dek, file_uuid = crypto.new_dek(), secrets.token_bytes(16)
    start = time.perf_counter()
    for _ in range(rounds):
        encryptor = crypto.SegmentEncryptor(dek, file_uuid, lambda view: None)
        for offset in range(0, block, COPY_BUFFER):
            encryptor.update(data[offset : offset + COPY_BUFFER])
        encryptor.finish()
    encrypt = rounds * block / (time.perf_counter() - start) / 1e6
    sealed = bytearray()
    encryptor = crypto.SegmentEncryptor(dek, file_uuid, sealed.extend)
    encryptor.update(data)
    encryptor.finish()
    blob = bytes(sealed)
    header = crypto.Header.parse(blob[: crypto.HEADER_SIZE])
    start = time.perf_counter()
    for _ in range(rounds):
        stream = io.BytesIO(blob)
        stream.seek(crypto.HEADER_SIZE)
        decryptor = crypto.SegmentDecryptor(dek, file_uuid, header, block)
        for _segment in crypto.decrypt_stream(decryptor, stream.read):
            pass
    decrypt = rounds * block / (time.perf_counter() - start) / 1e6
    return encrypt, decrypt


def storage_layer(work: Path, size: int, runs: int) -> tuple[Series, Series, Series, bool]:
    """Copy, encrypt and decrypt runs, interleaved; the last bool: the decrypted file matched."""
    from app.files import crypto
    from app.files.storage import LocalStore

    source = work / "random.bin"
    source_sha = make_random_file(source, size)
    store = LocalStore(work / "store")
    dek = crypto.new_dek()
    copy, encrypt, decrypt = Series("plain copy", size), Series("encrypt to store", size), Series("decrypt", size)
    copied, decrypted = work / "copy.bin", work / "decrypted.bin"
    key = ""
    try:
        for _ in range(runs):
            # A fresh output file each time: truncating a cached 1 GiB file would be timed too.
            copied.unlink(missing_ok=True)
            quiesce()
            copy.runs.append(plain_copy(source, copied))
            copied.unlink()
            if key:
                store.delete(key)
            file_uuid = secrets.token_bytes(16)
            key = f"attachment/{file_uuid.hex()}"
            quiesce()
            encrypt.runs.append(encrypt_to_store(source, store, key, dek, file_uuid))
            decrypted.unlink(missing_ok=True)
            quiesce()
            decrypt.runs.append(decrypt_from_store(store, key, dek, file_uuid, size, decrypted))
            if store.size(key) != crypto.blob_size(size):
                raise RuntimeError(f"the blob has {store.size(key)} bytes, expected {crypto.blob_size(size)}")
        matched = sha256_of(decrypted) == source_sha
    finally:
        # The HTTP part needs the disk space and the page cache.
        shutil.rmtree(store.root, ignore_errors=True)
        for path in (source, copied, decrypted):
            path.unlink(missing_ok=True)
    return copy, encrypt, decrypt, matched


# --- the baseline server ---------------------------------------------------------------------------


def plain_app() -> Flask:
    """The same bytes stored and served unencrypted, by the same stack (gunicorn, Flask, multipart parser).

    Started by gunicorn as ``bench.crypto:plain_app()``. Each upload is written like
    ``LocalStore.writer`` writes a blob (8 MiB buffered, fsynced, renamed into place, under a new
    name: replacing the previous file would time its deletion, which the portal never does) and
    the latest is sent like the portal sends one: a generator of 1 MiB writes, not ``send_file``,
    whose ``wsgi.file_wrapper`` would let gunicorn use sendfile(2), which the portal cannot.
    """
    from flask import Flask, Response, jsonify

    from app.files.storage import PART_SIZE
    from app.files.uploads import MultipartUpload, allow_large_body

    folder = Path(os.environ[PLAIN_DIR_ENV])
    latest: list[Path] = []
    app = Flask(__name__)
    app.config["MAX_UPLOAD_BYTES"] = int(os.environ["PAX_MAX_UPLOAD_BYTES"])

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok"})

    @app.post("/upload")
    def upload() -> tuple[Response, int]:
        allow_large_body()
        form = MultipartUpload()
        form.until_file()
        name = secrets.token_hex(16)
        partial = folder / f"{name}.partial"
        size = 0
        with open(partial, "wb", buffering=PART_SIZE) as handle:
            for chunk in form.file_chunks():
                handle.write(chunk)
                size += len(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, folder / name)
        latest[:] = [folder / name]
        form.rest()
        return jsonify({"id": name, "size": size}), 201

    @app.get("/download")
    def download() -> Response:
        target = latest[0]

        def body() -> Iterator[bytes]:
            with open(target, "rb", buffering=0) as handle:
                while chunk := handle.read(HTTP_CHUNK):
                    yield chunk

        response = Response(body(), mimetype="text/plain", direct_passthrough=True)
        response.headers["Content-Length"] = str(target.stat().st_size)
        return response

    return app


# --- servers and HTTP ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def venv_tool(name: str) -> str:
    """A console script of the interpreter running this benchmark (the project's venv)."""
    return str(Path(sys.executable).with_name(name))


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def worker_pid(self) -> int:
        """The one gunicorn worker: the master's child, read from /proc (no psutil)."""
        children: list[int] = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError):
                children += [int(pid) for pid in (task / "children").read_text().split()]
        if len(children) != 1:
            raise RuntimeError(f"{self.name}: expected one gunicorn worker, found {children}")
        return children[0]

    def memory_mib(self, name: str) -> float:
        """``VmHWM`` (peak) or ``VmRSS`` (now) of the worker."""
        for line in Path(f"/proc/{self.worker_pid()}/status").read_text().splitlines():
            if line.startswith(f"{name}:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no {name} in /proc status")

    def reset_peak(self) -> bool:
        """Restart ``VmHWM`` from the current RSS (Linux >= 4.0), to see what the transfers add."""
        try:
            Path(f"/proc/{self.worker_pid()}/clear_refs").write_text("5")
        except OSError:
            return False
        return True

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # gunicorn's master stops its worker on SIGTERM
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_gunicorn(name: str, app_spec: str, env: dict[str, str], log: Path) -> Server:
    port = free_port()
    command = [venv_tool("gunicorn"), "-w", "1", "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}"]
    with open(log, "wb") as output:
        process = subprocess.Popen([*command, app_spec], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    server = Server(name, process, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} server exited with status {process.returncode}:\n{server.log_tail()}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, _ = call(port, "GET", "/healthz")
            if status == 200:
                return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{name} server did not answer /healthz within 60 s:\n{server.log_tail()}")


def call(port: int, method: str, path: str, token: str | None = None, payload: Any = None) -> tuple[int, Any]:
    """A small JSON request; returns the status and the decoded body (or its text)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, raw.decode(errors="replace")


def upload(port: int, path: str, token: str | None, source: Path) -> tuple[float, dict[str, Any]]:
    """POST ``source`` as the multipart part ``file``, streamed from disk; seconds to the response."""
    size = source.stat().st_size
    boundary = f"pax-bench-{secrets.token_hex(16)}"
    head = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="bench.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    buffer = bytearray(HTTP_CHUNK)
    view = memoryview(buffer)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        start = time.perf_counter()
        conn.putrequest("POST", path)
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + size + len(tail)))
        if token:
            conn.putheader("Authorization", f"Bearer {token}")
        conn.endheaders()
        try:
            conn.send(head)
            with open(source, "rb", buffering=0) as handle:
                while n := handle.readinto(buffer):
                    conn.send(view[:n])
            conn.send(tail)
        except OSError:
            pass  # the server answered early (a refusal) and closed: its answer says why
        response = conn.getresponse()
        raw = response.read()
        elapsed = time.perf_counter() - start
    finally:
        conn.close()
    if response.status != 201:
        raise RuntimeError(f"upload to {path} answered {response.status}: {raw[:500]!r}")
    answer: dict[str, Any] = json.loads(raw)
    return elapsed, answer


def download(port: int, path: str, token: str | None, digest: Any = None) -> tuple[float, int]:
    """GET ``path`` in 1 MiB reads; seconds and bytes received. Hashes only if given ``digest``."""
    buffer = bytearray(HTTP_CHUNK)
    view = memoryview(buffer)
    received = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        start = time.perf_counter()
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"download of {path} answered {response.status}: {response.read(500)!r}")
        while n := response.readinto(buffer):
            received += n
            if digest is not None:
                digest.update(view[:n])
        elapsed = time.perf_counter() - start
    finally:
        conn.close()
    return elapsed, received


def portal_env(work: Path, upload_limit: int) -> dict[str, str]:
    # Stray PAX_* settings from the caller's shell (Redis, S3, production) would change what is measured.
    env = {name: value for name, value in os.environ.items() if not name.startswith("PAX_")}
    env.update(
        {
            "PAX_DATABASE_URL": f"sqlite:///{work / 'pax.sqlite3'}",
            "PAX_INSTANCE_PATH": str(work),
            "PAX_KEYS_FILE": str(work / "keys.json"),
            "PAX_KEYS_AUTOCREATE": "1",
            "PAX_STORAGE_URL": f"file://{work / 'blobs'}",
            # Development: a real, non-debug configuration that does not demand an operator's keyring.
            "PAX_ENV": "development",
            "PAX_SECRET_KEY": secrets.token_urlsafe(36),
            "PAX_MAX_UPLOAD_BYTES": str(upload_limit),
        }
    )
    return env


def flask_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [venv_tool("flask"), "--app", "app", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stderr.strip()}")
    return done.stdout


def prepare_portal(env: dict[str, str]) -> str:
    """Migrate a fresh database and make an org, a contributor of ``policy`` and a write token."""
    email = "bench@bench.example"
    flask_cli(env, "db", "upgrade")
    flask_cli(env, "orgs", "create", "--name", "Bench Port Authority", "--type", "port_authority", "--country", "BE")
    password = f"quay crane {secrets.token_urlsafe(24)}\n"  # not "bench": the policy refuses the account name
    flask_cli(
        env,
        "users",
        "create",
        "--email",
        email,
        "--name",
        "Bench",
        "--org",
        "Bench Port Authority",
        "--password-stdin",
        stdin=password,
    )
    flask_cli(env, "users", "grant", "--email", email, "--cluster", "policy", "--role", "contributor")
    token = flask_cli(env, "tokens", "create", "--email", email, "--scope", "write", "--name", "bench").split()[-1]
    return token


def softhsm_token(work: Path, label: str = "pax-bench") -> dict[str, str]:
    """A throwaway SoftHSM2 token under ``work``, made as an operator makes one (README, Key custody);
    returns the settings that put a portal on it."""
    tokens = work / "softhsm-tokens"
    tokens.mkdir()
    conf = work / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    init = ["softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", "bench-so-pin"]
    subprocess.run([*init, "--pin", BENCH_PIN], env=env, check=True, capture_output=True)
    return {
        "SOFTHSM2_CONF": str(conf),
        "PAX_KEYS_BACKEND": "pkcs11",
        "PAX_PKCS11_MODULE": SOFTHSM_MODULE,
        "PAX_PKCS11_TOKEN_LABEL": label,
        "PAX_PKCS11_PIN": BENCH_PIN,
    }


def key_operations(work: Path, token: dict[str, str], count: int = 2000) -> dict[str, tuple[float, float]]:
    """Microseconds per operation (median of 5 rounds of ``count``) on the file and PKCS#11 backends."""
    os.environ["SOFTHSM2_CONF"] = token["SOFTHSM2_CONF"]
    from app.keys.keyring import Keyring
    from app.keys.pkcs11 import Pkcs11Backend
    from app.keys.sealed import seal, unseal

    ring = Keyring.generate(work / "bench-keys.json")
    hsm = Pkcs11Backend(SOFTHSM_MODULE, token["PAX_PKCS11_TOKEN_LABEL"], BENCH_PIN)
    hsm.ensure_keys()
    dek, context, record = os.urandom(32), "file-dek:" + "ab" * 16, b"0" * 64 + b"\n" + b"x" * 300
    results: dict[str, tuple[float, float]] = {}
    for name, operation in (
        ("unwrap a data key (per download)", lambda keys, sealed: unseal(sealed, context, keys)),
        ("wrap a data key (per upload)", lambda keys, sealed: seal(dek, context, keys)),
        ("audit-chain HMAC (per record)", lambda keys, sealed: keys.hmac_sha256("audit_hmac", record)),
        ("Ed25519 pack signature", lambda keys, sealed: keys.sign_ed25519(record)),
    ):
        pair = []
        for keys in (ring, hsm):
            sealed = seal(dek, context, keys)
            rounds = []
            for _ in range(5):
                started = time.perf_counter()
                for _ in range(count):
                    operation(keys, sealed)
                rounds.append((time.perf_counter() - started) / count * 1e6)
            pair.append(statistics.median(rounds))
        results[name] = (pair[0], pair[1])
    return results


@dataclass
class HttpResults:
    portal_up: list[float] = field(default_factory=list)
    plain_up: list[float] = field(default_factory=list)
    portal_down: list[float] = field(default_factory=list)
    plain_down: list[float] = field(default_factory=list)
    #: The same portal on a SoftHSM2 token (empty: SoftHSM2 is not installed).
    hsm_up: list[float] = field(default_factory=list)
    hsm_down: list[float] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    #: Per server name: VmRSS and VmHWM after start-up, VmHWM of the transfers alone (None: no reset).
    memory: dict[str, tuple[float, float, float | None]] = field(default_factory=dict)


def end_to_end(work: Path, size: int, runs: int, hsm_token: dict[str, str] | None = None) -> HttpResults:
    results = HttpResults()
    text = work / "bench.txt"
    text_sha = make_text_file(text, size)
    upload_limit = max(4 * 1024 * MIB, 2 * size)
    env = portal_env(work, upload_limit)
    token = prepare_portal(env)
    plain_dir = work / "plain"
    plain_dir.mkdir()
    plain_env = {**env, PLAIN_DIR_ENV: str(plain_dir)}
    hsm_env: dict[str, str] | None = None
    if hsm_token is not None:
        hsm_work = work / "hsm-portal"
        hsm_work.mkdir()
        hsm_env = {**portal_env(hsm_work, upload_limit), **hsm_token}
        hsm_bearer = prepare_portal(hsm_env)
    servers: list[Server] = []
    try:
        portal = start_gunicorn("portal", "app:create_app()", env, work / "portal.log")
        servers.append(portal)
        plain = start_gunicorn("plain", "bench.crypto:plain_app()", plain_env, work / "plain.log")
        servers.append(plain)
        hsm = None
        if hsm_env is not None:
            hsm = start_gunicorn("portal-pkcs11", "app:create_app()", hsm_env, work / "hsm-portal.log")
            servers.append(hsm)
        # Start-up has its own peak (the portal hashes an argon2 dummy password at import, 64 MiB):
        # record it, then restart the peak so the transfers' own peak is seen as well.
        started = {server.name: (server.memory_mib("VmRSS"), server.memory_mib("VmHWM")) for server in servers}
        reset = {server.name: server.reset_peak() for server in servers}
        status, post = call(
            portal.port,
            "POST",
            "/api/v1/posts",
            token,
            {"type": "best_practice", "cluster": "policy", "title": "Bench", "body": "Bench", "tlp": "GREEN"},
        )
        if status != 201:
            raise RuntimeError(f"creating the post answered {status}: {post}")
        hsm_post: dict[str, Any] = {}
        if hsm is not None:
            status, hsm_post = call(
                hsm.port,
                "POST",
                "/api/v1/posts",
                hsm_bearer,
                {"type": "best_practice", "cluster": "policy", "title": "Bench", "body": "Bench", "tlp": "GREEN"},
            )
            if status != 201:
                raise RuntimeError(f"creating the post on the PKCS#11 portal answered {status}: {hsm_post}")
        attachment: dict[str, Any] = {}
        for _ in range(runs):
            quiesce()
            elapsed, attachment = upload(portal.port, f"/api/v1/posts/{post['id']}/attachments", token, text)
            results.portal_up.append(elapsed)
            if attachment.get("size") != size or attachment.get("sha256") != text_sha:
                results.failures.append(
                    f"portal stored {attachment.get('size')} bytes with SHA-256 {attachment.get('sha256')}, "
                    f"expected {size} bytes with {text_sha}"
                )
            quiesce()
            elapsed, answer = upload(plain.port, "/upload", None, text)
            results.plain_up.append(elapsed)
            if answer.get("size") != size:
                results.failures.append(f"plain app stored {answer.get('size')} bytes, expected {size}")
            downloads = [
                (portal, f"/api/v1/attachments/{attachment['id']}", token, results.portal_down),
                (plain, "/download", None, results.plain_down),
            ]
            if hsm is not None:
                quiesce()
                elapsed, hsm_attachment = upload(
                    hsm.port, f"/api/v1/posts/{hsm_post['id']}/attachments", hsm_bearer, text
                )
                results.hsm_up.append(elapsed)
                if hsm_attachment.get("size") != size or hsm_attachment.get("sha256") != text_sha:
                    results.failures.append(f"the PKCS#11 portal stored {hsm_attachment.get('size')} bytes")
                downloads.append((hsm, f"/api/v1/attachments/{hsm_attachment.get('id')}", hsm_bearer, results.hsm_down))
            for server, path, auth, times in downloads:
                quiesce()
                elapsed, received = download(server.port, path, auth)
                times.append(elapsed)
                if received != size:
                    results.failures.append(f"{server.name} download gave {received} bytes, expected {size}")
        # Hashing on the client would compete for the two CPUs, so it gets its own, untimed download.
        digest = hashlib.sha256()
        download(portal.port, f"/api/v1/attachments/{attachment['id']}", token, digest)
        if digest.hexdigest() == text_sha:
            results.checks.append("portal upload SHA-256 (its JSON) and a downloaded copy's SHA-256 match the source")
        else:
            results.failures.append("the portal's download does not match the source's SHA-256")
        for server in servers:
            if server.name not in started:
                continue
            rss, boot_peak = started[server.name]
            transfers = server.memory_mib("VmHWM") if reset[server.name] else None
            results.memory[server.name] = (rss, boot_peak, transfers)
    except Exception:
        for server in servers:
            print(f"--- last lines of the {server.name} server log ---\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        for server in servers:
            server.stop()
    return results


# --- report ----------------------------------------------------------------------------------------


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def machine_facts() -> str:
    import cryptography
    import gunicorn
    from cryptography.hazmat.backends.openssl.backend import backend

    flags = Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").exists() else []
    aes = "AES-NI" if "aes" in flags else "no AES-NI"
    return (
        f"Machine: {os.cpu_count()} CPUs ({aes}), Python {platform.python_version()}, "
        f"cryptography {cryptography.__version__} ({backend.openssl_version_text()}), gunicorn {gunicorn.__version__}"
    )


def ratio_row(label: str, mbps: float, base: float, goal: float, runs: str) -> str:
    ratio = mbps / base
    return f"  {label:<28} {mbps:>8.0f} MB/s   ratio {ratio:5.2f}   goal >= {goal:.2f}   {verdict(ratio >= goal):<8}  runs: {runs}"


def report_storage(
    copy: Series, encrypt: Series, decrypt: Series, matched: bool, alone: tuple[float, float], runs: int
) -> bool:
    base = copy.best()
    print(
        f"\n1. Storage layer, {copy.size // MIB} MiB of random bytes (best of {runs} interleaved runs, MB = 10^6 bytes)"
    )
    print(
        "   reads hot in the page cache for all three; every output fsynced, as LocalStore.writer fsyncs each blob;"
        "\n   os.sync() before every timed run; LocalStore writes through a 1 MiB buffer, the copy in 64 KiB writes"
    )
    print(f"  {copy.name:<28} {base:>8.0f} MB/s   (baseline: readinto 64 KiB, write, fsync)    runs: {copy.all_runs()}")
    print(ratio_row("encrypt to LocalStore", encrypt.best(), base, STORAGE_GOAL, encrypt.all_runs()))
    print(ratio_row("decrypt from LocalStore", decrypt.best(), base, STORAGE_GOAL, decrypt.all_runs()))
    plain, enc, dec = copy.best_before_fsync(), encrypt.best_before_fsync(), decrypt.best_before_fsync()
    print(
        f"  until the last write, before the final fsync (no goal): copy {plain:.0f} MB/s, "
        f"encrypt {enc:.0f} MB/s (ratio {enc / plain:.2f}), decrypt {dec:.0f} MB/s (ratio {dec / plain:.2f})"
    )
    print(
        f"  crypto alone, no file I/O, 64 KiB pieces (no goal): SegmentEncryptor {alone[0]:.0f} MB/s, "
        f"decrypt_stream {alone[1]:.0f} MB/s"
    )
    print(f"  decrypted output identical to the source (SHA-256): {'yes' if matched else 'NO'}")
    return matched


def report_http(results: HttpResults, size: int, runs: int) -> bool:
    def mbps(times: list[float]) -> float:
        # The median: single runs over loopback swing by a factor of two on this VM, either way.
        return size / statistics.median(times) / 1e6

    def runs_of(times: list[float]) -> str:
        return ", ".join(f"{size / t / 1e6:.0f}" for t in times)

    print(
        f"\n2. End to end over HTTP on 127.0.0.1, {size // MIB} MiB text file (median of {runs} interleaved runs),"
        "\n   gunicorn -w 1 -k gthread --threads 4 for both servers; the client runs on the same CPUs;"
        "\n   timed from connect to the whole response; os.sync() before every timed run"
    )
    print(
        "   plain = same gunicorn + Flask + app.files.uploads.MultipartUpload, file written 8 MiB-buffered + fsync,"
        "\n   served as a generator of 1 MiB reads (not send_file/sendfile, which the portal cannot use)"
    )
    up_plain, down_plain = mbps(results.plain_up), mbps(results.plain_down)
    print(f"  {'plain upload':<28} {up_plain:>8.0f} MB/s{'':54}runs: {runs_of(results.plain_up)}")
    print(
        ratio_row(
            "portal upload (encrypting)", mbps(results.portal_up), up_plain, HTTP_GOAL, runs_of(results.portal_up)
        )
    )
    print(f"  {'plain download':<28} {down_plain:>8.0f} MB/s{'':54}runs: {runs_of(results.plain_down)}")
    print(
        ratio_row(
            "portal download (decrypting)",
            mbps(results.portal_down),
            down_plain,
            HTTP_GOAL,
            runs_of(results.portal_down),
        )
    )
    if results.hsm_down:
        hsm_up, hsm_down = mbps(results.hsm_up), mbps(results.hsm_down)
        file_up, file_down = mbps(results.portal_up), mbps(results.portal_down)
        print("   PKCS#11 column: the same portal with PAX_KEYS_BACKEND=pkcs11 on a SoftHSM2 token, same runs")
        print(ratio_row("upload, token / file", hsm_up, file_up, PKCS11_GOAL, runs_of(results.hsm_up)))
        print(ratio_row("download, token / file", hsm_down, file_down, PKCS11_GOAL, runs_of(results.hsm_down)))
    print("\n3. Memory of the gunicorn worker (/proc/<pid>/status), read after all uploads and downloads")
    for name, label in (
        ("portal", "portal worker"),
        ("plain", "plain app worker"),
        ("portal-pkcs11", "PKCS#11 portal"),
    ):
        if name not in results.memory:
            continue
        rss, boot_peak, transfers = results.memory[name]
        peak = max(boot_peak, transfers or 0.0)
        goal = f"goal < {RSS_GOAL_MIB:.0f} MiB   {verdict(peak < RSS_GOAL_MIB)}" if name == "portal" else "(reference)"
        print(f"  {label + ' peak (VmHWM)':<28} {peak:>8.1f} MiB    {goal}")
        during = "not measurable (clear_refs refused)" if transfers is None else f"{transfers:.1f} MiB"
        print(
            f"      after start-up: VmRSS {rss:.1f} MiB, VmHWM {boot_peak:.1f} MiB; "
            f"peak during the transfers alone: {during}"
        )
    for check in results.checks:
        print(f"  check: {check}")
    for failure in results.failures:
        print(f"  FAILED: {failure}")
    return not results.failures


def report_keys(operations: dict[str, tuple[float, float]] | None) -> None:
    print("\n4. Key operations alone, in this process (median of 5 rounds of 2,000; no goal)")
    if operations is None:
        print(f"  PKCS#11 column skipped: SoftHSM2 is not installed ({SOFTHSM_MODULE}; apt-get install softhsm2)")
        return
    print(f"  {'operation':<36} {'file backend':>14} {'PKCS#11 (SoftHSM2)':>20}")
    for name, (file_us, hsm_us) in operations.items():
        print(f"  {name:<36} {file_us:>11.1f} µs {hsm_us:>17.1f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="file size in MiB (default 1024)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; the best is reported")
    args = parser.parse_args()
    size = args.size_mib * MIB
    if size <= 0 or args.runs <= 0:
        parser.error("--size-mib and --runs must be positive")
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="pax-bench-crypto-", dir="/tmp"))
    # Storage phase peaks at four copies; HTTP phase keeps the source and every run's portal and plain file.
    needed = size * max(4, 1 + 2 * args.runs) + 512 * MIB
    if shutil.disk_usage(work).free < needed:
        shutil.rmtree(work)
        sys.exit(f"not enough free space in /tmp: about {needed // MIB:,} MiB needed")
    print(machine_facts())
    sys.stdout.flush()
    ok = True
    try:
        copy, encrypt, decrypt, matched = storage_layer(work, size, args.runs)
        alone = [crypto_alone(size) for _ in range(args.runs)]
        best_alone = (max(run[0] for run in alone), max(run[1] for run in alone))
        ok &= report_storage(copy, encrypt, decrypt, matched, best_alone, args.runs)
        sys.stdout.flush()
        token = softhsm_token(work) if os.path.exists(SOFTHSM_MODULE) else None
        ok &= report_http(end_to_end(work, size, args.runs, token), size, args.runs)
        report_keys(key_operations(work, token) if token is not None else None)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nTotal time {time.perf_counter() - started:.0f} s.")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
