"""Files written in the first storage format keep decrypting in every later version.

``tests/fixtures/files-v1`` holds a blob, its database record (wrapped data key, sealed name)
and the test KEK, produced by version 1 of ``app.files``. Never regenerate it: if this test
fails, a change broke old files, and the fix belongs in the code, not in the fixture.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from flask import Flask

from app.extensions import db
from app.files.models import StoredFile
from app.files.services import blob_store, file_meta, open_file, read_all
from app.keys.sealed import keyring

FIXTURE = Path(__file__).parent / "fixtures" / "files-v1"


def test_version_1_blob_still_decrypts(app: Flask) -> None:
    kek = json.loads((FIXTURE / "kek.json").read_text())
    record = json.loads((FIXTURE / "record.json").read_text())
    ring = keyring()
    ring.keks[kek["kid"]] = base64.b64decode(kek["key"])
    try:
        stored = StoredFile(
            uuid=record["uuid"],
            kind=record["kind"],
            format=record["format"],
            kek_id=record["kek_id"],
            wrapped_dek=record["wrapped_dek"],
            meta_sealed=base64.b64decode(record["meta_sealed"]),
            size=record["size"],
        )
        db.session.add(stored)
        db.session.commit()
        with blob_store().writer(stored.blob_key) as writer:
            writer.write((FIXTURE / "blob.bin").read_bytes())

        plaintext = read_all(stored)
        expected = record["expected"]
        assert len(plaintext) == record["size"]
        assert hashlib.sha256(plaintext).hexdigest() == expected["sha256"]
        meta = file_meta(stored)
        assert (meta.filename, meta.media_type, meta.sha256) == (
            expected["filename"],
            expected["media_type"],
            expected["sha256"],
        )
        # Ranges across its segments work too.
        assert b"".join(open_file(stored, 65530, 131080).chunks) == plaintext[65530:131080]
    finally:
        del ring.keks[kek["kid"]]
        blob_store().delete(f"{record['kind']}/{record['uuid']}")
