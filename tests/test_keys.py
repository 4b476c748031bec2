"""KEK rotation and ``keys status`` / ``keys rotate``: interrupted, resumed, everything readable
throughout, on the keyring file and on a PKCS#11 token (SoftHSM2) alike."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.auth.models import IdentityProvider, User
from app.auth.sso import add_provider
from app.extensions import db
from app.files.models import StoredFile
from app.files.services import read_all, store_file
from app.keys import rotation
from app.keys.keyring import Keyring
from app.keys.sealed import keyring, unseal
from tests.conftest import Factory


@pytest.fixture(params=["file", "pkcs11"])
def app(request: pytest.FixtureRequest, config_factory: Callable[..., Any], tmp_path: Path) -> Iterator[Flask]:
    """An app with its own keyring file or its own token, so rotations here touch no other test's keys."""
    from app import create_app
    from tests.conftest import IsolatedClient
    from tests.support import databases

    overrides: dict[str, Any] = {"KEYS_FILE": str(tmp_path / "keys.json")}
    if request.param == "pkcs11":
        overrides.update(request.getfixturevalue("softhsm").settings())
    application = create_app(config_factory(**overrides))
    application.test_client_class = IsolatedClient
    with application.app_context():
        yield application
        db.session.remove()
    databases.empty_tables(db.engine)


def _files(count: int) -> dict[int, bytes]:
    contents = {}
    for n in range(count):
        data = f"file {n}: berth schedule ".encode() * (n + 1)
        record, _meta = store_file("attachment", [data], f"f{n}.txt", None, 10**6)
        contents[record.id] = data
    db.session.commit()
    return contents


def _all_readable(contents: dict[int, bytes]) -> None:
    db.session.expire_all()
    for file_id, data in contents.items():
        assert read_all(db.session.get(StoredFile, file_id)) == data


def _other_process(app: Flask) -> Any:
    """The same keys as another process (``keys rotate`` beside the portal) sees them."""
    if app.config["KEYS_BACKEND"] == "file":
        return Keyring.load(Path(app.config["KEYS_FILE"]))
    from app.keys import pkcs11

    return pkcs11.load(app.config, None)


class Interrupted(Exception):
    pass


def test_rotation_interrupted_halfway_then_resumed(app: Flask, make: Factory) -> None:
    contents = _files(7)
    user = make.user()
    secret = make.enrol_mfa(user)
    provider = add_provider(user.organisation, "Company SSO", "https://idp.example", "pax", "client-secret-value")
    db.session.commit()
    old_kek = keyring().active_kek_id

    def stop_after_first_batch(result: rotation.RotationResult) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        rotation.rotate(batch_size=3, after_batch=stop_after_first_batch)
    db.session.rollback()

    new_kek = keyring().active_kek_id
    assert new_kek != old_kek
    state = rotation.status()
    under = {k.kid: k.files for k in state.keks}
    assert under[new_kek] == 3 and under[old_kek] == 4  # one batch committed, the rest waits
    assert state.pending > 0
    assert old_kek in _other_process(app).kek_ids()  # kept while anything uses it
    _all_readable(contents)  # every file opens, whichever KEK wraps its key

    result = rotation.rotate(resume=True, batch_size=3)
    assert result.new_kek_id is None
    assert result.retired == [old_kek]
    assert rotation.status().pending == 0
    assert old_kek not in _other_process(app).kek_ids()
    _all_readable(contents)
    assert set(db.session.scalars(sa.select(StoredFile.kek_id))) == {new_kek}
    # Small secrets moved too and still open.
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.totp_secret_sealed.startswith(f"v1.{new_kek}.")
    assert unseal(user.totp_secret_sealed, f"totp-secret:{user.id}").decode() == secret
    provider = db.session.get(IdentityProvider, provider.id)
    assert unseal(provider.client_secret_sealed, f"idp-client-secret:{provider.id}") == b"client-secret-value"


def test_new_files_use_the_new_kek_at_once(app: Flask) -> None:
    _files(1)
    rotation.rotate()
    contents = _files(1)
    record = db.session.get(StoredFile, next(iter(contents)))
    assert record.kek_id == keyring().active_kek_id


def test_running_portal_picks_up_a_rotation_made_by_another_process(app: Flask) -> None:
    contents = _files(2)
    other_process = _other_process(app)
    other_process.add_kek()
    assert keyring().active_kek_id == other_process.active_kek_id
    _all_readable(contents)


def test_keys_commands(app: Flask) -> None:
    _files(2)
    runner = app.test_cli_runner()
    before = runner.invoke(args=["keys", "status"])
    assert before.exit_code == 0, before.output
    old = keyring().active_kek_id
    assert f"Active KEK: {old}" in before.output
    assert "data keys 2" in before.output
    assert "Every data key and secret is under the active KEK." in before.output

    rotated = runner.invoke(args=["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    assert "Rewrapped 2 data keys" in rotated.output
    assert f"Retired KEKs no longer in use: {old}" in rotated.output
    after = runner.invoke(args=["keys", "status"])
    assert old not in after.output
    if keyring().kind == "file":
        # Nothing secret is printed: no key material from the keyring file.
        ring_file = json.loads(Path(keyring().path).read_text())  # type: ignore[attr-defined]
        for entry in ring_file["keks"].values():
            assert entry["key"] not in before.output + rotated.output + after.output


def test_status_names_a_kek_the_keyring_lacks(app: Flask) -> None:
    _files(1)
    ring = keyring()
    lost = ring.active_kek_id
    ring.add_kek()
    ring.retire_kek(lost)  # by hand, while a data key still needs it
    result = app.test_cli_runner().invoke(args=["keys", "status"])
    assert f"MISSING {lost}" in result.output
    resumed = app.test_cli_runner().invoke(args=["keys", "rotate", "--resume"])
    assert resumed.exit_code == 2
    assert "rotation stopped" in resumed.output
