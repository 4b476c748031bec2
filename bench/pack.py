"""What a meeting pack download costs: time to first byte, throughput against a plain zip, memory.

A meeting with 200 documents totalling 1 GiB (text files of varied sizes, the portal refuses
random bytes by content sniffing) is stored through ``store_file`` (encrypted) in a fresh
portal's temporary local blob directory and SQLite database. The pack is downloaded from
``GET /api/v1/meetings/<id>/pack`` through the real portal under gunicorn on 127.0.0.1 (as
``bench.crypto`` serves it). The baseline is a small Flask app in this module (``plain_app``)
under the same gunicorn settings that zips the same plaintext files from disk with zipstream-ng
(stored, sized, in the same order, with three small files first) and sends it in the same 1 MiB
writes the portal uses, so the ratio isolates what the pack adds: decryption, the policy and
audit queries, opening every document before the first byte, and the manifest's signature.

Printed: time to first byte (goal: under 0.3 s), throughput as a ratio to the plain zip
(goal: at least 0.60) and the peak RSS (``VmHWM``) of the portal's gunicorn worker (goal: under
100 MiB). One extra, untimed download is saved and checked with ``packs verify``'s checker
(signature, every size and SHA-256) and its manifest's digests compared with the source files.

Each measurement is run ``--runs`` times, interleaved, each after an ``os.sync()``; the median is
reported. Exit status 1 means a check failed, not that a goal was missed.

Run: ``.venv/bin/python bench/pack.py [--size-mib N] [--documents N] [--runs N]``
(``--size-mib 64 --documents 20`` for a quick run).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if __package__ in (None, ""):
    # Run as a script (``python bench/pack.py``): make the project importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.files.pipeline import grouped
from bench.crypto import (
    HTTP_CHUNK,
    MIB,
    PLAIN_DIR_ENV,
    call,
    machine_facts,
    portal_env,
    prepare_portal,
    quiesce,
    start_gunicorn,
    verdict,
)

if TYPE_CHECKING:
    from flask import Flask

TTFB_GOAL = 0.3
RATIO_GOAL = 0.60
RSS_GOAL_MIB = 100.0
BENCH_EMAIL = "bench@bench.example"


# --- the documents -----------------------------------------------------------------------------------


def document_sizes(total: int, count: int) -> list[int]:
    """``count`` sizes from about a fifth to about twice the mean, summing exactly to ``total``."""
    weights = [1 + (i * 37 % 19) for i in range(count)]  # 1..19, spread without randomness
    scale = total / sum(weights)
    sizes = [max(1, int(w * scale)) for w in weights]
    sizes[-1] += total - sum(sizes)
    return sizes


def make_documents(folder: Path, total: int, count: int) -> list[tuple[Path, str]]:
    """Hex-text files (each with its own first line) and their SHA-256, in agenda order."""
    folder.mkdir()
    text = os.urandom(16 * MIB).hex().encode("ascii")  # 32 MiB, reused: content does not change the cost
    made = []
    for index, size in enumerate(document_sizes(total, count), start=1):
        path = folder / f"document-{index:03d}.txt"
        digest = hashlib.sha256()
        with open(path, "wb") as handle:
            head = f"document {index}\n".encode()[:size]
            handle.write(head)
            digest.update(head)
            left, offset = size - len(head), index * 4096
            while left:
                piece = text[offset % len(text) : offset % len(text) + min(left, 8 * MIB)]
                handle.write(piece)
                digest.update(piece)
                left -= len(piece)
                offset += len(piece)
        made.append((path, digest.hexdigest()))
    return made


def store_meeting(env: dict[str, str], documents: list[tuple[Path, str]]) -> int:
    """In this process, on the portal's database and blob directory: a GREEN technical meeting of
    the policy cluster with one agenda item per ten documents, each document stored encrypted."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        import sqlalchemy as sa

        from app import create_app
        from app.auth.models import User
        from app.clusters.models import Cluster
        from app.extensions import db
        from app.files.services import store_file
        from app.markings import Tlp
        from app.meetings.models import AgendaItem, Meeting, MeetingDocument, MeetingKind

        app = create_app()
        with app.app_context():
            user = db.session.scalar(sa.select(User).where(User.email == BENCH_EMAIL))
            policy = db.session.scalar(sa.select(Cluster).where(Cluster.slug == "policy"))
            meeting = Meeting(
                kind=MeetingKind.TECHNICAL,
                cluster=policy,
                title="Bench meeting",
                starts_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
                ends_at=datetime(2026, 12, 1, 17, tzinfo=UTC),
                tlp=Tlp.GREEN,
                author=user,
                author_org_id=user.organisation_id,
            )
            db.session.add(meeting)
            items: list[AgendaItem] = []
            for index, (path, _sha) in enumerate(documents):
                if index % 10 == 0:
                    items.append(AgendaItem(meeting=meeting, position=len(items) + 1, title=f"Item {len(items) + 1}"))
                    db.session.add(items[-1])
                with open(path, "rb") as handle:
                    chunks = iter(lambda handle=handle: handle.read(MIB), b"")
                    stored, _meta = store_file("meeting", chunks, path.name, user, 1 << 40)
                db.session.add(
                    MeetingDocument(
                        meeting=meeting,
                        agenda_item=items[-1],
                        file=stored,
                        title=f"Document {index + 1}",
                        position=index % 10 + 1,
                        tlp=Tlp.GREEN,
                        author=user,
                        author_org_id=user.organisation_id,
                    )
                )
                db.session.commit()  # one blob per transaction, as uploads are
            meeting_id = meeting.id
            db.session.remove()
            db.engine.dispose()
        return meeting_id
    finally:
        os.environ.clear()
        os.environ.update(saved)


# --- the baseline server -----------------------------------------------------------------------------


def plain_app() -> Flask:
    """The same plaintext files zipped with zipstream-ng as they are read, with no encryption.

    Started by gunicorn as ``bench.pack:plain_app()``; the files are those in ``PAX_BENCH_PLAIN_DIR``
    in name order, after three small files standing in for the index, manifest and signature.
    """
    from flask import Flask, Response
    from zipstream import ZIP_STORED, ZipStream

    folder = Path(os.environ[PLAIN_DIR_ENV])
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    @app.get("/zip")
    def download() -> Response:
        stream = ZipStream(compress_type=ZIP_STORED, sized=True)
        stream.add(b"<!DOCTYPE html><title>index</title>" * 50, "index.html")
        stream.add(b'{"files": []}' * 200, "manifest.json")
        stream.add(base64.b64encode(os.urandom(64)), "manifest.sig")
        for path in sorted(folder.iterdir()):
            stream.add_path(str(path), path.name)
        response = Response(grouped(iter(stream), HTTP_CHUNK), mimetype="application/zip", direct_passthrough=True)
        response.headers["Content-Length"] = str(len(stream))
        return response

    return app


# --- measuring -----------------------------------------------------------------------------------------


@dataclass
class Download:
    first_byte: float
    total: float
    size: int


def timed_download(port: int, path: str, token: str | None, keep: Path | None = None) -> Download:
    """GET ``path``: seconds to the first body byte and to the last, in 1 MiB reads."""
    buffer = bytearray(HTTP_CHUNK)
    view = memoryview(buffer)
    received = 0
    first = 0.0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    sink = open(keep, "wb") if keep else None  # noqa: SIM115 (closed below)
    try:
        start = time.perf_counter()
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"download of {path} answered {response.status}: {response.read(500)!r}")
        expected = int(response.headers["Content-Length"])
        while n := response.readinto(buffer):
            if not received:
                first = time.perf_counter() - start
            received += n
            if sink:
                sink.write(view[:n])
        elapsed = time.perf_counter() - start
    finally:
        conn.close()
        if sink:
            sink.close()
    if received != expected:
        raise RuntimeError(f"download of {path} gave {received} bytes, Content-Length said {expected}")
    return Download(first, elapsed, received)


@dataclass
class Results:
    portal: list[Download] = field(default_factory=list)
    plain: list[Download] = field(default_factory=list)
    memory: tuple[float, float, float | None] = (0.0, 0.0, None)
    checks: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def run(work: Path, size: int, count: int, runs: int) -> Results:
    results = Results()
    started = time.perf_counter()
    documents = make_documents(work / "plain", size, count)
    env = portal_env(work, 1 << 40)
    token = prepare_portal(env)
    meeting_id = store_meeting(env, documents)
    print(
        f"  prepared {count} documents, {size / MIB:,.0f} MiB, stored encrypted in {time.perf_counter() - started:.0f} s"
    )
    sys.stdout.flush()
    servers = []
    try:
        portal = start_gunicorn("portal", "app:create_app()", env, work / "portal.log")
        servers.append(portal)
        plain = start_gunicorn(
            "plain", "bench.pack:plain_app()", {**env, PLAIN_DIR_ENV: str(work / "plain")}, work / "plain.log"
        )
        servers.append(plain)
        boot_peak = portal.memory_mib("VmHWM")
        # Warm the worker as a running portal is (token check, database, JSON), then watch the peak.
        call(portal.port, "GET", "/api/v1/me", token)
        call(portal.port, "GET", "/api/v1/pack-key")
        rss = portal.memory_mib("VmRSS")
        reset = portal.reset_peak()
        pack_path = f"/api/v1/meetings/{meeting_id}/pack"
        # The first, untimed download is the recipient's check; it also warms the page cache.
        check(portal.port, pack_path, token, work, documents, results)
        for _ in range(runs):
            quiesce()
            results.portal.append(timed_download(portal.port, pack_path, token))
            quiesce()
            results.plain.append(timed_download(plain.port, "/zip", None))
        results.memory = (rss, boot_peak, portal.memory_mib("VmHWM") if reset else None)
    except Exception:
        for server in servers:
            print(f"--- last lines of the {server.name} server log ---\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        for server in servers:
            server.stop()
    return results


def check(port: int, path: str, token: str, work: Path, documents: list[tuple[Path, str]], results: Results) -> None:
    """An untimed download, saved and verified as a recipient would: signature, sizes, digests."""
    from app.cli.packs import check_pack

    saved = work / "pack.zip"
    timed_download(port, path, token, keep=saved)
    status, key = call(port, "GET", "/api/v1/pack-key")
    if status != 200:
        results.failures.append(f"/api/v1/pack-key answered {status}")
        return
    verdict_ = check_pack(saved, base64.b64decode(key["public_key"]))
    saved_size = saved.stat().st_size
    saved.unlink()
    if verdict_.problems:
        results.failures.extend(f"packs verify: {problem}" for problem in verdict_.problems)
        return
    listed = [entry["sha256"] for entry in verdict_.manifest["files"]]
    if listed != [sha for _path, sha in documents]:
        results.failures.append("the manifest's digests are not the source files' digests in agenda order")
        return
    results.checks.append(
        f"a saved pack ({saved_size / MIB:,.1f} MiB) passes packs verify: signature, {verdict_.files} files' sizes "
        "and SHA-256, and the manifest's digests are the source files'"
    )


# --- report --------------------------------------------------------------------------------------------


def report(results: Results, size: int, count: int, runs: int) -> bool:
    def median(values: list[float]) -> float:
        return statistics.median(values)

    portal_mbps = [d.size / d.total / 1e6 for d in results.portal]
    plain_mbps = [d.size / d.total / 1e6 for d in results.plain]
    portal_rate, plain_rate = median(portal_mbps), median(plain_mbps)
    ttfb = median([d.first_byte for d in results.portal])
    plain_ttfb = median([d.first_byte for d in results.plain])
    ratio = portal_rate / plain_rate
    print(
        f"\nMeeting pack of {count} documents, {size / MIB:,.0f} MiB (zip {results.portal[0].size / MIB:,.1f} MiB), "
        f"median of {runs} interleaved runs;\n  gunicorn -w 1 -k gthread --threads 4 for both servers on 127.0.0.1, "
        "the client on the same CPUs, os.sync() before each run"
    )
    print(
        f"  {'time to first byte':<30} {ttfb:>8.3f} s      goal < {TTFB_GOAL} s    {verdict(ttfb < TTFB_GOAL):<8}"
        f"  runs: {', '.join(f'{d.first_byte:.3f}' for d in results.portal)}  (plain zip: {plain_ttfb:.3f} s)"
    )
    print(
        f"  {'plain zip (zipstream-ng)':<30} {plain_rate:>8.0f} MB/s{'':30}runs: {', '.join(f'{v:.0f}' for v in plain_mbps)}"
    )
    print(
        f"  {'portal pack (decrypting)':<30} {portal_rate:>8.0f} MB/s   ratio {ratio:.2f}   goal >= {RATIO_GOAL:.2f}   "
        f"{verdict(ratio >= RATIO_GOAL):<8}  runs: {', '.join(f'{v:.0f}' for v in portal_mbps)}"
    )
    rss, boot_peak, transfers = results.memory
    peak = max(boot_peak, transfers or 0.0)
    print(
        f"  {'portal worker peak (VmHWM)':<30} {peak:>8.1f} MiB    goal < {RSS_GOAL_MIB:.0f} MiB   {verdict(peak < RSS_GOAL_MIB)}"
    )
    during = "not measurable (clear_refs refused)" if transfers is None else f"{transfers:.1f} MiB"
    print(
        f"      start-up peak (VmHWM) {boot_peak:.1f} MiB; warm VmRSS before the downloads {rss:.1f} MiB; "
        f"peak during the downloads alone: {during}"
    )
    for line in results.checks:
        print(f"  check: {line}")
    for line in results.failures:
        print(f"  FAILED: {line}")
    return not results.failures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="total size of the documents (default 1024)")
    parser.add_argument("--documents", type=int, default=200, help="how many documents (default 200)")
    parser.add_argument("--runs", type=int, default=3, help="downloads of each kind; the median is reported")
    args = parser.parse_args()
    size = args.size_mib * MIB
    if size <= 0 or args.runs <= 0 or not 0 < args.documents <= size:
        parser.error("--size-mib, --documents and --runs must be positive (and no more documents than bytes)")
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="pax-bench-pack-", dir="/tmp"))
    needed = 3 * size + 512 * MIB  # the plaintext, the encrypted blobs, one saved pack
    if shutil.disk_usage(work).free < needed:
        shutil.rmtree(work)
        sys.exit(f"not enough free space in /tmp: about {needed // MIB:,} MiB needed")
    print(machine_facts())
    sys.stdout.flush()
    try:
        ok = report(run(work, size, args.documents, args.runs), size, args.documents, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nTotal time {time.perf_counter() - started:.0f} s.")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
