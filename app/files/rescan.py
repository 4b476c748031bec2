"""``storage rescan``: the files stored while the malware scanner gave no verdict, scanned now.

Each pending file is decrypted through ``open_file`` and streamed to clamd as an upload is; no
plaintext touches a disk. Every blob is read and scanned first; the verdicts are then written
together, so no write lock is held while clamd works:

- clean: the file is released (visible and downloadable from then on), audited ``file.scan_clean``;
- malware: the file is crypto-shredded (its attachment or document row goes with it, by the
  foreign key's cascade), audited ``file.scan_infected`` with the signature's name;
- no verdict (clamd went away again, or the file is larger than ``PAX_CLAMD_MAX_BYTES``): it
  stays pending for the next run.

With ``unscanned`` the files stored before scanning was turned on are scanned too (once, after
turning it on): clean ones are marked so, malware is destroyed the same way, and those without a
verdict stay as they were, visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from app.audit.services import record
from app.db import utcnow
from app.extensions import db
from app.files import scanning
from app.files.models import StoredFile
from app.files.services import FileUnavailable, open_file, shred_files


@dataclass(frozen=True)
class Infected:
    file_id: int
    #: What the file belonged to (``attachment``, ``meeting``).
    kind: str
    uploaded_by_id: int | None
    signature: str


@dataclass
class RescanResult:
    checked: int = 0
    clean: list[int] = field(default_factory=list)
    infected: list[Infected] = field(default_factory=list)
    #: Without a verdict: none now (the reason is in ``failure``), too large, or unreadable.
    pending: list[int] = field(default_factory=list)
    failure: str | None = None


def rescan_pending(limit: int = 1000, unscanned: bool = False) -> RescanResult:
    """Scan up to ``limit`` pending (with ``unscanned``, also never scanned) files, oldest first,
    and apply the verdicts (module docstring).

    Raises ``ScannerUnavailable`` when no scanner is configured or clamd does not answer PING;
    a scanner that stops answering midway ends the run, the files not yet scanned left pending.
    """
    clamd = scanning.Clamd.configured()
    if clamd is None:
        raise scanning.ScannerUnavailable("no malware scanner is configured: set PAX_CLAMD_ADDRESS")
    if not clamd.ping():
        raise scanning.ScannerUnavailable(f"clamd at {clamd.address} does not answer")
    scan_limit = current_app.config["CLAMD_MAX_BYTES"]
    statuses = (scanning.PENDING, scanning.UNSCANNED) if unscanned else (scanning.PENDING,)
    files = db.session.scalars(
        sa.select(StoredFile).where(StoredFile.scan_status.in_(statuses)).order_by(StoredFile.id).limit(limit)
    ).all()
    result = RescanResult()
    infected: list[StoredFile] = []
    for file in files:
        result.checked += 1
        if file.size > scan_limit:
            result.pending.append(file.id)
            continue
        scan = scanning.StreamScan(clamd)
        try:
            for chunk in open_file(file, for_scan=True).chunks:
                scan.feed(chunk)
            verdict = scan.verdict()
        except scanning.FileInfected as exc:
            infected.append(file)
            result.infected.append(Infected(file.id, file.kind, file.uploaded_by_id, exc.signature))
            continue
        except FileUnavailable:
            # Damaged or unreadable: ``storage verify`` reports it; it stays pending meanwhile.
            result.pending.append(file.id)
            continue
        finally:
            scan.close()
        if verdict != scanning.CLEAN:
            result.failure = scan.failure
            result.pending += [f.id for f in files[files.index(file) :]]
            break
        result.clean.append(file.id)
    _apply(result, infected, statuses)
    return result


def _apply(result: RescanResult, infected: list[StoredFile], statuses: tuple[str, ...]) -> None:
    if result.clean:
        db.session.execute(
            sa.update(StoredFile)
            .where(StoredFile.id.in_(result.clean), StoredFile.scan_status.in_(statuses))
            .values(scan_status=scanning.CLEAN, scanned_at=utcnow())
            .execution_options(synchronize_session="fetch")
        )
    for file_id in result.clean:
        record("file.scan_clean", target=("stored_file", file_id))
    for found in result.infected:
        record(
            "file.scan_infected",
            target=("stored_file", found.file_id),
            outcome="denied",
            kind=found.kind,
            signature=found.signature,
            uploaded_by=found.uploaded_by_id,
        )
    shred_files(infected)
