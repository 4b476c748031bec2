"""A private, throwaway PostgreSQL cluster for tests that stop and start the server.

The machine's shared server is never touched: ``initdb`` makes a cluster in a temporary
directory owned by the ``postgres`` OS user (run through ``runuser`` when the tests run as
root), listening on a free loopback port with trust authentication and no fsync. ``stop()``
and ``start()`` take it down and bring it back on the same port; leaving the context removes it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.gunicorn import free_port


def pg_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` holding initdb and pg_ctl, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _as_postgres(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def available() -> str | None:
    """Why a private cluster cannot be made here, or None when it can."""
    if pg_bin() is None:
        return "no initdb under /usr/lib/postgresql/*/bin"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "no postgres OS user to run the cluster as"
    return None


@dataclass
class Cluster:
    data: Path
    port: int
    log: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _pg_ctl(self, *args: str, timeout: float = 30) -> None:
        bin_dir = pg_bin()
        assert bin_dir is not None
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), *args]),
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=timeout,
        )

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off -c full_page_writes=off"
        self._pg_ctl("start", "-w", "-t", "30", "-o", options)

    def stop(self) -> None:
        """Fast shutdown: open connections are cut, as when the server restarts or fails over."""
        self._pg_ctl("stop", "-w", "-t", "30", "-m", "fast")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@contextlib.contextmanager
def private_cluster() -> Iterator[Cluster]:
    bin_dir = pg_bin()
    assert bin_dir is not None, available()
    root = Path(tempfile.mkdtemp(prefix="pax-pgcluster-"))
    data = root / "data"
    log = root / "server.log"
    try:
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        subprocess.run(
            _as_postgres(
                [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
        )
        cluster = Cluster(data, free_port(), log)
        cluster.start()
        try:
            yield cluster
        finally:
            if cluster.running():
                with contextlib.suppress(subprocess.SubprocessError):
                    cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
