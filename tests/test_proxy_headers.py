"""Behind a reverse proxy (``PAX_PROXY_HOPS``): the client's address comes from X-Forwarded-For.

Without it every client would share the proxy's address, and so one login rate limit; with no
proxy configured, a client cannot escape the limit by sending the header itself.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import csrf_token_from
from tests.support import databases

pytestmark = pytest.mark.skipif(databases.backend() != "sqlite", reason="backend-independent: runs in the SQLite half")


def attempts(client: Any, forwarded_for: str, count: int) -> list[int]:
    statuses = []
    for _ in range(count):
        headers = {"X-Forwarded-For": forwarded_for}
        page = client.get("/login", headers=headers)
        token = csrf_token_from(page.get_data(as_text=True))
        answer = client.post(
            "/login", data={"email": "x@proxy.example", "password": "wrong", "csrf_token": token}, headers=headers
        )
        statuses.append(answer.status_code)
    return statuses


def portal(config_factory: Any, hops: int) -> Any:
    from app import create_app

    return create_app(config_factory(PROXY_HOPS=hops, RATELIMIT_ENABLED=True, LOGIN_LIMIT_PER_ADDRESS="2 per minute"))


def test_behind_one_proxy_each_client_has_its_own_limit(config_factory: Any) -> None:
    from flask import request

    app = portal(config_factory, 1)

    @app.get("/_seen")
    def seen() -> dict[str, Any]:
        return {"remote": request.remote_addr, "scheme": request.scheme}

    client = app.test_client()
    assert attempts(client, "203.0.113.7", 3) == [422, 422, 429]
    assert attempts(client, "198.51.100.9", 2) == [422, 422], "another client shared the first one's limit"
    forwarded = {"X-Forwarded-For": "192.0.2.1, 203.0.113.7", "X-Forwarded-Proto": "https"}
    assert client.get("/_seen", headers=forwarded).json == {"remote": "203.0.113.7", "scheme": "https"}


def test_without_a_proxy_the_header_is_not_believed(config_factory: Any) -> None:
    client = portal(config_factory, 0).test_client()
    assert attempts(client, "203.0.113.7", 2) == [422, 422]
    assert attempts(client, "198.51.100.9", 1) == [429], "a forged X-Forwarded-For escaped the limit"


def test_proxy_hops_is_checked(config_factory: Any) -> None:
    from config import ConfigError

    with pytest.raises(ConfigError, match="PAX_PROXY_HOPS"):
        config_factory(PROXY_HOPS=9).check()
