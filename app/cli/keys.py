"""``keys status``, ``keys rotate``, ``keys migrate``, ``storage sweep``, ``storage verify`` and ``storage rescan``:
the keyring and the blob store."""

from __future__ import annotations

import click

from app.auth.models import User
from app.cli.base import OneLineUsageError, PaxGroup, transactional
from app.extensions import db
from app.files.rescan import rescan_pending
from app.files.scanning import ScannerUnavailable
from app.files.services import SWEEP_GRACE_SECONDS, FileUnavailable, sweep, verify_blobs
from app.files.storage import StorageError
from app.keys import rotation
from app.keys.backend import KeyUnavailable
from app.notifications.services import notify

keys_group = PaxGroup("keys", help="The keys (keyring file or PKCS#11 token): state, rotation, migration.")
storage_group = PaxGroup("storage", help="The encrypted blob store.")


@keys_group.command("status")
@transactional
def status() -> None:
    """Show each KEK, what it wraps, and whether a rotation is unfinished."""
    try:
        state = rotation.status()
    except KeyUnavailable as exc:
        raise OneLineUsageError(f"the keys are unavailable: {exc}") from exc
    click.echo(f"Keys: {state.keys_file}")
    click.echo(f"Active KEK: {state.active_kek_id}")
    click.echo(f"Match index under the {state.match_index} key; audit chain under the {state.audit_chain} key.")
    for kek in state.keks:
        mark = "active " if kek.active else "       "
        click.echo(
            f"  {mark}{kek.kid}  created {kek.created_at[:19] or 'unknown'}"
            f"  data keys {kek.files}  secrets {kek.secrets}"
        )
    for kid, count in sorted(state.unknown.items()):
        click.echo(f"  MISSING {kid}  wraps {count} keys or secrets that cannot be opened")
    if state.pending:
        click.echo(
            f"Rotation unfinished: {state.pending} keys or secrets are not under the active KEK;"
            " run 'keys rotate --resume'."
        )
    else:
        click.echo("Every data key and secret is under the active KEK.")
    if state.backend == "pkcs11" and (state.pending or "file" in (state.match_index, state.audit_chain)):
        click.echo("Migration to the token unfinished: run 'keys migrate --to pkcs11'.")


@keys_group.command("rotate")
@click.option("--resume", is_flag=True, help="Finish an interrupted rotation without adding another KEK.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True)
@transactional
def rotate(resume: bool, batch_size: int) -> None:
    """Add a KEK, make it active, rewrap every data key under it and retire unused KEKs."""

    def progress(result: rotation.RotationResult) -> None:
        click.echo(f"  rewrapped {result.rewrapped} data keys, re-sealed {result.resealed} secrets", err=True)

    try:
        result = rotation.rotate(resume=resume, batch_size=batch_size, after_batch=progress)
    except (KeyUnavailable, FileUnavailable) as exc:
        raise OneLineUsageError(f"rotation stopped: {exc}; fix it and run 'keys rotate --resume'") from exc
    if result.new_kek_id:
        click.echo(f"New active KEK: {result.new_kek_id}")
    click.echo(f"Rewrapped {result.rewrapped} data keys and re-sealed {result.resealed} secrets.")
    if result.retired:
        click.echo(f"Retired KEKs no longer in use: {', '.join(result.retired)}")


@keys_group.command("migrate")
@click.option("--to", "target", type=click.Choice(["pkcs11"]), required=True, help="Where the keys go.")
@click.option("--resume", is_flag=True, help="Finish an interrupted migration (running it again does the same).")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True)
@transactional
def migrate(target: str, resume: bool, batch_size: int) -> None:
    """Move every key from the keyring file into the token: new keys made in the token, every data
    key rewrapped, every secret re-sealed, the match index re-keyed, the audit chain switched."""
    del resume  # every run resumes: it does only what is left

    def progress(result: rotation.RotationResult) -> None:
        click.echo(f"  rewrapped {result.rewrapped} data keys, re-sealed {result.resealed} secrets", err=True)

    try:
        result = rotation.migrate(target, batch_size=batch_size, after_batch=progress)
    except (KeyUnavailable, FileUnavailable) as exc:
        raise OneLineUsageError(
            f"migration stopped: {exc}; fix it and run 'keys migrate --to pkcs11 --resume'"
        ) from exc
    if result.created:
        click.echo(f"Created in the token: {', '.join(result.created)}")
    click.echo(
        f"Rewrapped {result.rewrapped} data keys, re-sealed {result.resealed} secrets, "
        f"re-keyed {result.rekeyed} match index entries."
    )
    if result.audit_switched:
        click.echo("The audit chain is now under the token's key (the switch is a record of its own).")
    click.echo("Every key use is on the token: the keyring file is no longer needed (README, Key custody).")


@storage_group.command("sweep")
@click.option("--grace-hours", type=click.IntRange(1, 24 * 30), default=SWEEP_GRACE_SECONDS // 3600, show_default=True)
@transactional
def sweep_command(grace_hours: int) -> None:
    """Delete unfinished uploads, blobs no file refers to and stamping directories (left by killed processes)."""
    try:
        result = sweep(grace_hours * 3600)
    except StorageError as exc:
        raise OneLineUsageError(str(exc)) from exc
    stamping = result["stamping"]
    click.echo(
        f"Removed {result['unfinished']} unfinished uploads, {result['orphans']} orphaned blobs"
        f" and {stamping} stamping {'directory' if stamping == 1 else 'directories'} left by stopped workers."
    )


@storage_group.command("verify")
@transactional
def verify_command() -> None:
    """Authenticate every stored file's blob; mark damaged ones so they are refused before any byte."""
    try:
        result = verify_blobs()
    except StorageError as exc:
        raise OneLineUsageError(str(exc)) from exc
    click.echo(
        f"Checked {result.checked} files: {len(result.damaged)} damaged, {len(result.restored)} restored, "
        f"{len(result.unreadable)} unreadable now."
    )
    for label, ids in (("Damaged", result.damaged), ("Restored", result.restored), ("Unreadable", result.unreadable)):
        if ids:
            click.echo(f"{label} file ids: {', '.join(map(str, ids))}")
    if result.damaged or result.unreadable:
        raise SystemExit(1)


@storage_group.command("rescan")
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.option("--unscanned", is_flag=True, help="Also scan the files stored before scanning was turned on.")
def rescan_command(limit: int, unscanned: bool) -> None:
    """Scan the files waiting for a malware scan (clamd was down): release the clean ones, destroy
    those with malware and tell their uploaders. Exit status 1 while files remain without a verdict."""
    if _rescan(limit, unscanned):
        raise SystemExit(1)


@transactional
def _rescan(limit: int, unscanned: bool) -> bool:
    """One transaction: the verdicts and notifications; True when files remain without a verdict."""
    try:
        result = rescan_pending(limit, unscanned)
    except ScannerUnavailable as exc:
        raise OneLineUsageError(f"{exc}; nothing was scanned") from exc
    except StorageError as exc:
        raise OneLineUsageError(str(exc)) from exc
    for found in result.infected:
        uploader = db.session.get(User, found.uploaded_by_id) if found.uploaded_by_id else None
        if uploader is not None:
            notify(uploader, "upload.infected")
    click.echo(
        f"Scanned {result.checked} files: {len(result.clean)} clean, {len(result.infected)} with malware "
        f"(destroyed), {len(result.pending)} without a verdict."
    )
    for found in result.infected:
        click.echo(f"Malware in file {found.file_id} ({found.kind}): {found.signature}")
    if result.failure:
        click.echo(f"The scan stopped: {result.failure}", err=True)
    if result.pending:
        click.echo(f"File ids without a verdict: {', '.join(map(str, result.pending))}")
    return bool(result.pending)
