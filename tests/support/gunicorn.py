"""The portal under real gunicorn processes on loopback, for scale-out and fault tests.

``start(name, env, log_dir)`` runs ``gunicorn app.wsgi:app`` on a free 127.0.0.1 port with exactly
the environment given (plus PATH), waits until ``/readyz`` answers 200 and returns a ``Gunicorn``
that the caller stops (``stop``) or kills (``kill``); ``running([...])`` starts several at once.
Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Gunicorn:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def worker_pids(self) -> list[int]:
        """The master's children (its workers), read from /proc."""
        children: list[int] = []
        with contextlib.suppress(FileNotFoundError):
            for task in Path(f"/proc/{self.process.pid}/task").iterdir():
                with contextlib.suppress(FileNotFoundError):
                    children += [int(pid) for pid in (task / "children").read_text().split()]
        return children

    def kill(self) -> None:
        """SIGKILL the workers and the master at once: nothing gets to clean up."""
        for pid in [*self.worker_pids(), self.process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Quick shutdown (SIGQUIT): a graceful one would wait out idle keep-alive connections."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def launch(
    name: str, env: dict[str, str], log_dir: Path, *, workers: int = 1, threads: int = 4, timeout: int = 30
) -> Gunicorn:
    """Start ``gunicorn app.wsgi:app`` with ``env`` (plus PATH) on a free port; does not wait."""
    port = free_port()
    command = [
        GUNICORN,
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--timeout",
        str(timeout),
        "--graceful-timeout",
        "5",
        "--no-control-socket",  # one per user by default: instances (and other runs) would share it
        "--bind",
        f"127.0.0.1:{port}",
        "app.wsgi:app",
    ]
    log = log_dir / f"{name}.log"
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    with open(log, "ab") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=output, stderr=subprocess.STDOUT)
    return Gunicorn(name, process, port, log)


def start(name: str, env: dict[str, str], log_dir: Path, ready_within: float = 60, **options: int) -> Gunicorn:
    """``launch`` and wait until ``/readyz`` answers 200."""
    server = launch(name, env, log_dir, **options)
    try:
        wait_ready(server, ready_within)
    except BaseException:
        server.stop()
        raise
    return server


def wait_ready(server: Gunicorn, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with status {server.process.returncode}:\n{server.log_tail()}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(server.url + "/readyz", timeout=5).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not answer /readyz within {within:.0f} s:\n{server.log_tail()}")


@contextlib.contextmanager
def running(names: list[str], env: dict[str, str], log_dir: Path, **options: int) -> Iterator[list[Gunicorn]]:
    """Several instances with the same environment, started together; all stopped on exit."""
    servers = [launch(name, env, log_dir, **options) for name in names]
    try:
        for server in servers:
            wait_ready(server)
        yield servers
    finally:
        for server in servers:
            server.stop()


def portal_env(tmp_path: Path, url: str, secret_key: str, **extra: str) -> dict[str, str]:
    """The environment of a portal process under test: its database, secret and keys file (made by
    ``seed_member``), with ``extra`` settings on top."""
    return {
        "PAX_ENV": "testing",
        "PAX_DATABASE_URL": url,
        "PAX_SECRET_KEY": secret_key,
        "PAX_KEYS_FILE": str(tmp_path / "keys.json"),
        "PAX_KEYS_AUTOCREATE": "false",
        "PAX_INSTANCE_PATH": str(tmp_path / "instance"),
        **extra,
    }


def seed_member(tmp_path: Path, url: str, password: str, **settings: Any) -> dict[str, Any]:
    """One policy contributor with an AMBER post and a write token, made through the services on
    the database at ``url`` before any server starts (email, post_id, token, secret_key)."""
    from app import create_app
    from app.auth.tokens import create_token
    from app.extensions import db
    from tests.conftest import Factory, make_config
    from tests.test_posts_pages import publish

    seeder = create_app(make_config(tmp_path, url, **settings))
    with seeder.app_context():
        member = Factory().user(clusters={"policy": "contributor"}, password=password)
        post = publish(member, tlp="AMBER")
        _row, token = create_token(member, "seed", "write", 1)
        db.session.commit()
        seeded = {"email": member.email, "post_id": post.id, "token": token, "secret_key": seeder.config["SECRET_KEY"]}
        db.session.remove()
    db.engine.dispose()
    return seeded
