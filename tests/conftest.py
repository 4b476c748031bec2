"""Shared fixtures: a real database per run (SQLite or PostgreSQL), the app, clients, factories.

``PAX_TEST_DB=postgresql`` runs the suite against a fresh database on the PostgreSQL server
(``PAX_TEST_PG_URL``, default postgres@127.0.0.1:5432), created for this run and dropped after.
Without it the suite runs on a fresh SQLite file.

Each test process builds one app (``SharedApp``) and every test runs inside one connection's
transaction that is rolled back at its end (``rolled_back``): the app's sessionmaker is bound to
that connection with ``join_transaction_mode="create_savepoint"``, so the request's scoped
session and any other session made from the sessionmaker commit into SAVEPOINTs, never for
real, and requests still see what earlier requests committed. Tests whose data must be seen by
another connection (live servers and threads, subprocesses, a second app, code that opens its
own connection from the engine, or a write that must outlive the rollback of a request's
SAVEPOINT) ask for ``committed_db`` (fixture or marker; ``config_factory`` implies it): their
commits are real and the tables are emptied after the test, except the clusters the first
migration creates. ``own_app`` gives a test that adds routes an app of its own.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.support import databases

TEST_PASSWORD = "correct horse battery staple"


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


def _committed(request: pytest.FixtureRequest) -> bool:
    """Whether the test needs committed data that other connections see (module docstring)."""
    return request.node.get_closest_marker("committed_db") is not None or bool(
        {"committed_db", "config_factory"} & set(request.fixturenames)
    )


@pytest.fixture
def committed_db(database_url: str) -> Iterator[str]:
    """Commits are real and seen by every connection (live servers, threads, subprocesses, a
    second app); the tables are emptied afterwards. Also ``@pytest.mark.committed_db``."""
    yield database_url
    _empty_tables(database_url)


def _empty_tables(database_url: str) -> None:
    from app.db import make_engine

    engine = make_engine(database_url, pooled=False)
    try:
        databases.empty_tables(engine)
    finally:
        engine.dispose()


@pytest.fixture
def config_factory(test_root: Path, database_url: str, committed_db: str) -> Callable[..., Any]:
    """Settings for a test's own app (``create_app(config_factory(**overrides))``); such tests
    run on committed data, since a second app is a second user of the database."""
    return lambda **overrides: make_config(test_root, database_url, **overrides)


class IsolatedClient(FlaskClient):
    """Each request runs in its own application context, as it does in a server.

    Without this, a request would reuse the test's context, sharing ``g`` and the database
    session across requests and hiding bugs that only a real server shows.
    """

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        assert_plain_words(response)
        return response


#: What no message a member meets may hold: media types, form internals, library words. Every
#: refusal any test triggers through a test client is checked for it (``assert_plain_words``).
JARGON = re.compile(
    r"\b(?:application|multipart|text|image)/[a-z0-9.+-]+|multipart|form[- ]parts?\b|\bthe '\w+' part\b"
    r"|\bboundary\b|Content-Type|NoneType|Traceback|KeyError|werkzeug|\bwtforms\b|sqlalchemy",
    re.IGNORECASE,
)
_MESSAGE_HTML = re.compile(
    r'class="(?:ecl-feedback-message|ecl-notification__title|ecl-notification__description'
    r'|ecl-u-type-paragraph-lead pax-error-message)"[^>]*>'
    r"(.*?)</(?:div|p|span)>",
    re.S,
)


def refusal_messages(response: Any) -> list[str]:
    """The messages a refused request (4xx) shows: the error notifications and field messages of
    a page, or the ``message`` and ``fields`` of a JSON answer."""
    if response.status_code < 400 or response.is_streamed:
        return []
    if response.mimetype == "application/json":
        body = response.get_json(silent=True) or {}
        error = body.get("error", body) if isinstance(body, dict) else {}
        fields = error.get("fields") if isinstance(error, dict) else None
        said = [error.get("message")] if isinstance(error, dict) else []
        said += list(fields.values()) if isinstance(fields, dict) else []
        return [m for m in said if isinstance(m, str)]
    if response.mimetype != "text/html":
        return []
    html = response.get_data(as_text=True)
    return [re.sub(r"<[^>]+>", " ", m) for m in _MESSAGE_HTML.findall(html)]


def assert_plain_words(response: Any) -> None:
    for message in refusal_messages(response):
        assert not JARGON.search(message), f"a refusal speaks jargon: {message!r}"


class SharedApp:
    """One app per test process, built on first use and again only when another app was built
    since (a test's own ``create_app`` re-binds the process-wide extensions: the database,
    limiter, OAuth registry). Each test gets it with the settings it was built with, an empty
    blob store of its own, and empty per-app caches and counters."""

    def __init__(self, test_root: Path, database_url: str) -> None:
        self.test_root = test_root
        self.database_url = database_url
        self.app: Flask | None = None
        self.config: dict[str, Any] = {}

    def _current(self) -> bool:
        from app.extensions import db, oauth

        return self.app is not None and oauth.app is self.app and db.engine is self.engine

    def get(self, own: bool = False) -> Flask:
        """The shared app, or with ``own`` a new one for this test only (it adds routes)."""
        from app import create_app
        from app.extensions import db

        if own:
            application = create_app(make_config(self.test_root, self.database_url))
            application.test_client_class = IsolatedClient
            return application
        if not self._current():
            self.app = create_app(make_config(self.test_root, self.database_url))
            self.app.test_client_class = IsolatedClient
            self.config = dict(self.app.config)
            self.engine = db.engine
        assert self.app is not None
        self.reset(self.app)
        return self.app

    def reset(self, app: Flask) -> None:
        from app.extensions import limiter
        from app.files import services as files

        app.config.clear()
        app.config.update(self.config)
        app.config["STORAGE_URL"] = f"file://{self.test_root / 'blobs' / secrets.token_hex(6)}"
        files.init_app(app)
        for cache in ("pax_fragments", "pax_chrome"):
            app.extensions[cache].clear()
        app.extensions.pop("pax_login_failures", None)
        app.extensions.pop("pax_alert_counters", None)
        limiter.enabled = app.config["RATELIMIT_ENABLED"]
        limiter._storage_dead = False
        if limiter.enabled:
            limiter.reset()


@pytest.fixture(scope="session")
def shared_app(test_root: Path, database_url: str) -> SharedApp:
    return SharedApp(test_root, database_url)


@contextmanager
def rolled_back(database: Any) -> Iterator[Any]:
    """Every session made while this is open, the request's scoped one and any other made from
    the app's sessionmaker, joins one connection whose outer transaction is rolled back at the
    end: a session's commit releases a SAVEPOINT (indico's fixtures do the same)."""
    factory = database.session.session_factory
    settings = dict(factory.kw)
    connection = database.engine.connect()
    outer = connection.begin()
    if connection.dialect.name == "sqlite":
        # pysqlite begins a transaction only before a write; without BEGIN, releasing the first
        # SAVEPOINT would commit.
        connection.exec_driver_sql("BEGIN")
    database.session.remove()
    factory.configure(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield connection
    finally:
        database.session.remove()
        factory.kw.clear()
        factory.kw.update(settings)
        outer.rollback()
        connection.close()


@pytest.fixture
def app(request: pytest.FixtureRequest, shared_app: SharedApp) -> Iterator[Flask]:
    """The process's app, in a transaction rolled back after the test; with ``committed_db``
    (marker or fixture) its commits are real and the tables are emptied after the test."""
    from app.extensions import db

    application = shared_app.get(own=request.node.get_closest_marker("own_app") is not None)
    with application.app_context():
        if _committed(request):
            yield application
            db.session.remove()
        else:
            with rolled_back(db):
                yield application
    if _committed(request):
        _empty_tables(shared_app.database_url)


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
            grant_membership(user, slug, membership_role, actor=None)
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


@pytest.fixture(scope="session")
def clamd_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real clamd with a one-signature database (EICAR), started once for the tests that ask
    for it; its unix socket's path. Without clamd installed those tests fail, never skip."""
    from tests.support.clamd import running_clamd

    try:
        with running_clamd(tmp_path_factory.mktemp("clamd")) as path:
            yield path
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


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


SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN_PIN = "pax-test-user-pin"
#: Tokens initialised before the PKCS#11 module is first loaded: SoftHSM2 lists tokens once, when
#: the module is initialised, so a test that needs a token of its own takes one of these.
SPARE_TOKENS = 24


class SoftHsm:
    """Throwaway SoftHSM2 tokens for this test session, made exactly as a real deployment makes
    its token: a ``softhsm2.conf`` naming a token directory (``SOFTHSM2_CONF`` points to it), and
    ``softhsm2-util --init-token`` setting the security officer's and the user's PINs (README, Key
    custody). Everything lives under the session's pytest tmp dir and goes with it."""

    def __init__(self, root: Path) -> None:
        import subprocess

        if not os.path.exists(SOFTHSM_MODULE):
            pytest.fail(f"SoftHSM2 is not installed ({SOFTHSM_MODULE}): apt-get install softhsm2", pytrace=False)
        tokens = root / "tokens"
        tokens.mkdir(parents=True)
        self.conf = root / "softhsm2.conf"
        self.conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
        os.environ["SOFTHSM2_CONF"] = str(self.conf)
        self.labels = [f"pax-test-{n}" for n in range(SPARE_TOKENS)]
        for label in ["pax-shared", *self.labels]:
            init = ["softhsm2-util", "--init-token", "--free", "--label", label]
            subprocess.run(
                [*init, "--so-pin", "pax-test-so-pin", "--pin", TOKEN_PIN],
                check=True,
                capture_output=True,
            )
        self._shared: Any = None

    def settings(self, label: str | None = None) -> dict[str, Any]:
        """App settings for the PKCS#11 backend on token ``label`` (default: a fresh one)."""
        return {
            "KEYS_BACKEND": "pkcs11",
            "PKCS11_MODULE": SOFTHSM_MODULE,
            "PKCS11_TOKEN_LABEL": label or self.fresh(),
            "PKCS11_PIN": TOKEN_PIN,
            "PKCS11_POOL_SIZE": 4,
        }

    def fresh(self) -> str:
        """The label of a token no other test has used."""
        if not self.labels:
            pytest.fail(f"more than {SPARE_TOKENS} tests asked for a token of their own: raise SPARE_TOKENS")
        return self.labels.pop(0)

    def shared(self, legacy: Any) -> Any:
        """A backend on the session's shared token, with ``legacy`` (the app's keyring file) beside it."""
        from app.keys.pkcs11 import Pkcs11Backend

        if self._shared is None:
            self._shared = Pkcs11Backend(SOFTHSM_MODULE, "pax-shared", TOKEN_PIN)
            self._shared.ensure_keys()
        self._shared.legacy = legacy
        return self._shared


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    return SoftHsm(tmp_path_factory.mktemp("softhsm"))


@contextmanager
def keys_on(app: Flask, keys: Any) -> Iterator[Any]:
    """Run ``app`` on the key backend ``keys`` for a while (the audit chain's binding included)."""
    from app.audit.chain import bind_keyring
    from app.extensions import db

    before = app.extensions["pax_keys"]
    app.extensions["pax_keys"] = app.extensions["pax_keyring"] = keys
    bind_keyring(db.engine, keys)
    try:
        yield keys
    finally:
        app.extensions["pax_keys"] = app.extensions["pax_keyring"] = before
        bind_keyring(db.engine, before)


@pytest.fixture(params=["file", "pkcs11"])
def key_backend(request: pytest.FixtureRequest, app: Flask) -> Iterator[str]:
    """The shared app on each key backend: its keyring file, or the session's SoftHSM2 token (with
    the keyring file beside it, as during a migration, so the audit chain stays on one key)."""
    if request.param == "file":
        yield "file"
        return
    softhsm = request.getfixturevalue("softhsm")
    with keys_on(app, softhsm.shared(app.extensions["pax_keys"])):
        yield "pkcs11"


@pytest.fixture
def files_app(app: Flask, storage_settings: dict[str, Any], key_backend: str) -> Flask:
    """The app on each blob store backend and each key backend."""
    from app.files import services as files

    app.config.update(storage_settings)
    files.init_app(app)
    return app


def pytest_report_header(config: pytest.Config) -> str:
    return f"PAX test database: {os.environ.get('PAX_TEST_DB', 'sqlite')}"


__all__ = ["TEST_PASSWORD", "Factory", "csrf_token_from", "login", "sa", "sign_in"]
