"""``keys status``, ``keys rotate``, ``storage sweep``, ``storage verify`` and ``storage rescan``:
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
from app.keys.keyring import KeyringError
from app.notifications.services import notify

keys_group = PaxGroup("keys", help="The KEK keyring: its state and rotation.")
storage_group = PaxGroup("storage", help="The encrypted blob store.")


@keys_group.command("status")
@transactional
def status() -> None:
    """Show each KEK, what it wraps, and whether a rotation is unfinished."""
    state = rotation.status()
    click.echo(f"Keyring: {state.keys_file}")
    click.echo(f"Active KEK: {state.active_kek_id}")
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
    except (KeyringError, FileUnavailable) as exc:
        raise OneLineUsageError(f"rotation stopped: {exc}; fix it and run 'keys rotate --resume'") from exc
    if result.new_kek_id:
        click.echo(f"New active KEK: {result.new_kek_id}")
    click.echo(f"Rewrapped {result.rewrapped} data keys and re-sealed {result.resealed} secrets.")
    if result.retired:
        click.echo(f"Retired KEKs no longer in use: {', '.join(result.retired)}")


@storage_group.command("sweep")
@click.option("--grace-hours", type=click.IntRange(1, 24 * 30), default=SWEEP_GRACE_SECONDS // 3600, show_default=True)
@transactional
def sweep_command(grace_hours: int) -> None:
    """Delete unfinished uploads and blobs no file refers to (left by killed processes)."""
    try:
        result = sweep(grace_hours * 3600)
    except StorageError as exc:
        raise OneLineUsageError(str(exc)) from exc
    click.echo(f"Removed {result['unfinished']} unfinished uploads and {result['orphans']} orphaned blobs.")


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
