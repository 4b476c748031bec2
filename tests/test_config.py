"""A production start refuses unsafe settings, with one line that says why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config import INSECURE_DEFAULT_SECRET, ConfigError, ProductionConfig

ROOT = Path(__file__).resolve().parent.parent
GOOD_SECRET = "s" * 48


def production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> ProductionConfig:
    keys = tmp_path / "keys.json"
    keys.write_text("{}")
    base = {"PAX_SECRET_KEY": GOOD_SECRET, "PAX_KEYS_FILE": str(keys), "PAX_DEBUG": "0"}
    base.update(env)
    for name, value in base.items():
        monkeypatch.setenv(name, value)
    return ProductionConfig()


def test_production_refuses_default_secret(monkeypatch, tmp_path):
    config = production(monkeypatch, tmp_path, PAX_SECRET_KEY=INSECURE_DEFAULT_SECRET)
    with pytest.raises(ConfigError, match="PAX_SECRET_KEY"):
        config.check()


def test_production_refuses_missing_secret(monkeypatch, tmp_path):
    config = production(monkeypatch, tmp_path)
    monkeypatch.delenv("PAX_SECRET_KEY")
    with pytest.raises(ConfigError, match="PAX_SECRET_KEY"):
        ProductionConfig().check()
    config.check()  # the same settings with a secret pass


def test_production_refuses_debug(monkeypatch, tmp_path):
    with pytest.raises(ConfigError, match="PAX_DEBUG"):
        production(monkeypatch, tmp_path, PAX_DEBUG="1").check()


def test_production_refuses_missing_keyring(monkeypatch, tmp_path):
    with pytest.raises(ConfigError, match="keyring"):
        production(monkeypatch, tmp_path, PAX_KEYS_FILE=str(tmp_path / "absent.json")).check()


def test_production_does_not_create_a_keyring(monkeypatch, tmp_path):
    assert production(monkeypatch, tmp_path).KEYS_AUTOCREATE is False


def test_production_cookies_are_secure(monkeypatch, tmp_path):
    config = production(monkeypatch, tmp_path)
    assert config.SESSION_COOKIE_SECURE is True
    assert config.SESSION_COOKIE_HTTPONLY is True
    assert config.SESSION_COOKIE_SAMESITE == "Lax"


def test_production_names_the_session_cookie_with_the_host_prefix(monkeypatch, tmp_path):
    """v5.0.0-3.3.1, v5.0.0-3.3.3: Secure, so ``__Host-``: host-only, on every path."""
    config = production(monkeypatch, tmp_path)
    assert config.SESSION_COOKIE_NAME == "__Host-pax_session"
    assert config.SESSION_COOKIE_PATH == "/"
    assert config.SESSION_COOKIE_DOMAIN is None
    assert config.REMEMBER_COOKIE_NAME.startswith("__Host-") and config.REMEMBER_COOKIE_SECURE is True


def test_local_runs_keep_the_plain_cookie_name(monkeypatch):
    """Browsers refuse a ``__Host-`` cookie without Secure, which plain-http local runs cannot set."""
    from config import DevelopmentConfig

    config = DevelopmentConfig()
    assert config.SESSION_COOKIE_SECURE is False
    assert config.SESSION_COOKIE_NAME == "pax_session"


def test_bad_integer_setting_is_named(monkeypatch):
    monkeypatch.setenv("PAX_SESSION_IDLE_MINUTES", "soon")
    from config import DevelopmentConfig

    with pytest.raises(ConfigError, match="PAX_SESSION_IDLE_MINUTES"):
        DevelopmentConfig()


def test_cli_start_in_production_prints_one_line(tmp_path):
    """The operator sees one line naming the setting, not a traceback."""
    env = {
        "PATH": "/usr/bin:/bin",
        "PAX_ENV": "production",
        "PAX_INSTANCE_PATH": str(tmp_path),
        "PAX_KEYS_FILE": str(tmp_path / "keys.json"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "current"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["PAX configuration error: " + lines[0].removeprefix("PAX configuration error: ")]
    assert "PAX_SECRET_KEY" in lines[0]
    assert not (tmp_path / "keys.json").exists()


def test_unknown_environment_is_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "current"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PAX_ENV": "staging", "PAX_INSTANCE_PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "PAX configuration error: PAX_ENV must be one of development, production, testing, got 'staging'"
    ]


@pytest.mark.parametrize("url", ["ftp://host/blobs", "s3://", "blobs", "s3:///prefix-only"])
def test_unusable_storage_url_is_refused_in_one_line(tmp_path, url):
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "current"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PAX_INSTANCE_PATH": str(tmp_path), "PAX_STORAGE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "PAX configuration error: PAX_STORAGE_URL must be file:///path or s3://bucket/prefix"
    ]


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("PAX_CLAMD_ADDRESS", "clamd.ctl", "PAX_CLAMD_ADDRESS must be clamd's socket path"),
        ("PAX_CLAMD_ADDRESS", "127.0.0.1", "PAX_CLAMD_ADDRESS must be clamd's socket path"),
        ("PAX_CLAMD_ADDRESS", "127.0.0.1:99999", "PAX_CLAMD_ADDRESS must be clamd's socket path"),
        ("PAX_CLAMD_TIMEOUT_SECONDS", "0", "PAX_CLAMD_TIMEOUT_SECONDS must be from 1 to 600"),
        ("PAX_CLAMD_MAX_BYTES", "0", "PAX_CLAMD_MAX_BYTES must be a positive number"),
    ],
)
def test_unusable_clamd_settings_are_refused(monkeypatch, name, value, says):
    from config import TestingConfig

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=says):
        TestingConfig().check()


@pytest.mark.parametrize("address", ["/run/clamav/clamd.ctl", "127.0.0.1:3310", "clamav.internal:3310"])
def test_clamd_addresses_are_accepted(monkeypatch, address):
    from config import TestingConfig

    monkeypatch.setenv("PAX_CLAMD_ADDRESS", address)
    config = TestingConfig()
    config.check()
    assert address == config.CLAMD_ADDRESS


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("PAX_BREACHED_PASSWORD_URL", "api.pwnedpasswords.com/range", "PAX_BREACHED_PASSWORD_URL must be an https://"),
        ("PAX_BREACHED_PASSWORD_URL", "ftp://mirror.example/range", "PAX_BREACHED_PASSWORD_URL must be an https://"),
        ("PAX_BREACHED_PASSWORD_URL", "https://m.example/range?x=1", "PAX_BREACHED_PASSWORD_URL must be an https://"),
        ("PAX_BREACHED_PASSWORD_TIMEOUT_SECONDS", "0", "PAX_BREACHED_PASSWORD_TIMEOUT_SECONDS must be from 1 to 30"),
        ("PAX_BREACHED_PASSWORD_TIMEOUT_SECONDS", "31", "PAX_BREACHED_PASSWORD_TIMEOUT_SECONDS must be from 1 to 30"),
    ],
)
def test_unusable_breached_password_settings_are_refused(monkeypatch, name, value, says):
    from config import TestingConfig

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=says):
        TestingConfig().check()


def test_the_breached_password_check_is_off_by_default(monkeypatch, tmp_path):
    config = production(monkeypatch, tmp_path)
    config.check()
    assert config.BREACHED_PASSWORD_CHECK is False
    assert config.BREACHED_PASSWORD_URL == "https://api.pwnedpasswords.com/range"
    assert config.BREACHED_PASSWORD_TIMEOUT_SECONDS == 3
