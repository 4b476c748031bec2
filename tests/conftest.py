"""Shared fixtures: a real database per run (SQLite or PostgreSQL), the app, clients, factories.

``PAX_TEST_DB=postgresql`` runs the suite against a fresh database on the PostgreSQL server
(``PAX_TEST_PG_URL``, default postgres@127.0.0.1:5432), created for this run and dropped after.
Without it the suite runs on a fresh SQLite file. Tables are emptied after every test, except
the clusters the first migration creates.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from tests.support import databases

TEST_PASSWORD = "correct horse battery staple"


# --- one compiled copy of each template for the whole run ---------------------------------


class _RunBytecodeCache(jinja2.BytecodeCache):
    """Every test builds its own app, and each app's Jinja environment would compile every
    template it renders again (most of a page test's time). Compiled templates are kept for the
    run instead, keyed by Jinja on the template's name and source checksum."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self._compiled:
            bucket.bytecode_from_string(self._compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


_RUN_BYTECODE_CACHE = _RunBytecodeCache()
_create_jinja_environment = Flask.create_jinja_environment


def _jinja_environment_with_run_cache(self: Flask) -> Any:
    environment = _create_jinja_environment(self)
    environment.bytecode_cache = _RUN_BYTECODE_CACHE
    return environment


Flask.create_jinja_environment = _jinja_environment_with_run_cache  # type: ignore[method-assign]

# Werkzeug compiles a URL builder (Python source, then ``compile``) for every rule of every new
# app; a test builds an app and then asks for a handful of URLs, so the rest is built only when
# first asked for. Same builders, same URLs: only when they are made changes.
_compile_builder = Rule._compile_builder


def _builder_compiled_on_first_use(self: Rule, append_unknown: bool = True) -> Any:
    compiled: Callable[..., tuple[str, str]] | None = None

    def build(rule: Rule, **values: Any) -> tuple[str, str]:
        nonlocal compiled
        if compiled is None:
            compiled = _compile_builder(rule, append_unknown)
        return compiled(rule, **values)

    return build


Rule._compile_builder = _builder_compiled_on_first_use  # type: ignore[method-assign]


# --- no traffic beyond this machine --------------------------------------------------------

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_address(sock: socket.socket, address: Any) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = address[0]
    if host == "localhost":
        return
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise RuntimeError(f"test tried to reach non-loopback host {host!r}") from None
    if not ip.is_loopback:
        raise RuntimeError(f"test tried to reach non-loopback address {host}")


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    _check_address(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    _check_address(self, address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def loopback_only() -> Iterator[None]:
    """Fail any test that opens a network connection beyond loopback."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


# --- database and app -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def test_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pax")


@pytest.fixture(scope="session")
def database_url(test_root: Path) -> Iterator[str]:
    """A fresh database for this run, migrated to head."""
    with databases.fresh_database(test_root, "run") as url:
        databases.upgrade(url, "head")
        yield url


def make_config(test_root: Path, database_url: str, **overrides: Any):  # type: ignore[no-untyped-def]
    from config import TestingConfig

    config = TestingConfig()
    config.INSTANCE_PATH = str(test_root / "instance")
    config.DATABASE_URL = database_url
    config.KEYS_FILE = str(test_root / "keys.json")
    config.KEYS_AUTOCREATE = True
    # A blob directory per app, so a test sees only the blobs it made.
    config.STORAGE_URL = f"file://{test_root / 'blobs' / secrets.token_hex(6)}"
    config.SECRET_KEY = "test-secret-" + "x" * 32
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


@pytest.fixture
def config_factory(test_root: Path, database_url: str) -> Callable[..., Any]:
    return lambda **overrides: make_config(test_root, database_url, **overrides)


class IsolatedClient(FlaskClient):
    """Each request runs in its own application context, as it does in a server.

    Without this, a request would reuse the test's context, sharing ``g`` and the database
    session across requests and hiding bugs that only a real server shows.
    """

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(config_factory: Callable[..., Any]) -> Iterator[Flask]:
    from app import create_app
    from app.extensions import db

    application = create_app(config_factory())
    application.test_client_class = IsolatedClient
    with application.app_context():
        yield application
        db.session.remove()
    databases.empty_tables(db.engine)


@pytest.fixture
def db_session(app: Flask):  # type: ignore[no-untyped-def]
    from app.extensions import db

    return db.session


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


# --- factories ----------------------------------------------------------------------------------


class Factory:
    """Creates organisations and users through the same services the CLI and pages use."""

    def __init__(self) -> None:
        self.counter = 0
        #: user id -> (TOTP secret, unused recovery codes) for accounts enrolled by ``enrol_mfa``.
        self.mfa: dict[int, tuple[str, list[str]]] = {}

    def enrol_mfa(self, user):  # type: ignore[no-untyped-def]
        """Enrol TOTP through the MFA service; the secret and recovery codes are kept for logins."""
        import pyotp

        from app.auth import mfa
        from app.extensions import db

        secret = pyotp.random_base32()
        codes = mfa.enrol(user, secret, pyotp.TOTP(secret).now())
        assert codes is not None
        db.session.commit()
        self.mfa[user.id] = (secret, list(codes))
        return secret

    def _next(self) -> int:
        self.counter += 1
        return self.counter

    def org(
        self, type_: str = "port_authority", name: str | None = None, country: str = "BE", domain: str | None = None
    ):  # type: ignore[no-untyped-def]
        from app.directory.services import create_organisation
        from app.extensions import db

        n = self._next()
        org = create_organisation(
            name or f"Organisation {n} {secrets.token_hex(2)}",
            type_,
            country,
            [domain] if domain else [f"org{n}-{secrets.token_hex(2)}.example"],
        )
        db.session.commit()
        return org

    def user(  # type: ignore[no-untyped-def]
        self,
        org=None,
        role: str = "member",
        status: str = "active",
        clusters: dict[str, str] | None = None,
        focal_point: bool = False,
        email: str | None = None,
        password: str | None = TEST_PASSWORD,
        org_type: str = "port_authority",
    ):
        from app.auth.models import UserStatus
        from app.auth.services import create_user, grant_membership
        from app.extensions import db

        org = org or self.org(org_type)
        n = self._next()
        user = create_user(
            email or f"user{n}@{org.email_domains[0]}",
            f"Test User {n}",
            org,
            role=role,
            password=password,
            status=UserStatus(status),
            is_focal_point=focal_point,
        )
        for slug, membership_role in (clusters or {}).items():
            grant_membership(user, slug, membership_role)
        db.session.commit()
        return user


@pytest.fixture
def make(app: Flask) -> Factory:
    return Factory()


# --- logging in ----------------------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


def login(client: FlaskClient, email: str, password: str = TEST_PASSWORD):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def sign_in(client: FlaskClient, make: Factory, user, password: str = TEST_PASSWORD) -> FlaskClient:  # type: ignore[no-untyped-def]
    """Sign ``user`` in on ``client``, passing the second factor with a recovery code when needed.

    Accounts whose role requires MFA are enrolled first. Recovery codes are used because a TOTP
    code is accepted once per time step; the MFA tests exercise TOTP itself.
    """
    from app.policy import mfa_required

    if user.id not in make.mfa and (user.totp_secret_sealed or mfa_required(user)):
        assert not user.totp_secret_sealed, "enrol MFA through make.enrol_mfa so tests know the codes"
        make.enrol_mfa(user)
    response = login(client, user.email, password)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    if response.headers["Location"] == "/login/mfa":
        code = make.mfa[user.id][1].pop()
        page = client.get("/login/mfa").get_data(as_text=True)
        response = client.post("/login/mfa", data={"code": code, "csrf_token": csrf_token_from(page)})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


@pytest.fixture
def login_as(client: FlaskClient, make: Factory) -> Callable[..., Any]:
    def _login(user, password: str = TEST_PASSWORD):  # type: ignore[no-untyped-def]
        return sign_in(client, make, user, password)

    return _login


@pytest.fixture
def new_client(app: Flask, make: Factory) -> Callable[..., FlaskClient]:
    """Another browser: ``new_client(user)`` returns a separate client signed in as ``user``."""

    def _new(user=None):  # type: ignore[no-untyped-def]
        other = app.test_client()
        return sign_in(other, make, user) if user is not None else other

    return _new


# --- object storage ------------------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) on loopback for this test; ``.inbox`` holds what it received."""
    from tests.support.smtp import SmtpServer

    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's standalone S3 server on loopback, with the credentials boto3 will read."""
    from tests.support.s3 import CREDENTIALS, moto_server

    saved = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    try:
        with moto_server() as endpoint:
            yield endpoint
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(params=["local", "s3"])
def storage_settings(request: pytest.FixtureRequest, test_root: Path) -> dict[str, Any]:
    """App settings for each blob store backend: a local directory and S3 (moto), fresh per test."""
    name = f"t{secrets.token_hex(6)}"
    if request.param == "local":
        return {"STORAGE_URL": f"file://{test_root / 'stores' / name}"}
    from tests.support.s3 import create_bucket

    endpoint = request.getfixturevalue("s3_endpoint")
    create_bucket(endpoint, name)
    return {"STORAGE_URL": f"s3://{name}/pax", "S3_ENDPOINT_URL": endpoint}


@pytest.fixture
def files_app(config_factory: Callable[..., Any], storage_settings: dict[str, Any]) -> Iterator[Flask]:
    """The app on each blob store backend."""
    from app import create_app
    from app.extensions import db

    application = create_app(config_factory(**storage_settings))
    application.test_client_class = IsolatedClient
    with application.app_context():
        yield application
        db.session.remove()
    databases.empty_tables(db.engine)


def pytest_report_header(config: pytest.Config) -> str:
    return f"PAX test database: {os.environ.get('PAX_TEST_DB', 'sqlite')}"


__all__ = ["TEST_PASSWORD", "Factory", "csrf_token_from", "login", "sa", "sign_in"]
