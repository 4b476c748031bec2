"""Load test: 200 simulated members against the portal under gunicorn on loopback, beside a bare
Flask "hello" app under the same gunicorn settings.

The benchmark prepares its own database (SQLite by default, or a throwaway PostgreSQL database)
with the demo data, 200 extra posts (20 with attachments) and ``--users`` members in ten
organisations, and signs every member in before any measurement (the sign-ins are not counted).
locust (headless, from its own virtualenv ``.venv/bench``, see bench/requirements-load.txt) then
runs these phases against gunicorn on 127.0.0.1:

1. worker class: the authenticated feed page alone, no pause between requests, for
   ``--compare-seconds`` under each gunicorn setting in ``WORKER_SETTINGS``; the setting with the
   most requests/s without errors is kept for the rest of the run;
2. members: ``--users`` members browse feeds, search, open posts and the dashboard, download
   attachments and meeting packs (0.5-1.5 s between pages) for ``--duration`` seconds: requests/s,
   p50/p95/p99 and errors overall and for the feed page (goal: p99 < 250 ms, zero errors);
3. capacity: the feed page alone, no pause, for ``--duration`` seconds, then a plain SQLAlchemy +
   Jinja 50-row page (bench/plain.py) and the bare "hello" app the same way: feed requests/s
   divided by hello requests/s (goal: at least 0.15), and the plain page's ratios for scale.

Run: ``make bench-load`` or ``.venv/bin/python -m bench.load [--duration 60] [--users 200]
[--backend sqlite|postgresql] [--compare-seconds 15] [--worker-setting NAME]``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
LOCUST = ROOT / ".venv" / "bench" / "bin" / "locust"
PASSWORD = "quay-lantern-orbit-4711"  # noqa: S105 (throwaway accounts in a throwaway database)
CLUSTER = "operational-cooperation"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
WORDS = ["container", "seal", "terminal", "reefer", "gate", "scanner", "crew", "badge", "insider", "manifest"]
FEED_MARKER = "Bench note"

#: gunicorn settings compared in phase 1 (all in the project's virtualenv: no new system packages).
#: sync serves one connection per process (no keep-alive); gthread keeps connections alive and
#: hands them to a worker's threads, so many keep-alive clients can pile onto one worker.
WORKER_SETTINGS: dict[str, list[str]] = {
    "sync-4": ["--worker-class", "sync", "--workers", "4"],
    "gthread-2x4": ["--worker-class", "gthread", "--workers", "2", "--threads", "4"],
    "gthread-4x2": ["--worker-class", "gthread", "--workers", "4", "--threads", "2"],
}


@dataclass
class Figures:
    label: str
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float

    def line(self) -> str:
        return (
            f"  {self.label:<22} {self.rps:8.1f} req/s  p50 {self.p50:5.0f} ms  p95 {self.p95:5.0f} ms"
            f"  p99 {self.p99:5.0f} ms  {self.requests:7d} requests  {self.failures} errors"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def database(root: Path, backend: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{root / 'bench.sqlite3'}"
        return
    import sqlalchemy as sa

    admin_url = os.environ.get("PAX_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"pax_bench_load_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def portal_environment(root: Path, database_url: str) -> dict[str, str]:
    """A local-run portal (plain-HTTP cookies on loopback) with its own keyring, blobs and database."""
    env = dict(os.environ)
    env.update(
        {
            "PAX_ENV": "development",
            "PAX_DEBUG": "0",
            "PAX_INSTANCE_PATH": str(root / "instance"),
            "PAX_DATABASE_URL": database_url,
            "PAX_KEYS_FILE": str(root / "keys.json"),
            "PAX_KEYS_AUTOCREATE": "1",
            "PAX_STORAGE_URL": f"file://{root / 'blobs'}",
            "PAX_SECRET_KEY": secrets.token_urlsafe(48),
            "PAX_LOG_LEVEL": "WARNING",
            # The bench members' passwords are checked once each, before the measurement.
            "PAX_ARGON2_PROFILE": "CHEAPEST",
            "PAX_LOGIN_LIMIT_PER_ADDRESS": "100000 per minute",
            "PAX_LOGIN_LIMIT_PER_ACCOUNT": "100000 per minute",
        }
    )
    env.pop("PAX_REDIS_URL", None)
    return env


def prepare(env: dict[str, str], users: int, data_file: Path) -> None:
    """Migrate, load the demo and the bench content, sign every member in; write what locust needs."""
    os.environ.update(env)
    from alembic import command

    from app import create_app
    from app.auth.services import create_user, grant_membership
    from app.clusters.attachments import attach_file
    from app.clusters.models import Attachment, Post
    from app.clusters.services import publish_post
    from app.clusters.validation import parse_post
    from app.demo import load_demo
    from app.directory.services import create_organisation
    from app.extensions import db
    from app.meetings.models import Meeting
    from app.migrations_state import alembic_config

    cfg = alembic_config(env["PAX_DATABASE_URL"])
    cfg.attributes["skip_logging_config"] = True
    command.upgrade(cfg, "head")
    app = create_app()
    import sqlalchemy as sa

    with app.app_context(), app.test_request_context():
        load_demo()
        db.session.commit()
        orgs = [
            create_organisation(f"Bench Port {n}", "port_authority", "BE", [f"bench-port-{n}.example"])
            for n in range(10)
        ]
        db.session.commit()
        members = []
        for n in range(users):
            org = orgs[n % len(orgs)]
            user = create_user(f"member{n}@{org.email_domains[0]}", f"Bench Member {n}", org, password=PASSWORD)
            grant_membership(user, CLUSTER, "contributor" if n < len(orgs) else "reader", actor=None)
            grant_membership(user, "innovation", "reader", actor=None)
            members.append(user)
        db.session.commit()
        for n in range(200):
            author = members[n % len(orgs)]
            words = " ".join(WORDS[(n + k) % len(WORDS)] for k in range(3))
            post = publish_post(
                author,
                parse_post(
                    {
                        "type": "best_practice",
                        "cluster": CLUSTER,
                        "title": f"{FEED_MARKER} {n}: {words}",
                        "body": f"Practice {n} on **{words}**.\n\n- check the {WORDS[n % len(WORDS)]}\n- record it",
                        "tlp": "GREEN",
                        "law_enforcement_only": False,
                        "tags": [WORDS[n % len(WORDS)]],
                    }
                ),
            )
            if n % 10 == 0:
                attach_file(author, post, f"checklist-{n}.pdf", [PDF], len(PDF))
            db.session.commit()
        bench_posts = list(db.session.scalars(sa.select(Post.id).where(Post.title.like(f"{FEED_MARKER} %"))))
        attachments = list(
            db.session.scalars(sa.select(Attachment.id).join(Post).where(Post.title.like(f"{FEED_MARKER} %")))
        )
        meetings = list(db.session.scalars(sa.select(Meeting.id)))

    client = app.test_client()
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    cookies = []
    for user in members:
        client.delete_cookie(cookie_name)
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token, "the sign-in page has no CSRF token"
        signed_in = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token[1]})
        assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/dashboard", signed_in.status_code
        cookie = client.get_cookie(cookie_name)
        assert cookie is not None
        cookies.append(cookie.value)
    # Every member has the same rights: keep the packs a member may download (not every meeting's).
    probe = app.test_client()
    probe.set_cookie(cookie_name, cookies[0])
    packs = [f"/meetings/{m}/pack" for m in meetings if probe.get(f"/meetings/{m}/pack").status_code == 200]
    attachment_urls = [f"/attachments/{a}" for a in attachments]
    for url in [*attachment_urls[:1], f"/clusters/{CLUSTER}"]:
        assert probe.get(url).status_code == 200, url
    assert packs, "no meeting pack is visible to the bench members"
    data = {
        "cookie_name": cookie_name,
        "cookies": cookies,
        "feeds": [f"/clusters/{CLUSTER}", f"/clusters/{CLUSTER}?page=2", f"/clusters/{CLUSTER}?page=3"],
        "feed_marker": FEED_MARKER,
        "posts": [f"/posts/{p}" for p in bench_posts],
        "attachments": attachment_urls,
        "packs": packs,
        "terms": [f"{a}+{b}" for a in WORDS[:5] for b in WORDS[5:]] + WORDS,
    }
    data_file.write_text(json.dumps(data), encoding="utf-8")
    print(
        f"prepared: {len(members)} members signed in, {len(bench_posts)} extra posts, "
        f"{len(attachment_urls)} attachments, {len(packs)} downloadable packs"
    )


@contextlib.contextmanager
def gunicorn(app_path: str, setting: list[str], env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    command = [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", *setting]
    command += ["--keep-alive", "5", "--timeout", "60", "--log-level", "warning", app_path]
    process = subprocess.Popen(command, cwd=ROOT, env=env)  # fixed argv, loopback only
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/", timeout=5):  # noqa: S310 (loopback)
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn {app_path} did not start") from None
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def locust(base: str, mode: str, users: int, seconds: int, data_file: Path, work: Path) -> dict[str, Figures]:
    prefix = work / f"locust-{mode}-{secrets.token_hex(3)}"
    env = dict(os.environ, PAX_BENCH_DATA=str(data_file), PAX_BENCH_MODE=mode)
    command = [
        str(LOCUST),
        "--locustfile",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "--host",
        base,
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "10",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    log = Path(f"{prefix}.log")
    with log.open("w", encoding="utf-8") as output:
        done = subprocess.run(command, env=env, check=False, stdout=output, stderr=output, timeout=seconds + 120)
    if not Path(f"{prefix}_stats.csv").exists():
        raise RuntimeError(f"locust failed ({done.returncode}): {log.read_text(encoding='utf-8')[-2000:]}")
    figures = {}
    with open(f"{prefix}_stats.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            label = "overall" if row["Name"] == "Aggregated" else row["Name"]
            figures[label] = Figures(
                label=label,
                requests=int(row["Request Count"]),
                failures=int(row["Failure Count"]),
                rps=float(row["Requests/s"]),
                p50=_ms(row["50%"]),
                p95=_ms(row["95%"]),
                p99=_ms(row["99%"]),
            )
    failures = Path(f"{prefix}_failures.csv")
    if failures.exists():
        for row in list(csv.DictReader(failures.open(encoding="utf-8")))[:5]:
            print(f"    error: {row['Name']}: {row['Error']} ({row['Occurrences']}x)")
    return figures


def _ms(value: str) -> float:
    return float(value) if value not in ("", "N/A") else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds of the members and capacity phases")
    parser.add_argument("--users", type=int, default=200, help="simulated members")
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--compare-seconds", type=int, default=15, help="seconds per worker setting compared")
    parser.add_argument("--worker-setting", choices=sorted(WORKER_SETTINGS), help="skip the comparison")
    args = parser.parse_args(argv)
    if not LOCUST.exists():
        print(f"locust is not installed at {LOCUST}: run `make bench-load`", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="pax-bench-load-") as tmp, database(Path(tmp), args.backend) as url:
        work = Path(tmp)
        env = portal_environment(work, url)
        data_file = work / "members.json"
        started = time.monotonic()
        prepare(env, args.users, data_file)
        print(f"  (setup took {time.monotonic() - started:.0f} s; not measured)")
        print(f"gunicorn on 127.0.0.1, {args.backend}, {os.cpu_count()} CPUs, locust {args.users} users")

        chosen = args.worker_setting
        if chosen is None:
            print(f"\n1. worker setting: the feed page alone, no pause, {args.compare_seconds} s each")
            best: tuple[float, str] | None = None
            for name, setting in WORKER_SETTINGS.items():
                with gunicorn("app.wsgi:app", setting, env) as base:
                    figures = locust(base, "feed", args.users, args.compare_seconds, data_file, work)
                feed = figures.get("feed") or figures["overall"]
                feed.label = name
                print(feed.line())
                score = feed.rps if feed.failures == 0 else -1.0
                if best is None or score > best[0]:
                    best = (score, name)
            assert best is not None
            chosen = best[1]
            print(f"  chosen: {chosen} ({' '.join(WORKER_SETTINGS[chosen])})")
        setting = WORKER_SETTINGS[chosen]

        with gunicorn("app.wsgi:app", setting, env) as base:
            print(f"\n2. members: {args.users} members browse for {args.duration} s (0.5-1.5 s between pages)")
            members = locust(base, "members", args.users, args.duration, data_file, work)
            for label in ["overall", "feed", "search", "post", "dashboard", "attachment", "pack"]:
                if label in members:
                    print(members[label].line())
            print(f"\n3. capacity: the feed page alone, no pause, {args.users} users, {args.duration} s")
            capacity = locust(base, "feed", args.users, args.duration, data_file, work)
            feed = capacity.get("feed") or capacity["overall"]
            print(feed.line())
        with gunicorn("bench.plain:app", setting, env) as base:
            plain_figures = locust(base, "plain", args.users, args.duration, data_file, work)
            plain = plain_figures.get("plain") or plain_figures["overall"]
            plain.label = "plain 50-row page"
            print(plain.line())
        with gunicorn("bench.hello:app", setting, env) as base:
            hello_figures = locust(base, "hello", args.users, args.duration, data_file, work)
            hello = hello_figures.get("hello") or hello_figures["overall"]
            hello.label = "hello (bare Flask)"
            print(hello.line())

        ratio = feed.rps / hello.rps if hello.rps else 0.0
        member_feed = members.get("feed") or members["overall"]
        errors = members["overall"].failures + feed.failures + plain.failures + hello.failures
        print(f"\nfeed_rps / hello_rps = {feed.rps:.1f} / {hello.rps:.1f} = {ratio:.3f} (goal >= 0.15)")
        if hello.rps and plain.rps:
            print(
                f"plain_rps / hello_rps = {plain.rps:.1f} / {hello.rps:.1f} = {plain.rps / hello.rps:.3f}"
                f"; feed_rps / plain_rps = {feed.rps / plain.rps:.3f}"
            )
        print(f"members' feed p99 = {member_feed.p99:.0f} ms (goal < 250 ms); errors in all phases: {errors} (goal 0)")
        met = ratio >= 0.15 and member_feed.p99 < 250 and errors == 0
        print("goals met" if met else "goals NOT met")
        return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
