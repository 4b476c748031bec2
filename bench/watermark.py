"""What stamping a PDF for its reader costs: a stamped download against a plain decrypting one.

Two PDFs made with pikepdf (``tests/support/pdfs.py``): 100 pages, each drawing a 1 MiB image
(about 100 MiB), and 2,000 pages, each drawing a 48 KiB image (about 94 MiB). Each is uploaded
twice through the real portal under gunicorn on 127.0.0.1 (fresh SQLite database and local blob
directory, as ``bench.crypto`` serves it): once to a GREEN post, whose download is the plain
decrypting stream, and once to an AMBER post, whose download is decrypted into a temporary
file, stamped on every page and sent (``app.files.watermark``). Both come from
``GET /api/v1/attachments/<id>`` in the same run, interleaved.

Printed per PDF: seconds and MB/s of each, the stamped download's throughput as a ratio to the
plain one, and the peak RSS (``VmHWM``) of the portal's gunicorn worker while stamping (goal:
under 200 MiB for the 100 MB PDF). Every stamped copy is checked: page count, the stamp on its
first and last page, and the reference in the response header.

Run: ``.venv/bin/python bench/watermark.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.crypto import (
    HTTP_CHUNK,
    MIB,
    ROOT,
    call,
    machine_facts,
    portal_env,
    prepare_portal,
    quiesce,
    start_gunicorn,
    verdict,
)
from tests.support.pdfs import make_pdf

RSS_GOAL_MIB = 200.0
#: (label, pages, bytes of the image each page draws)
PDFS = (("100 pages", 100, MIB), ("2,000 pages", 2000, 48 * 1024))


def upload_pdf(port: int, post_id: int, token: str, source: Path) -> int:
    """POST ``source`` as the post's attachment, streamed from disk; the attachment's id."""
    boundary = f"pax-bench-{secrets.token_hex(16)}"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{source.name}"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.putrequest("POST", f"/api/v1/posts/{post_id}/attachments")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + source.stat().st_size + len(tail)))
        conn.putheader("Authorization", f"Bearer {token}")
        conn.endheaders()
        conn.send(head)
        with open(source, "rb") as handle:
            while piece := handle.read(HTTP_CHUNK):
                conn.send(piece)
        conn.send(tail)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    if response.status != 201:
        raise RuntimeError(f"upload answered {response.status}: {raw[:300]!r}")
    return int(json.loads(raw)["id"])


@dataclass
class Fetched:
    seconds: float
    size: int
    reference: str | None
    body: Path | None


def fetch(port: int, attachment_id: int, token: str, keep: Path | None = None) -> Fetched:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    buffer = bytearray(HTTP_CHUNK)
    received = 0
    sink = open(keep, "wb") if keep else None  # noqa: SIM115 (closed below)
    try:
        start = time.perf_counter()
        conn.request("GET", f"/api/v1/attachments/{attachment_id}", headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"download answered {response.status}: {response.read(300)!r}")
        while n := response.readinto(buffer):
            received += n
            if sink:
                sink.write(memoryview(buffer)[:n])
        elapsed = time.perf_counter() - start
        reference = response.headers.get("X-Pax-Watermark")
    finally:
        conn.close()
        if sink:
            sink.close()
    return Fetched(elapsed, received, reference, keep)


@dataclass
class Row:
    label: str
    pages: int
    source_size: int
    plain: list[Fetched] = field(default_factory=list)
    stamped: list[Fetched] = field(default_factory=list)
    peak_mib: float | None = None
    checks: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def check_copy(row: Row, copy: Path, reference: str | None) -> None:
    from pypdf import PdfReader

    reader = PdfReader(copy)
    pages = len(reader.pages)
    first, last = reader.pages[0].extract_text(), reader.pages[-1].extract_text()
    if pages != row.pages or not reference or f"Ref {reference}" not in first or f"Ref {reference}" not in last:
        row.failures.append(f"{row.label}: the stamped copy has {pages} pages or lacks the stamp {reference}")
    else:
        row.checks.append(f"{row.label}: stamped copy has all {pages} pages, stamp {reference} on the first and last")


def run(work: Path, runs: int) -> list[Row]:
    env = portal_env(work, 1 << 32)
    env["PYTHONPATH"] = str(ROOT)  # this checkout's code, whatever the venv's editable install points to
    token = prepare_portal(env)
    rows = []
    portal = start_gunicorn("portal", "app:create_app()", env, work / "portal.log")
    try:
        posts = {}
        for tlp in ("GREEN", "AMBER"):
            status, body = call(
                portal.port,
                "POST",
                "/api/v1/posts",
                token,
                {"type": "best_practice", "cluster": "policy", "title": f"Bench {tlp}", "body": "PDFs", "tlp": tlp},
            )
            if status != 201:
                raise RuntimeError(f"creating the {tlp} post answered {status}: {body}")
            posts[tlp] = body["id"]
        for label, pages, image in PDFS:
            started = time.perf_counter()
            source = make_pdf(work / f"bench-{pages}.pdf", pages, image_bytes=image)
            row = Row(label, pages, source.stat().st_size)
            plain_id = upload_pdf(portal.port, posts["GREEN"], token, source)
            stamped_id = upload_pdf(portal.port, posts["AMBER"], token, source)
            source.unlink()
            print(
                f"  {label}: made and uploaded {row.source_size / MIB:,.1f} MiB twice in {time.perf_counter() - started:.0f} s"
            )
            sys.stdout.flush()
            # An untimed stamped download, checked page by page; it also warms the page cache.
            checked = fetch(portal.port, stamped_id, token, keep=work / "copy.pdf")
            check_copy(row, work / "copy.pdf", checked.reference)
            (work / "copy.pdf").unlink()
            fetch(portal.port, plain_id, token)
            reset = portal.reset_peak()
            for _ in range(runs):
                quiesce()
                row.plain.append(fetch(portal.port, plain_id, token))
                quiesce()
                row.stamped.append(fetch(portal.port, stamped_id, token))
            row.peak_mib = portal.memory_mib("VmHWM") if reset else None
            rows.append(row)
    except Exception:
        print(f"--- last lines of the portal log ---\n{portal.log_tail()}", file=sys.stderr)
        raise
    finally:
        portal.stop()
    return rows


def report(rows: list[Row], runs: int) -> bool:
    ok = True
    print(f"\nStamped AMBER download vs plain decrypting GREEN download, median of {runs} interleaved runs;")
    print("  gunicorn -w 1 -k gthread --threads 4 on 127.0.0.1, the client on the same CPUs, os.sync() before each run")
    for row in rows:
        plain = statistics.median(f.seconds for f in row.plain)
        stamped = statistics.median(f.seconds for f in row.stamped)
        plain_rate = row.plain[0].size / plain / 1e6
        stamped_rate = row.stamped[0].size / stamped / 1e6
        print(f"  {row.label}, {row.source_size / MIB:,.1f} MiB:")
        print(f"    {'plain decrypting download':<28} {plain:>7.2f} s  {plain_rate:>7.0f} MB/s")
        print(
            f"    {'stamped download':<28} {stamped:>7.2f} s  {stamped_rate:>7.0f} MB/s   ratio {stamped_rate / plain_rate:.2f}"
            f"   ({row.pages / stamped:,.0f} pages/s)"
        )
        if row.peak_mib is None:
            print("    worker peak (VmHWM): not measurable (clear_refs refused)")
        else:
            met = row.peak_mib < RSS_GOAL_MIB
            print(
                f"    {'worker peak (VmHWM)':<28} {row.peak_mib:>7.1f} MiB   goal < {RSS_GOAL_MIB:.0f} MiB   {verdict(met)}"
            )
        for line in row.checks:
            print(f"    check: {line}")
        for line in row.failures:
            print(f"    FAILED: {line}")
            ok = False
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="downloads of each kind; the median is reported")
    args = parser.parse_args()
    if args.runs <= 0:
        parser.error("--runs must be positive")
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="pax-bench-watermark-", dir="/tmp"))
    if shutil.disk_usage(work).free < 1024 * MIB:
        shutil.rmtree(work)
        sys.exit("not enough free space in /tmp: about 1 GiB needed")
    print(machine_facts())
    sys.stdout.flush()
    try:
        ok = report(run(work, args.runs), args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nTotal time {time.perf_counter() - started:.0f} s.")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
