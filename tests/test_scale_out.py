"""Scale-out: two gunicorn instances behind one address share everything that is state.

Both run ``app.wsgi:app`` on their own loopback ports with the same environment: one throwaway
PostgreSQL database, Redis (a dedicated database number, flushed before and after), S3 (moto)
and the same keyring file and secret key. A browser (one ``requests.Session``, whose cookies
127.0.0.1 sends to both ports, as behind a load balancer) signs in on one and is signed in on
the other; the login rate limit counts across both; a file uploaded through one downloads
through the other; "sign out everywhere" on one ends the sessions on both at once.

PostgreSQL only: SQLite is the one-machine setup, not shared between app servers.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from tests.support import databases
from tests.support import gunicorn as gunicorn_support
from tests.support.gunicorn import Gunicorn

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(databases.backend() == "sqlite", reason="app servers share PostgreSQL, not SQLite"),
    pytest.mark.timeout(180),
]

#: A Redis database of its own (flushed before and after); change it if the machine uses this one.
REDIS_DB = int(os.environ.get("PAX_TEST_REDIS_DB", "11"))
REDIS_URL = os.environ.get("PAX_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{REDIS_DB}")
LOGIN_LIMIT = 4
PASSWORD = "scale out pass phrase 42"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf(html: str, action: str | None = None) -> str:
    """The CSRF token of the page (of the form posting to ``action`` when given)."""
    if action is not None:
        start = html.index(f'action="{action}"')
        html = html[start : html.index("</form>", start)]
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def sign_in(browser: requests.Session, server: Gunicorn, email: str, password: str) -> requests.Response:
    page = browser.get(server.url + "/login", timeout=10)
    assert page.status_code == 200, page.text[:300]
    return browser.post(
        server.url + "/login",
        data={"email": email, "password": password, "csrf_token": csrf(page.text)},
        allow_redirects=False,
        timeout=10,
    )


def signed_in(browser: requests.Session, server: Gunicorn) -> bool:
    answer = browser.get(server.url + "/account/", allow_redirects=False, timeout=10)
    assert answer.status_code in (200, 302), answer.status_code
    return answer.status_code == 200


@pytest.fixture
def shared(tmp_path: Path, s3_endpoint: str) -> Iterator[dict[str, Any]]:
    """A migrated database with one member, a post and a token; the environment both servers get."""
    from app.extensions import db
    from tests.support.s3 import CREDENTIALS, create_bucket

    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()
    bucket = f"scale-{secrets.token_hex(4)}"
    create_bucket(s3_endpoint, bucket)
    secret_key = secrets.token_urlsafe(40)
    with databases.fresh_database(tmp_path, "scale") as url:
        databases.upgrade(url)
        settings = {"STORAGE_URL": f"s3://{bucket}/pax", "S3_ENDPOINT_URL": s3_endpoint, "SECRET_KEY": secret_key}
        seeded = gunicorn_support.seed_member(tmp_path, url, PASSWORD, **settings)
        email, post_id, token = seeded["email"], seeded["post_id"], seeded["token"]
        env = gunicorn_support.portal_env(
            tmp_path,
            url,
            secret_key,
            **CREDENTIALS,
            PAX_STORAGE_URL=settings["STORAGE_URL"],
            PAX_S3_ENDPOINT_URL=s3_endpoint,
            PAX_REDIS_URL=REDIS_URL,
            PAX_RATELIMIT_ENABLED="true",
            PAX_LOGIN_LIMIT_PER_ADDRESS=f"{LOGIN_LIMIT} per minute",
        )
        try:
            yield {"env": env, "email": email, "post_id": post_id, "token": token, "redis": store}
        finally:
            store.flushdb()
            db.engine.dispose()


def test_two_instances_share_sessions_limits_files_and_revocation(shared: dict[str, Any], tmp_path: Path) -> None:
    email, store = shared["email"], shared["redis"]
    with gunicorn_support.running(["one", "two"], shared["env"], tmp_path) as (one, two):
        assert one.port != two.port and one.process.pid != two.process.pid

        # A session made on one works on the other (and the other way round).
        first = requests.Session()
        assert sign_in(first, one, email, PASSWORD).status_code == 302
        assert signed_in(first, two) and signed_in(first, one)
        second = requests.Session()
        assert sign_in(second, two, email, PASSWORD).status_code == 302
        assert signed_in(second, one)

        # A file uploaded through one downloads, the same bytes, through the other.
        content = b"".join(b"berth %06d: seal checked, crane 4 cleared\n" % n for n in range(20_000))
        auth = {"Authorization": f"Bearer {shared['token']}"}
        uploaded = requests.post(
            f"{one.url}/api/v1/posts/{shared['post_id']}/attachments",
            files={"file": ("berths.txt", content, "text/plain")},
            headers=auth,
            timeout=60,
        )
        assert uploaded.status_code == 201, uploaded.text[:300]
        attachment_id = uploaded.json()["id"]
        over_api = requests.get(f"{two.url}/api/v1/attachments/{attachment_id}", headers=auth, timeout=60)
        assert over_api.status_code == 200 and over_api.content == content
        on_page = second.get(f"{two.url}/attachments/{attachment_id}", timeout=60)
        assert on_page.status_code == 200 and on_page.content == content
        assert "berths.txt" in second.get(f"{one.url}/posts/{shared['post_id']}", timeout=10).text

        # "Sign out everywhere" on one: both browsers are signed out on both servers at once.
        account = first.get(one.url + "/account/", timeout=10).text
        ended = first.post(
            one.url + "/account/sessions/revoke-all",
            data={"csrf_token": csrf(account), "reauth_password": PASSWORD},
            allow_redirects=False,
            timeout=10,
        )
        assert ended.status_code == 302
        for browser in (first, second):
            for server in (two, one):
                assert not signed_in(browser, server), f"a revoked session still works on {server.name}"

        # The login rate limit counts attempts on both servers together (Redis), not per process.
        store.flushdb()
        anyone = requests.Session()
        answers = [sign_in(anyone, (one, two)[n % 2], "nobody@scale.example", "wrong").status_code for n in range(6)]
        assert answers == [422] * LOGIN_LIMIT + [429, 429], answers
        counted = store.scan_iter(match="*login*")
        assert next(counted, None) is not None, "the login limit was not counted in Redis"

    for server in (one, two):
        assert "Traceback" not in server.log.read_text(errors="replace"), server.log_tail()
