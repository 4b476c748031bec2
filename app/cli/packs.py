"""``packs verify``: check a downloaded meeting pack's signature and every file against its manifest.

Needs no database: with ``--public-key`` (the base64 key from ``GET /api/v1/pack-key``) it checks
a pack from any PAX portal; without it, against this portal's own signing key from the keyring.
Exit status 0 when everything matches, 1 on any mismatch (each printed), 2 on bad arguments.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from app.cli.base import OneLineUsageError, PaxGroup
from app.keys.signing import key_id_of, verify

packs_group = PaxGroup("packs", help="Meeting packs: verify a downloaded pack offline.")

#: The pack's own files; every other entry must be listed in the manifest.
PACK_FILES = {"index.html", "manifest.json", "manifest.sig"}
#: The largest manifest or signature read into memory (a pack of thousands of files stays far below).
MAX_SMALL_FILE = 16 * 1024 * 1024
READ_SIZE = 1024 * 1024


@dataclass
class PackCheck:
    """What ``check_pack`` found: ``problems`` empty means the pack is intact and signed by the key."""

    problems: list[str] = field(default_factory=list)
    files: int = 0
    key_id: str = ""
    manifest: dict[str, Any] = field(default_factory=dict)


def _small(archive: zipfile.ZipFile, name: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > MAX_SMALL_FILE:
        raise ValueError(f"{name} is implausibly large ({info.file_size} bytes)")
    return archive.read(info)


def _digest(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with archive.open(info) as handle:
        while chunk := handle.read(READ_SIZE):
            size += len(chunk)
            digest.update(chunk)
    return size, digest.hexdigest()


def check_pack(path: Path, public_key: bytes) -> PackCheck:
    """Verify ``manifest.sig`` over the exact bytes of ``manifest.json`` with ``public_key``, then
    every listed file's size and SHA-256, and that the zip holds nothing the manifest does not list."""
    result = PackCheck(key_id=key_id_of(public_key))
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        result.problems.append(f"not a readable zip file: {exc}")
        return result
    with archive:
        names = [info.filename for info in archive.infolist()]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            result.problems.append(f"the zip holds several entries named {', '.join(duplicates)}")
        try:
            manifest = _small(archive, "manifest.json")
            signature = base64.b64decode(_small(archive, "manifest.sig").strip(), validate=True)
        except KeyError as exc:
            result.problems.append(f"the pack has no {exc.args[0].split()[-1] if exc.args else 'manifest'}")
            return result
        except (ValueError, binascii.Error, zipfile.BadZipFile) as exc:
            result.problems.append(f"manifest or signature unreadable: {exc}")
            return result
        if not verify(public_key, signature, manifest):
            result.problems.append(
                f"manifest.sig is not a valid signature of manifest.json by key {result.key_id}: "
                "the manifest was changed, or the pack was signed by another key"
            )
            return result
        try:
            document = json.loads(manifest)
            files = document["files"]
            listed = {entry["name"]: (int(entry["size"]), str(entry["sha256"])) for entry in files}
        except (ValueError, KeyError, TypeError) as exc:
            result.problems.append(f"manifest.json is signed but not a pack manifest: {exc}")
            return result
        result.manifest = document
        if document.get("key_id") not in (None, result.key_id):
            result.problems.append(f"the manifest names key {document.get('key_id')}, not {result.key_id}")
        present = {info.filename: info for info in archive.infolist()}
        for name in sorted(set(present) - set(listed) - PACK_FILES):
            result.problems.append(f"{name}: in the zip but not in the manifest")
        for name, (size, sha256) in listed.items():
            info = present.get(name)
            if info is None:
                result.problems.append(f"{name}: in the manifest but missing from the zip")
                continue
            try:
                got_size, got_sha = _digest(archive, info)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                result.problems.append(f"{name}: unreadable ({exc})")
                continue
            if got_size != size:
                result.problems.append(f"{name}: {got_size} bytes, the manifest says {size}")
            elif got_sha != sha256:
                result.problems.append(f"{name}: SHA-256 {got_sha}, the manifest says {sha256}")
            else:
                result.files += 1
    return result


def _public_key(given: str | None) -> bytes:
    if given is None:
        from app.keys.backend import KeyUnavailable
        from app.keys.signing import public_key_raw

        try:
            return public_key_raw()
        except KeyUnavailable as exc:
            raise OneLineUsageError(f"this portal's signing key is unavailable ({exc}); give --public-key") from exc
    try:
        raw = base64.b64decode(given.strip(), validate=True)
    except (ValueError, binascii.Error):
        raise OneLineUsageError("--public-key is not base64; copy public_key from /api/v1/pack-key") from None
    if len(raw) != 32:
        raise OneLineUsageError(f"--public-key must be 32 bytes (an Ed25519 public key), not {len(raw)}")
    return raw


@packs_group.command("verify")
@click.argument("pack", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    metavar="BASE64",
    help="The signer's public key (public_key from GET /api/v1/pack-key); default: this portal's own key.",
)
def verify_command(pack: Path, public_key: str | None) -> None:
    """Check PACK's signature and every file's size and SHA-256 against its manifest."""
    result = check_pack(pack, _public_key(public_key))
    if result.problems:
        for problem in result.problems:
            click.echo(f"FAILED: {problem}", err=True)
        raise SystemExit(1)
    meeting = result.manifest.get("meeting", {})
    click.echo(
        f"OK: signature by key {result.key_id} verified; {result.files} files match the manifest "
        f"(meeting {meeting.get('id')}, generated {result.manifest.get('generated_at')}, "
        f"{result.manifest.get('withheld')} withheld)."
    )
