"""Faults: the database going away, the object store going away, the process killed mid-upload.

Each runs once, in one half of the suite:

- PostgreSQL restarted under a running gunicorn (PostgreSQL half: it is about PostgreSQL). A
  private throwaway cluster is used (``tests.support.pgcluster``), never the machine's server.
  While it is down every request fails fast with the portal's own 503 page or JSON error (no
  traceback, nothing of the driver's message); once it is back the same processes serve again.
- The object store unreachable before and in the middle of an upload, through the page and the
  API (SQLite half: the transaction boundary, not the database, decides it). The answer is a
  clear 503; no attachment row, no stored-file row, no blob remains.
- The gunicorn master and worker SIGKILLed while a large upload streams in (SQLite half, same
  reason). After a restart nothing of it is visible anywhere, and ``storage sweep`` removes the
  partial blob it left.
"""

from __future__ import annotations

import io
import os
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from tests.support import databases, pgcluster
from tests.support import gunicorn as gunicorn_support
from tests.test_scale_out import csrf, sign_in

PASSWORD = "fault tolerant pass phrase 7"
LEAKS = ("Traceback", "psycopg", "OperationalError", "sqlalchemy", "connection refused", 'File "/')

sqlite_half = pytest.mark.skipif(databases.backend() != "sqlite", reason="backend-independent: runs in the SQLite half")


def seed(tmp_path: Path, url: str, **settings: Any) -> dict[str, Any]:
    return gunicorn_support.seed_member(tmp_path, url, PASSWORD, **settings)


def assert_clean_failure(answer: requests.Response, elapsed: float) -> None:
    assert answer.status_code in (500, 503), (answer.status_code, answer.text[:300])
    assert elapsed < 10, f"a request took {elapsed:.1f} s while the database was down"
    for leak in LEAKS:
        assert leak.lower() not in answer.text.lower(), f"{leak!r} leaked into the answer: {answer.text[:500]}"


# --- PostgreSQL restarted mid-run -----------------------------------------------------------------


@pytest.mark.skipif(databases.backend() == "sqlite", reason="about PostgreSQL: runs in the PostgreSQL half")
@pytest.mark.skipif(pgcluster.available() is not None, reason=f"no private PostgreSQL: {pgcluster.available()}")
@pytest.mark.timeout(180)
def test_postgresql_restart_fails_cleanly_and_the_same_processes_recover(tmp_path: Path) -> None:
    with pgcluster.private_cluster() as cluster:
        admin = sa.create_engine(cluster.url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE pax"))
        admin.dispose()
        url = cluster.url("pax")
        databases.upgrade(url)
        storage_url = f"file://{tmp_path / 'blobs'}"
        seeded = seed(tmp_path, url, STORAGE_URL=storage_url)
        env = gunicorn_support.portal_env(tmp_path, url, seeded["secret_key"], PAX_STORAGE_URL=storage_url)
        api = {"Authorization": f"Bearer {seeded['token']}"}
        with gunicorn_support.running(["portal"], env, tmp_path, threads=2) as (portal,):
            browser = requests.Session()
            assert sign_in(browser, portal, seeded["email"], PASSWORD).status_code == 302
            post_page = f"{portal.url}/posts/{seeded['post_id']}"
            assert browser.get(post_page, timeout=10).status_code == 200
            assert requests.get(portal.url + "/api/v1/me", headers=api, timeout=10).status_code == 200
            processes = (portal.process.pid, portal.worker_pids())

            cluster.stop()
            for _round in range(2):  # the first request finds the pooled connections dead, the next none at all
                started = time.monotonic()
                page = browser.get(post_page, timeout=30)
                assert_clean_failure(page, time.monotonic() - started)
                assert page.headers["Content-Type"].startswith("text/html")
                assert page.status_code == 503 and "temporarily unavailable" in page.text

                started = time.monotonic()
                answer = requests.get(portal.url + "/api/v1/me", headers=api, timeout=30)
                assert_clean_failure(answer, time.monotonic() - started)
                assert answer.status_code == 503 and answer.json()["error"]["code"] == "unavailable"
                assert answer.headers["Retry-After"] == "30"

                # The sign-in page too (it used to be a 500: its after_request hook reads the providers).
                for signing_in in (
                    requests.get(portal.url + "/login", timeout=30),
                    requests.post(portal.url + "/login", data={"email": seeded["email"]}, timeout=30),
                    browser.get(portal.url + "/clusters/", timeout=30),
                ):
                    assert_clean_failure(signing_in, 0)
                    assert signing_in.status_code == 503, (signing_in.request.method, signing_in.request.url)
                    assert signing_in.headers["Retry-After"] == "30"
                    assert "temporarily unavailable" in signing_in.text

                started = time.monotonic()
                ready = requests.get(portal.url + "/readyz", timeout=30)
                assert_clean_failure(ready, time.monotonic() - started)
                assert ready.status_code == 503 and ready.json()["database"] == "unreachable"

            cluster.start()
            assert requests.get(portal.url + "/readyz", timeout=10).status_code == 200
            assert requests.get(portal.url + "/login", timeout=10).status_code == 200
            assert browser.get(post_page, timeout=10).status_code == 200, "the session did not survive the restart"
            assert requests.get(portal.url + "/api/v1/me", headers=api, timeout=10).json()["email"] == seeded["email"]
            assert (portal.process.pid, portal.worker_pids()) == processes, "gunicorn restarted a process"


# --- SQLite held by another process -----------------------------------------------------------------


@pytest.mark.skipif(databases.backend() != "sqlite", reason="about SQLite: runs in the SQLite half")
@pytest.mark.timeout(180)
@pytest.mark.slow
def test_sqlite_held_by_another_process_fails_cleanly_and_the_same_processes_recover(tmp_path: Path) -> None:
    """SQLite has no server to go down: what takes it away from the portal is another process
    holding its write lock (a backup, an operator's ``sqlite3`` shell, a stuck job). Every request
    that must write then answers 503 with Retry-After once the busy timeout passes, nothing half
    written; when the lock is released the same processes write again."""
    import sqlite3

    from tests.test_api_posts import best_practice

    path = tmp_path / "pax.db"
    url = f"sqlite:///{path}"
    databases.upgrade(url)
    seeded = seed(tmp_path, url)
    env = gunicorn_support.portal_env(tmp_path, url, seeded["secret_key"])
    api = {"Authorization": f"Bearer {seeded['token']}"}
    with gunicorn_support.running(["portal"], env, tmp_path, threads=2) as (portal,):
        browser = requests.Session()
        assert sign_in(browser, portal, seeded["email"], PASSWORD).status_code == 302
        post_page = f"{portal.url}/posts/{seeded['post_id']}"
        assert browser.get(post_page, timeout=10).status_code == 200
        processes = (portal.process.pid, portal.worker_pids())

        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            writes = (
                (
                    "api",
                    lambda: requests.post(
                        portal.url + "/api/v1/posts", json=best_practice(cluster="policy"), headers=api, timeout=30
                    ),
                ),
                ("sign-in", lambda: sign_in(requests.Session(), portal, seeded["email"], PASSWORD)),
                ("AMBER read (audited)", lambda: browser.get(post_page, timeout=30)),
            )
            for what, write in writes:
                started = time.monotonic()
                answer = write()
                assert_clean_failure(answer, time.monotonic() - started)
                assert answer.status_code == 503, (what, answer.status_code, answer.text[:300])
                assert answer.headers["Retry-After"] == "30", what
        finally:
            holder.execute("ROLLBACK")
            holder.close()

        created = requests.post(
            portal.url + "/api/v1/posts", json=best_practice(cluster="policy"), headers=api, timeout=10
        )
        assert created.status_code == 201, created.text[:300]
        assert browser.get(post_page, timeout=10).status_code == 200
        assert sign_in(requests.Session(), portal, seeded["email"], PASSWORD).status_code == 302
        assert (portal.process.pid, portal.worker_pids()) == processes, "gunicorn restarted a process"
    with sqlite3.connect(path) as check:
        titles = [
            row[0] for row in check.execute("SELECT title FROM posts WHERE title = ?", (best_practice()["title"],))
        ]
    assert len(titles) == 1, "the refused post was half written, or the later one lost"


# --- the object store unavailable during an upload -------------------------------------------------


class CutAfter(io.BytesIO):
    """A request body that cuts the object store off once ``after`` bytes of it have been read."""

    def __init__(self, body: bytes, after: int, cut: Any):
        super().__init__(body)
        self._after = after
        self._cut = cut

    def _check(self) -> None:
        if self._cut is not None and self.tell() >= self._after:
            self._cut()
            self._cut = None

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self._check()
        return data

    def read1(self, size: int = -1) -> bytes:
        data = super().read1(size)
        self._check()
        return data

    def readinto(self, buffer: Any) -> int:
        count = super().readinto(buffer)
        self._check()
        return count


@pytest.fixture
def s3_behind_a_switch(config_factory: Any, s3_endpoint: str) -> Iterator[tuple[Any, Any, str]]:
    """The app on S3 (moto) reached through a forwarder the test can cut; yields (app, proxy, bucket)."""
    from app import create_app
    from app.extensions import db
    from tests.conftest import IsolatedClient
    from tests.support.s3 import create_bucket
    from tests.support.tcpproxy import Forwarder

    bucket = f"fault-{secrets.token_hex(4)}"
    create_bucket(s3_endpoint, bucket)
    with Forwarder(int(s3_endpoint.rsplit(":", 1)[1])) as proxy:
        application = create_app(config_factory(STORAGE_URL=f"s3://{bucket}/pax", S3_ENDPOINT_URL=proxy.url))
        application.test_client_class = IsolatedClient
        with application.app_context():
            yield application, proxy, bucket
            db.session.remove()
        databases.empty_tables(db.engine)


def _multipart(name: str, content: bytes, fields: dict[str, str]) -> bytes:
    parts = [
        f'--paxfault\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    head = f'--paxfault\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
    parts.append(head.encode() + b"Content-Type: text/plain\r\n\r\n" + content + b"\r\n")
    return b"".join(parts) + b"--paxfault--\r\n"


def _uploader(app: Any, make: Any, through: str) -> tuple[Any, Any, str, dict[str, str], dict[str, str]]:
    """An AMBER post's contributor ready to upload to it through the page (signed in, with the
    form's CSRF token) or the API (bearer token): client, post, path, form fields, headers."""
    from tests.conftest import sign_in as sign_in_client
    from tests.test_api_posts import bearer
    from tests.test_posts_pages import publish

    author = make.user(clusters={"policy": "contributor"})
    post = publish(author, tlp="AMBER")
    client = app.test_client()
    if through == "page":
        sign_in_client(client, make, author)
        fields = {"csrf_token": csrf(client.get(f"/posts/{post.id}").get_data(as_text=True))}
        return client, post, f"/posts/{post.id}/attachments", fields, {}
    return client, post, f"/api/v1/posts/{post.id}/attachments", {}, bearer(author)


@sqlite_half
@pytest.mark.timeout(120)
@pytest.mark.parametrize("when", ["before", "during"])
@pytest.mark.parametrize("through", ["page", "api"])
def test_store_unavailable_during_upload_is_a_clear_error_and_stores_nothing(
    s3_behind_a_switch: tuple[Any, Any, str], s3_endpoint: str, make: Any, through: str, when: str
) -> None:
    import boto3

    from app.clusters.models import Attachment
    from app.extensions import db
    from app.files.models import StoredFile
    from app.files.services import blob_store, sweep

    app, proxy, bucket = s3_behind_a_switch
    client, _post, path, fields, headers = _uploader(app, make, through)
    # During: past the first 8 MiB part (already sent to the store), before the upload completes.
    content = b"".join(b"manifest line %07d\n" % n for n in range(500_000))  # 11 MiB
    body = _multipart("manifest.txt", content, fields)
    if when == "before":
        proxy.cut()
        stream: Any = io.BytesIO(body)
    else:
        stream = CutAfter(body, 10 * 1024 * 1024, proxy.cut)
    answer = client.post(
        path,
        input_stream=stream,
        headers={**headers, "Content-Length": str(len(body))},
        content_type="multipart/form-data; boundary=paxfault",
    )
    proxy.restore()

    assert answer.status_code == 503
    if through == "api":
        assert answer.get_json()["error"]["code"] == "unavailable"
        assert "file store is unavailable" in answer.get_json()["error"]["message"]
    else:
        page = answer.get_data(as_text=True)
        assert "file store is unavailable, so the file was not saved" in page
        assert "Traceback" not in page
    with app.app_context():  # this app's store (``make`` pushed the default app's context too)
        assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(StoredFile.id))) == 0
        assert list(blob_store().list_blobs()) == []
        s3 = boto3.client("s3", endpoint_url=s3_endpoint)
        assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
        # A multipart upload the store could not be told to abort is what the sweep is for.
        sweep(0)
        assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


# --- the process killed during an upload -----------------------------------------------------------


@sqlite_half
@pytest.mark.timeout(120)
@pytest.mark.committed_db
@pytest.mark.slow
def test_process_killed_mid_upload_leaves_no_visible_record_and_sweep_removes_the_partial(
    app: Any, make: Any, runner: Any, database_url: str, tmp_path: Path
) -> None:
    from tests.test_api_posts import bearer
    from tests.test_posts_pages import publish

    author = make.user(clusters={"policy": "contributor"}, password=PASSWORD)
    post_id = publish(author, tlp="AMBER").id
    api = bearer(author)
    blobs = Path(app.config["STORAGE_URL"].removeprefix("file://"))
    env = gunicorn_support.portal_env(
        tmp_path, database_url, app.config["SECRET_KEY"], PAX_STORAGE_URL=app.config["STORAGE_URL"]
    ) | {"PAX_KEYS_FILE": app.config["KEYS_FILE"]}

    portal = gunicorn_support.start("portal", env, tmp_path)
    try:
        size = 64 * 1024 * 1024
        head = (
            b'--paxkill\r\nContent-Disposition: form-data; name="file"; filename="huge.txt"\r\n'
            b"Content-Type: text/plain\r\n\r\n"
        )
        tail = b"\r\n--paxkill--\r\n"
        request = (
            f"POST /api/v1/posts/{post_id}/attachments HTTP/1.1\r\nHost: 127.0.0.1:{portal.port}\r\n"
            f"Authorization: {api['Authorization']}\r\n"
            "Content-Type: multipart/form-data; boundary=paxkill\r\n"
            f"Content-Length: {len(head) + size + len(tail)}\r\nConnection: close\r\n\r\n"
        ).encode()
        chunk = b"container MSCU1234565 sealed\n" * 36_000  # ~1 MiB
        with socket.create_connection(("127.0.0.1", portal.port), timeout=10) as upload:
            upload.sendall(request + head)
            sent = 0
            deadline = time.monotonic() + 30
            partials: list[Path] = []
            while sent < 8 * len(chunk) or not partials:
                assert time.monotonic() < deadline, "the upload never reached the blob store"
                upload.sendall(chunk)
                sent += len(chunk)
                time.sleep(0.05)  # slowly
                partials = list((blobs / ".partial").glob("*")) if (blobs / ".partial").is_dir() else []
            assert sent < size
            portal.kill()  # master and worker, mid-body
    finally:
        portal.stop()
    assert partials and all(p.exists() for p in partials), "the killed upload left no partial blob"

    with gunicorn_support.running(["restarted"], env, tmp_path) as (restarted,):
        shown = requests.get(f"{restarted.url}/api/v1/posts/{post_id}", headers=api, timeout=10).json()
        assert shown["attachments"] == []
        with requests.Session() as browser:
            assert sign_in(browser, restarted, author.email, PASSWORD).status_code == 302
            assert "huge.txt" not in browser.get(f"{restarted.url}/posts/{post_id}", timeout=10).text
    from app.clusters.models import Attachment
    from app.extensions import db
    from app.files.models import StoredFile

    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(StoredFile.id))) == 0

    # What the killed process left is older than the sweep's grace period an hour later.
    two_hours_ago = time.time() - 7200
    for partial in partials:
        os.utime(partial, (two_hours_ago, two_hours_ago))
    swept = runner.invoke(args=["storage", "sweep", "--grace-hours", "1"])
    assert swept.exit_code == 0, swept.output
    assert f"Removed {len(partials)} unfinished uploads, 0 orphaned blobs and " in swept.output
    assert list((blobs / ".partial").glob("*")) == []
    assert [p for p in blobs.rglob("*") if p.is_file()] == []


# --- Redis (the rate-limit store) going away and coming back ---------------------------------------


@sqlite_half
@pytest.mark.timeout(120)
@pytest.mark.slow
def test_redis_down_sign_in_and_api_keep_working_on_in_process_limits_and_recover(
    config_factory: Any, make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis cut off: sign-in and the API still answer (no 500), limits still hold (in process), one
    warning is logged for the minute, not one per request; Redis back: counts go to it again."""
    import logging

    import redis

    from app import create_app
    from app.auth.tokens import create_token
    from app.extensions import db
    from tests.conftest import IsolatedClient, csrf_token_from
    from tests.conftest import sign_in as sign_in_page
    from tests.support.tcpproxy import Forwarder

    member = make.user(clusters={"policy": "contributor"})
    _row, token = create_token(member, "redis-fault", "read", 1)
    db.session.commit()
    api = {"Authorization": f"Bearer {token}"}
    prefix = f"pax-fault-{secrets.token_hex(4)}"
    store = redis.Redis.from_url("redis://127.0.0.1:6379/14")

    def keys() -> int:
        return len(store.keys(f"*{prefix}*"))

    def failed_sign_in(client: Any, email: str) -> int:
        page = client.get("/login")
        assert page.status_code == 200, page.status_code
        token = csrf_token_from(page.get_data(as_text=True))
        answer = client.post("/login", data={"email": email, "password": "wrong", "csrf_token": token})
        return int(answer.status_code)

    with Forwarder(6379) as proxy:
        url = f"redis://127.0.0.1:{proxy.port}/14"
        portal = create_app(
            config_factory(
                RATELIMIT_ENABLED=True, REDIS_URL=url, RATELIMIT_STORAGE_URI=url, RATELIMIT_KEY_PREFIX=prefix
            )
        )
        portal.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: an error is a 500 page, not a raise
        portal.test_client_class = IsolatedClient
        browser = portal.test_client()
        assert portal.test_client().get("/api/v1/me", headers=api).status_code == 200
        assert failed_sign_in(portal.test_client(), "first@example.invalid") == 422
        assert keys() > 0, "the limits are not counted in Redis to begin with"

        proxy.cut()
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="pax.ratelimits"):
            assert sign_in_page(browser, make, member).get("/clusters/").status_code == 200
            for _ in range(5):
                assert portal.test_client().get("/api/v1/me", headers=api).status_code == 200
            # The per-account limit (5 a minute) still holds, counted in this process.
            statuses = [failed_sign_in(portal.test_client(), "nobody@example.invalid") for _ in range(7)]
        assert 500 not in statuses and statuses[0] == 422 and statuses[-1] == 429, statuses
        warnings = [r for r in caplog.records if "rate-limit store unreachable" in r.getMessage()]
        assert len(warnings) == 1, [r.getMessage() for r in caplog.records]

        proxy.restore()
        if keys():
            store.delete(*store.keys(f"*{prefix}*"))
        deadline, n = time.monotonic() + 60, 0
        while keys() == 0 and time.monotonic() < deadline:  # Flask-Limiter re-checks with a growing pause
            n += 1
            assert failed_sign_in(portal.test_client(), f"probe{n}@example.invalid") == 422
            time.sleep(0.5)
        assert keys() > 0, "the limits did not go back to Redis"
        db.session.remove()


# --- the blob disk full ---------------------------------------------------------------------------


@pytest.fixture
def full_blob_disk(tmp_path: Path, config_factory: Any) -> Iterator[tuple[Any, Path]]:
    """The app on a 2 MiB tmpfs of its own as blob directory (needs root, as CI has); yields (app, dir)."""
    import subprocess

    from app import create_app
    from app.extensions import db
    from tests.conftest import IsolatedClient

    blobs = tmp_path / "tiny-blobs"
    blobs.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(blobs)], check=False)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        application = create_app(config_factory(STORAGE_URL=f"file://{blobs}"))
        application.config["PROPAGATE_EXCEPTIONS"] = False  # as in production
        application.test_client_class = IsolatedClient
        with application.app_context():
            yield application, blobs
            db.session.remove()
    finally:
        subprocess.run(["umount", "-l", str(blobs)], check=False)


@sqlite_half
@pytest.mark.timeout(120)
@pytest.mark.parametrize("through", ["page", "api"])
def test_full_blob_disk_answers_507_keeps_nothing_and_the_portal_keeps_serving(
    full_blob_disk: tuple[Any, Path], make: Any, through: str
) -> None:
    from app.clusters.models import Attachment
    from app.extensions import db
    from app.files.models import StoredFile

    app, blobs = full_blob_disk
    client, post, path, fields, headers = _uploader(app, make, through)

    def upload(content: bytes) -> Any:
        body = _multipart("manifest.txt", content, fields)
        return client.post(
            path,
            input_stream=io.BytesIO(body),
            headers={**headers, "Content-Length": str(len(body))},
            content_type="multipart/form-data; boundary=paxfault",
        )

    big = b"".join(b"manifest line %07d\n" % n for n in range(200_000))  # 4.4 MiB on a 2 MiB disk
    answer = upload(big)
    assert answer.status_code == 507, answer.get_data(as_text=True)[:300]
    if through == "api":
        error = answer.get_json()["error"]
        assert error["code"] == "storage_full" and "nothing of it was kept" in error["message"].lower()
    else:
        page = answer.get_data(as_text=True)
        assert "no room left, so the file was not saved" in page and "Traceback" not in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(StoredFile.id))) == 0
    assert [p for p in blobs.rglob("*") if p.is_file()] == [], "a half-written blob was left"

    # The portal keeps serving: pages, and an upload that fits.
    assert client.get(f"/posts/{post.id}" if through == "page" else "/api/v1/me", headers=headers).status_code == 200
    small = upload(b"seal numbers checked at gate 4\n")
    assert small.status_code in (201, 302), small.get_data(as_text=True)[:300]


# --- a damaged blob: the portal's own error, wherever the damage sits --------------------------------


@sqlite_half
def _stored_two_megabytes(client: Any, make: Any) -> tuple[dict[str, str], bytes, int]:
    """An AMBER post's 2 MB attachment (31 segments, more than one write), uploaded through the
    API by its author: (the author's API headers, the content, the attachment's id)."""
    from tests.test_api_posts import bearer
    from tests.test_posts_pages import publish

    author = make.user(clusters={"policy": "contributor"})
    post = publish(author, tlp="AMBER")
    headers = bearer(author)
    content = os.urandom(1_000_000).hex().encode()
    body = _multipart("data.txt", content, {})
    created = client.post(
        f"/api/v1/posts/{post.id}/attachments",
        input_stream=io.BytesIO(body),
        headers={**headers, "Content-Length": str(len(body))},
        content_type="multipart/form-data; boundary=paxfault",
    )
    assert created.status_code == 201, created.get_json()
    return headers, content, created.get_json()["id"]


@pytest.mark.parametrize("where", ["first", "last", "last-of-range"])
def test_damaged_blob_is_a_clean_error_before_any_byte(client: Any, make: Any, where: str) -> None:
    """Damage in the first or the last segment (of the file or of a Range) is found before the
    status line: the API's JSON error (and the page's error page), never a server's bare 500."""
    from app.clusters.models import Attachment
    from app.extensions import db
    from app.files import crypto
    from app.files.services import blob_store

    headers, content, attachment_id = _stored_two_megabytes(client, make)
    db.session.commit()
    record = db.session.get(Attachment, attachment_id).file
    reader = blob_store().open(record.blob_key)
    raw = bytearray(reader.read(10**9))
    reader.close()
    stored = crypto.SEGMENT_SIZE + crypto.TAG_SIZE
    offset = {
        "first": crypto.HEADER_SIZE + 5,
        "last": len(raw) - 3,
        "last-of-range": crypto.HEADER_SIZE + 20 * stored + 7,
    }
    raw[offset[where]] ^= 0x01
    with blob_store().writer(record.blob_key) as writer:
        writer.write(bytes(raw))

    wanted = dict(headers)
    if where == "last-of-range":  # bytes 1 MiB .. segment 20, whose last segment is the damaged one
        wanted["Range"] = f"bytes={crypto.SEGMENT_SIZE * 2}-{crypto.SEGMENT_SIZE * 20 + 100}"
    answer = client.get(f"/api/v1/attachments/{attachment_id}", headers=wanted)
    assert answer.status_code == 500 and answer.is_json, answer.status_code
    assert answer.get_json()["error"]["code"] == "file_integrity"
    assert content[:4096] not in answer.data
    page = client.get(f"/api/v1/attachments/{attachment_id}", headers={**wanted, "Accept": "text/html"})
    assert page.get_json()["error"]["code"] == "file_integrity"  # the API answers JSON whatever is asked


@pytest.mark.committed_db
@pytest.mark.parametrize("size", ["verified whole", "longer"])
def test_damage_in_the_middle_is_a_clean_error_or_cuts_one_download_and_refuses_the_next(
    client: Any, make: Any, runner: Any, monkeypatch: pytest.MonkeyPatch, size: str
) -> None:
    """Damage in a middle segment: a download of up to ``VERIFIED_WHOLE_UP_TO`` is authenticated
    whole first, so it is the clean error at once. In a longer one (the limit lowered here, not
    the file made 64 MiB) it shows only when the stream reaches it, after the status line: that
    download is cut short (never bad bytes) and the file is marked damaged, so the next request
    gets the clean error before any byte. ``storage verify`` finds the same damage by itself,
    and clears the mark once the blob is restored from a backup."""
    from app.clusters.models import Attachment
    from app.extensions import db
    from app.files import crypto, http
    from app.files.services import BlobDamaged, blob_store

    headers, content, attachment_id = _stored_two_megabytes(client, make)
    url = f"/api/v1/attachments/{attachment_id}"
    record = db.session.get(Attachment, attachment_id).file
    reader = blob_store().open(record.blob_key)
    original = reader.read(10**9)
    reader.close()
    damaged = bytearray(original)
    damaged[crypto.HEADER_SIZE + 20 * (crypto.SEGMENT_SIZE + crypto.TAG_SIZE) + 7] ^= 0x01
    with blob_store().writer(record.blob_key) as writer:
        writer.write(bytes(damaged))

    if size == "longer":
        monkeypatch.setattr(http, "VERIFIED_WHOLE_UP_TO", 1024 * 1024)
        first = client.get(url, headers=headers, buffered=False)
        assert first.status_code == 200 and int(first.headers["Content-Length"]) == len(content)
        received = b""
        with pytest.raises(BlobDamaged):
            for piece in first.response:
                received += piece
        first.close()
        assert len(received) < len(content) and content.startswith(received), "bad or extra bytes were sent"

    again = client.get(url, headers=headers)
    assert again.status_code == 500 and again.get_json()["error"]["code"] == "file_integrity"
    assert content[:4096] not in again.data

    scrub = runner.invoke(args=["storage", "verify"])
    assert scrub.exit_code == 1 and "1 damaged" in scrub.output, scrub.output

    with blob_store().writer(record.blob_key) as writer:
        writer.write(original)
    restored = runner.invoke(args=["storage", "verify"])
    assert restored.exit_code == 0 and "1 restored" in restored.output, restored.output
    assert client.get(url, headers=headers).data == content


# --- a slow upload beside other members' work ---------------------------------------------------------


def _another_member(tmp_path: Path, url: str) -> dict[str, Any]:
    """A second policy contributor with an AMBER post and a write token, beside ``seed``'s."""
    from app import create_app
    from app.auth.tokens import create_token
    from app.extensions import db
    from tests.conftest import Factory, make_config
    from tests.test_posts_pages import publish

    seeder = create_app(make_config(tmp_path, url))
    with seeder.app_context():
        factory = Factory()
        factory.counter = 1000  # other e-mail addresses than the first seed's
        member = factory.user(clusters={"policy": "contributor"}, password=PASSWORD)
        post = publish(member, tlp="AMBER")
        _row, token = create_token(member, "seed", "write", 1)
        db.session.commit()
        made = {"post_id": post.id, "token": token}
        db.session.remove()
    db.engine.dispose()
    return made


@pytest.mark.timeout(120)
@pytest.mark.slow
def test_a_slow_upload_keeps_no_lock_other_members_write_and_read_meanwhile(tmp_path: Path) -> None:
    """An organisation's system uploads over a slow link (1 MiB at 256 KiB/s, a token not used
    for a while): meanwhile another member publishes notes and reads an AMBER post (each read an
    audit record) without waiting for it, and the upload is stored when it ends."""
    import http.client
    import threading

    from tests.test_api_posts import best_practice

    with databases.fresh_database(tmp_path, "slow-upload") as url:
        databases.upgrade(url)
        uploader = seed(tmp_path, url)
        member = _another_member(tmp_path, url)
        env = gunicorn_support.portal_env(tmp_path, url, uploader["secret_key"])
        with gunicorn_support.running(["portal"], env, tmp_path, threads=4) as (portal,):
            content = os.urandom(512 * 1024).hex().encode()  # 1 MiB
            body = _multipart("slow.txt", content, {})
            answer: dict[str, Any] = {}

            def slow_upload() -> None:
                host, port = portal.url.removeprefix("http://").split(":")
                conn = http.client.HTTPConnection(host, int(port), timeout=60)
                conn.putrequest("POST", f"/api/v1/posts/{uploader['post_id']}/attachments")
                conn.putheader("Authorization", f"Bearer {uploader['token']}")
                conn.putheader("Content-Type", "multipart/form-data; boundary=paxfault")
                conn.putheader("Content-Length", str(len(body)))
                conn.endheaders()
                for start in range(0, len(body), 64 * 1024):
                    conn.send(body[start : start + 64 * 1024])
                    time.sleep(0.25)  # 256 KiB/s
                response = conn.getresponse()
                answer["status"], answer["body"] = response.status, response.read()

            sender = threading.Thread(target=slow_upload)
            sender.start()
            time.sleep(0.5)  # the upload is under way
            api = {"Authorization": f"Bearer {member['token']}"}
            slowest = 0.0
            while sender.is_alive():
                started = time.monotonic()
                created = requests.post(
                    portal.url + "/api/v1/posts", json=best_practice(cluster="policy"), headers=api, timeout=30
                )
                read = requests.get(f"{portal.url}/api/v1/posts/{member['post_id']}", headers=api, timeout=30)
                slowest = max(slowest, time.monotonic() - started)
                assert created.status_code == 201 and read.status_code == 200, (created.text[:200], read.text[:200])
            sender.join()
            assert answer["status"] == 201, answer["body"][:300]
            assert slowest < 2, f"a member waited {slowest:.1f} s for a write and a read beside the upload"
