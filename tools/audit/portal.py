"""A throwaway PAX portal under gunicorn on 127.0.0.1 for the scanners.

A fresh SQLite database (``db upgrade`` + ``demo load``) in a temporary instance folder, personal
access tokens made with ``flask tokens create``, then gunicorn with the production profile (secure
cookies, HSTS, no debug) over HTTPS with a throwaway certificate on a free loopback port.
``Portal`` is a context manager: the server is stopped and the folder removed on the way out.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from config import session_cookie_name

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MEMBER_EMAIL = "anna.peeters@portofantwerpbruges.example"
ADMIN_EMAIL = "admin@pax-ops.example"
DEMO_PASSWORD = "pax-demo-password"  # noqa: S105 (the documented demo password of a throwaway database)
#: The portal serves the production profile over HTTPS: its session cookie is Secure, so ``__Host-``.
SESSION_COOKIE = session_cookie_name(secure=True)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1, so the portal runs as deployed: HTTPS, secure cookies."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Portal:
    def __init__(self, name: str) -> None:
        self.name = name
        self.work = Path(tempfile.mkdtemp(prefix=f"pax-audit-{name}-"))
        self.port = free_port()
        self.base_url = f"https://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = self.work / "gunicorn.log"
        instance = self.work / "instance"
        self.env = {
            **os.environ,
            "PAX_ENV": "development",
            "PAX_INSTANCE_PATH": str(instance),
            "PAX_DATABASE_URL": f"sqlite:///{instance / 'pax.sqlite3'}",
            "PAX_KEYS_FILE": str(instance / "keys.json"),
            "PAX_STORAGE_URL": f"file://{instance / 'blobs'}",
            "PAX_BASE_URL": self.base_url,
            "PAX_LOG_LEVEL": "WARNING",
        }
        for name_ in ("PAX_REDIS_URL", "PAX_SMTP_URL", "PAX_DEBUG", "PAX_S3_ENDPOINT_URL"):
            self.env.pop(name_, None)
        instance.mkdir(parents=True)

    def flask(self, *args: str) -> str:
        result = subprocess.run(  # noqa: S603 (fixed arguments, our own CLI)
            [str(BIN / "flask"), "--app", "app", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result.stdout

    def token(self, email: str, scope: str) -> str:
        return self.flask("tokens", "create", "--email", email, "--scope", scope, "--days", "1").split()[0]

    def __enter__(self) -> Portal:
        try:
            # ``demo load`` is refused under the production profile (ASVS 6.3.2: no accounts with
            # published passwords in production). This database is a throwaway made for the scan, so
            # it is filled under the development profile (self.env) and only then served under the
            # production one (``start``): no override flag exists that a real deployment could misuse.
            self.flask("db", "upgrade")
            self.flask("demo", "load")
            self.member_token = self.token(MEMBER_EMAIL, "write")
            self.admin_token = self.token(ADMIN_EMAIL, "read")
            self.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def start(self) -> None:
        # The keyring now exists: serve with the production profile, as deployed.
        env = {**self.env, "PAX_ENV": "production", "PAX_SECRET_KEY": secrets.token_urlsafe(48)}
        command = [
            str(BIN / "gunicorn"),
            "-w",
            "2",
            "-k",
            "gthread",
            "--threads",
            "4",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            # gunicorn's 2 s default suits clients that connect directly. Behind a reverse proxy, as
            # deployed, idle connections outlive the proxy's own timeout, so the server never closes one
            # a client is about to reuse. The scanners are such clients: with the default, a PATCH sent
            # on a connection gunicorn had just closed failed the audit ("EOF occurred in violation of
            # protocol"), and non-idempotent requests are not retried.
            "--keep-alive",
            "75",
        ]
        # No request-line limit: the scanners test the application, and gunicorn's 414 page for a
        # request line over 4 KiB (the reverse proxy's job in production) is not an API response.
        command += ["--limit-request-line", "0", "--no-control-socket"]
        self.certificate, key = self_signed_certificate(self.work)
        command += ["--certfile", str(self.certificate), "--keyfile", str(key)]
        command += ["-b", f"127.0.0.1:{self.port}", "app:create_app()"]
        with open(self.log, "wb") as output:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                context = ssl.create_default_context(cafile=str(self.certificate))
                conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=5, context=context)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
                conn.close()
            time.sleep(0.3)
        raise RuntimeError(f"the portal did not become ready within 60 s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def server_errors(self) -> list[str]:
        """Tracebacks the portal logged (a 500 that a scanner might not have reported)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return [line for line in text.splitlines() if "Traceback" in line or "Exception on" in line]

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if os.environ.get("PAX_AUDIT_KEEP"):
            print(f"[{self.name}] kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)
