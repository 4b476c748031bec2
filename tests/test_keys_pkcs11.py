"""PAX's keys in a PKCS#11 token (SoftHSM2 here, an HSM in production): what an operator and an
attacker notice. No key can be read out of the token; every key use works on it; a token that is
missing or refuses the PIN stops the start with one line, and one that goes away mid-flight makes
requests answer 503, never 500 and never a byte of a file; an installation moves from the keyring
file to the token with uploads running, resumably, and afterwards needs the keyring file no more.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pkcs11
import pytest
import sqlalchemy as sa
from flask import Flask

from app.audit.chain import SWITCH_ACTION
from app.audit.models import AuditEvent
from app.auth.models import IdentityProvider, User
from app.auth.sso import add_provider
from app.crossmatch.models import MatchIdentifier
from app.crossmatch.services import digest, index_custody
from app.extensions import db
from app.files.models import StoredFile
from app.files.services import FileUnavailable, read_all, store_file
from app.keys import rotation, signing
from app.keys.sealed import keyring, unseal
from config import ConfigError
from tests.conftest import SOFTHSM_MODULE as SOFTHSM
from tests.conftest import TOKEN_PIN, Factory, IsolatedClient
from tests.test_api_posts import bearer
from tests.test_attachments import api_upload
from tests.test_audit_chain import attacker
from tests.test_crossmatch import author, container, note
from tests.test_posts_pages import publish

pytestmark = pytest.mark.committed_db


def _build(config: Any) -> Flask:
    from app import create_app

    application = create_app(config)
    application.test_client_class = IsolatedClient
    return application


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    return tmp_path / "keys.json"


@pytest.fixture
def app(config_factory: Callable[..., Any], keys_file: Path) -> Iterator[Flask]:
    """The portal as it is before the move: on its own keyring file."""
    from tests.support import databases

    application = _build(config_factory(KEYS_FILE=str(keys_file), STORAGE_URL=_storage(keys_file)))
    with application.app_context():
        yield application
        db.session.remove()
    databases.empty_tables(db.engine)


def _storage(keys_file: Path) -> str:
    """One blob store for every app of a test: they are restarts of one portal."""
    return f"file://{keys_file.parent / 'blobs'}"


def _token_app(config_factory: Callable[..., Any], keys_file: Path, settings: dict[str, Any]) -> Flask:
    return _build(config_factory(KEYS_FILE=str(keys_file), STORAGE_URL=_storage(keys_file), **settings))


def _files(count: int, label: str = "file") -> dict[int, bytes]:
    contents = {}
    for n in range(count):
        data = f"{label} {n}: berth schedule ".encode() * (n + 1)
        record, _meta = store_file("attachment", [data], f"{label}{n}.txt", None, 10**6)
        contents[record.id] = data
    db.session.commit()
    return contents


def _all_readable(contents: dict[int, bytes]) -> None:
    db.session.commit()
    for file_id, data in contents.items():
        assert read_all(db.session.get(StoredFile, file_id)) == data


def _cli(application: Flask, *args: str) -> Any:
    return application.test_cli_runner().invoke(args=list(args))


# --- custody: nothing leaves the token ---------------------------------------------------------------


def test_no_key_is_extractable_and_the_token_refuses_to_read_one(
    softhsm: Any, config_factory: Callable[..., Any], keys_file: Path
) -> None:
    token_app = _token_app(config_factory, keys_file, softhsm.settings())
    with token_app.app_context():
        keys = keyring()
        assert keys.kind == "pkcs11"
        assert not keys_file.exists()  # a token installation writes no keyring file
        keys.add_kek()
        objects = keys.key_objects()  # type: ignore[attr-defined]
        labels = {entry["label"] for entry in objects}
        assert {"pax:hmac:audit_hmac", "pax:hmac:match_hmac", "pax:hmac:secrets_hmac", "pax:ed25519"} <= labels
        keks = [entry for entry in objects if entry["label"].startswith("pax:kek:")]
        assert len(keks) == 2
        for entry in objects:
            assert entry["extractable"] is False, entry["label"]
            assert entry["sensitive"] is True, entry["label"]
            with pytest.raises(pkcs11.exceptions.AttributeSensitive):
                entry["object"][pkcs11.Attribute.VALUE]
        # Nor can a KEK be wrapped out under a key made for the purpose (the way keys are exported).
        token = pkcs11.lib(keys.module).get_token(token_label=keys.token_label)  # type: ignore[attr-defined]
        with token.open(rw=True) as session:
            wrapper = session.generate_key(
                pkcs11.KeyType.AES, 256, capabilities=pkcs11.MechanismFlag.WRAP | pkcs11.MechanismFlag.ENCRYPT
            )
            for entry in keks:
                with pytest.raises(pkcs11.exceptions.KeyUnextractable):
                    wrapper.wrap_key(entry["object"], mechanism=pkcs11.Mechanism.AES_KEY_WRAP)


def test_every_key_use_runs_on_the_token(softhsm: Any, config_factory: Callable[..., Any], keys_file: Path) -> None:
    from tests.conftest import Factory as Make

    token_app = _token_app(config_factory, keys_file, softhsm.settings())
    with token_app.app_context(), token_app.test_request_context():
        contents = _files(3)
        _all_readable(contents)
        make = Make()
        user = make.user()
        secret = make.enrol_mfa(user)
        assert unseal(user.totp_secret_sealed, f"totp-secret:{user.id}").decode() == secret
        box = container()
        note(author(make), [box])
        assert index_custody() == "pkcs11"
        row = db.session.scalars(sa.select(MatchIdentifier)).one()
        assert row.digest == keyring().hmac_sha256("match_hmac", f"container:{box}".encode()).hex()
        message = b'{"pack": "manifest"}'
        assert signing.verify(signing.public_key_raw(), signing.sign_manifest(message), message)
        status = _cli(token_app, "keys", "status")
        assert status.exit_code == 0, status.output
        assert (
            "PKCS#11 token" in status.output and "Every data key and secret is under the active KEK." in status.output
        )
        verified = _cli(token_app, "audit", "verify")
        assert verified.exit_code == 0 and "audit chain OK" in verified.output, verified.output


def test_a_missing_module_token_or_wrong_pin_stops_the_start_with_one_line(
    softhsm: Any, config_factory: Callable[..., Any], keys_file: Path
) -> None:
    settings = softhsm.settings()
    for change, says in (
        ({"PKCS11_MODULE": "/usr/lib/nowhere/libpkcs11.so"}, "does not exist"),
        ({"PKCS11_TOKEN_LABEL": "no-such-token"}, "no token labelled 'no-such-token'"),
        ({"PKCS11_PIN": "not-the-pin"}, "refuses the PIN"),
    ):
        with pytest.raises(ConfigError, match=says) as failure:
            _token_app(config_factory, keys_file, {**settings, **change})
        assert "\n" not in str(failure.value)
        assert "not-the-pin" not in str(failure.value)


def test_a_token_that_goes_away_makes_requests_503_never_500(
    softhsm: Any, config_factory: Callable[..., Any], keys_file: Path
) -> None:
    label = softhsm.fresh()
    token_app = _token_app(config_factory, keys_file, softhsm.settings(label))
    client = token_app.test_client()
    with token_app.app_context():
        from tests.conftest import Factory as Make

        user = Make().user(clusters={"policy": "contributor"})
        post = publish(user, tlp="AMBER")
        headers = bearer(user)
        created = api_upload(client, post.id, b"quay 4 night shift roster", "roster.txt", headers)
        assert created.status_code == 201, created.get_json()
        url = f"/api/v1/attachments/{created.get_json()['id']}"
        assert client.get(url, headers=headers).data == b"quay 4 night shift roster"

        assert client.get("/readyz").get_json()["keys"] == "available"
        subprocess.run(["softhsm2-util", "--delete-token", "--token", label], check=True, capture_output=True)
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.get_json()["keys"] == "unavailable"

        for _ in range(2):  # and again, once the pooled session was dropped
            gone = client.get(url, headers=headers)
            assert gone.status_code == 503, gone.get_data(as_text=True)
            assert b"night shift" not in gone.data
            assert "not available" in gone.get_json()["error"]["message"] or "keys" in gone.get_data(as_text=True)
        again = api_upload(client, post.id, b"another roster", "other.txt", headers)
        assert again.status_code == 503
        status = _cli(token_app, "keys", "status")
        assert status.exit_code != 0 and "Traceback" not in status.output


# --- the move from the keyring file to the token -------------------------------------------------------


class Interrupted(Exception):
    pass


def test_migration_with_uploads_running_is_resumable_and_leaves_the_keyring_file_unneeded(
    app: Flask, make: Factory, softhsm: Any, config_factory: Callable[..., Any], keys_file: Path
) -> None:
    # Before: an installation on its keyring file, with files, secrets, a match and audit records.
    with app.test_request_context():
        before = _files(7, "before")
        user = make.user()
        secret = make.enrol_mfa(user)
        provider = add_provider(user.organisation, "Company SSO", "https://idp.example", "pax", "client-secret-value")
        box = container()
        first, second = note(author(make), [box]), note(author(make), [box])
        db.session.commit()
    file_kek = keyring().active_kek_id
    old_pack_key = signing.public_key_raw()

    # The portal restarts on the token, the keyring file still beside it; uploads keep coming.
    settings = softhsm.settings()
    token_app = _token_app(config_factory, keys_file, settings)
    uploaded: dict[int, bytes] = {}
    stop = threading.Event()
    failures: list[BaseException] = []

    def uploads(worker: int) -> None:
        try:
            with token_app.app_context():
                n = 0
                while not stop.is_set() and n < 40:
                    uploaded.update(_files(1, f"during-{worker}-{n}"))
                    n += 1
                db.session.remove()
        except BaseException as exc:
            failures.append(exc)

    with token_app.app_context():
        threads = [threading.Thread(target=uploads, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()

        def stop_after_first_batch(result: rotation.RotationResult) -> None:
            raise Interrupted

        with pytest.raises(Interrupted):
            rotation.migrate("pkcs11", batch_size=3, after_batch=stop_after_first_batch)
        db.session.rollback()
        state = rotation.status()
        assert state.pending > 0 and state.backend == "pkcs11"
        assert "Migration to the token unfinished" in _cli(token_app, "keys", "status").output
        _all_readable(before)  # half moved: every file opens, whichever key wraps it

        resumed = _cli(token_app, "keys", "migrate", "--to", "pkcs11", "--resume", "--batch-size", "3")
        assert resumed.exit_code == 0, resumed.output
        stop.set()
        for thread in threads:
            thread.join()
        assert not failures, failures
        assert len(uploaded) >= 2
        _all_readable(before | uploaded)
        db.session.commit()
        assert not any(
            kid == file_kek or not kid.startswith("hsm-") for kid in db.session.scalars(sa.select(StoredFile.kek_id))
        )
        assert rotation.status().pending == 0
        assert index_custody() == "pkcs11"
        assert {row.digest for row in db.session.scalars(sa.select(MatchIdentifier))} == {
            digest(kind, box) for kind in {row.kind for row in db.session.scalars(sa.select(MatchIdentifier))}
        }
        switches = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == SWITCH_ACTION)).all()
        assert len(switches) == 1
        migrated = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "keys.migrate")).one()
        assert migrated.details["previous_pack_key_id"] == signing.key_id_of(old_pack_key)
        verified = _cli(token_app, "audit", "verify")
        assert verified.exit_code == 0 and "audit chain OK" in verified.output, verified.output

    # After: the keyring file deleted, a fresh start on the token alone changes nothing.
    keys_file.unlink()
    after_app = _token_app(config_factory, keys_file, settings)
    with after_app.app_context(), after_app.test_request_context():
        _all_readable(before | uploaded)
        user = db.session.get(User, user.id)
        assert unseal(user.totp_secret_sealed, f"totp-secret:{user.id}").decode() == secret
        provider = db.session.get(IdentityProvider, provider.id)
        assert unseal(provider.client_secret_sealed, f"idp-client-secret:{provider.id}") == b"client-secret-value"
        # The match index still meets: a third organisation's note on the same container hits both.
        third = note(author(make), [box])
        shared = db.session.scalars(
            sa.select(MatchIdentifier.post_id).where(MatchIdentifier.post_id.in_([first.id, second.id, third.id]))
        ).all()
        assert len(set(shared)) == 3
        assert len({row.digest for row in db.session.scalars(sa.select(MatchIdentifier))}) == 1
        verified = _cli(after_app, "audit", "verify")
        assert verified.exit_code == 0 and "audit chain OK" in verified.output, verified.output
        status = _cli(after_app, "keys", "status")
        assert status.exit_code == 0 and "Migration to the token unfinished" not in status.output, status.output
        assert not keys_file.exists()
        again = _cli(after_app, "keys", "migrate", "--to", "pkcs11")  # nothing left: a no-op
        assert again.exit_code == 0 and "Rewrapped 0 data keys" in again.output, again.output


def test_a_broken_chain_is_still_found_across_the_switch(
    app: Flask, make: Factory, softhsm: Any, config_factory: Callable[..., Any], keys_file: Path
) -> None:
    make.user()
    db.session.commit()
    token_app = _token_app(config_factory, keys_file, softhsm.settings())
    with token_app.app_context():
        assert _cli(token_app, "keys", "migrate", "--to", "pkcs11").exit_code == 0
        make.user()
        db.session.commit()
        assert _cli(token_app, "audit", "verify").exit_code == 0
        # Someone with the database alone rewrites a record from before the switch, and one after.
        for position in (sa.func.min, sa.func.max):
            seq = db.session.scalar(sa.select(position(AuditEvent.seq)))
            with attacker() as connection:
                original = connection.execute(sa.select(AuditEvent.details).where(AuditEvent.seq == seq)).scalar()
                connection.execute(sa.update(AuditEvent).where(AuditEvent.seq == seq).values(details={"forged": 1}))
            broken = _cli(token_app, "audit", "verify")
            assert broken.exit_code == 1 and f"BROKEN at record {seq}" in broken.output, broken.output
            with attacker() as connection:
                connection.execute(sa.update(AuditEvent).where(AuditEvent.seq == seq).values(details=original))
        assert _cli(token_app, "audit", "verify").exit_code == 0


def test_files_opened_with_the_token_stay_shut_to_the_keyring_file(
    app: Flask, softhsm: Any, config_factory: Callable[..., Any], keys_file: Path
) -> None:
    """After the move, whoever copies the keyring file and the database reads nothing new."""
    token_app = _token_app(config_factory, keys_file, softhsm.settings())
    with token_app.app_context():
        assert _cli(token_app, "keys", "migrate", "--to", "pkcs11").exit_code == 0
        contents = _files(2, "after")
    with app.app_context():
        for file_id in contents:
            with pytest.raises(FileUnavailable) as failure:
                read_all(db.session.get(StoredFile, file_id))
            assert failure.value.reason == "key"
    assert os.path.exists(keys_file)


def test_a_portal_put_on_a_token_without_its_keyring_file_mixes_no_keys(
    app: Flask, softhsm: Any, config_factory: Callable[..., Any], keys_file: Path
) -> None:
    """The operator forgot the keyring file: nothing is MACed or wrapped under the wrong key, every
    command says what is wrong in one line, and putting the file back lets the move proceed."""
    from app.audit.services import record

    before = _files(2)
    record("test.before")
    db.session.commit()
    keys_file.rename(keys_file.with_suffix(".away"))
    settings = softhsm.settings()
    token_app = _token_app(config_factory, keys_file, settings)
    with token_app.app_context():
        from app.keys.backend import KeyUnavailable

        record("test.event")
        with pytest.raises(KeyUnavailable):
            db.session.commit()  # the chain is under the keyring file's key: no record is made
        db.session.rollback()
        for args in (("audit", "verify"), ("keys", "migrate", "--to", "pkcs11")):
            answer = _cli(token_app, *args)
            assert answer.exit_code == 2 and "Traceback" not in answer.output, answer.output
        assert "migration stopped" in _cli(token_app, "keys", "migrate", "--to", "pkcs11").output
    keys_file.with_suffix(".away").rename(keys_file)
    token_app = _token_app(config_factory, keys_file, settings)
    with token_app.app_context():
        assert _cli(token_app, "keys", "migrate", "--to", "pkcs11").exit_code == 0
        assert _cli(token_app, "audit", "verify").exit_code == 0
        _all_readable(before)


def test_a_running_portal_uses_a_kek_another_process_added_to_the_token(
    softhsm: Any, config_factory: Callable[..., Any], keys_file: Path
) -> None:
    """``keys rotate`` runs beside the portal, in a process of its own with its own sessions."""
    import sys

    settings = softhsm.settings()
    token_app = _token_app(config_factory, keys_file, settings)
    with token_app.app_context():
        contents = _files(1)
        before = keyring().active_kek_id
        other = (
            "from app.keys.pkcs11 import Pkcs11Backend; "
            f"print(Pkcs11Backend({SOFTHSM!r}, {settings['PKCS11_TOKEN_LABEL']!r}, {TOKEN_PIN!r}).add_kek())"
        )
        added = subprocess.run([sys.executable, "-c", other], check=True, capture_output=True, text=True)
        assert keyring().active_kek_id == added.stdout.strip() != before
        contents |= _files(1, "after")
        assert db.session.get(StoredFile, max(contents)).kek_id == added.stdout.strip()
        _all_readable(contents)
