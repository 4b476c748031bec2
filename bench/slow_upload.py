"""One slow upload must not stall everyone: other members' latency while uploads crawl in.

Five organisations' systems upload an attachment each over a slow link (``--rate`` KiB/s, 1 MiB/s
by default, ``--size-mib`` each) with tokens they have not used for a while (their first use is
audited, which used to take the audit chain's lock for the whole upload). Meanwhile other
members write (``POST /api/v1/posts``, AMBER: audited) and read AMBER posts
(``GET /api/v1/posts/<id>``: every read is an audit record) as fast as one client each can.
Printed per backend: the others' p50/p95/p99 latency while the uploads stream (goal: p99 under
200 ms), their error count, and whether every upload was stored. Exit status 1 means a check
failed (an error, a lost upload), not that the goal was missed.

The portal runs under gunicorn on 127.0.0.1 (gthread, ``--workers`` x ``--threads``) on a fresh
database of each backend: SQLite in a temporary directory, and a throwaway PostgreSQL database
(the test suite's server, ``PAX_TEST_PG_URL``) unless ``--backend sqlite``.

``--uploads 0`` measures the same members for as long with nothing uploading: the baseline that
shows what the machine itself gives (on a shared two-core machine, most of the tail).

Run: ``.venv/bin/python -m bench.slow_upload [--backend sqlite|postgresql|both] [--size-mib 8]
[--rate 1024] [--uploads 5] [--readers 2] [--writers 2]``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PASSWORD = "slow-upload-bench-pass-phrase"  # noqa: S105 (throwaway accounts in a throwaway database)
BOUNDARY = "paxslowupload"
PIECE = 16 * 1024


@dataclass
class Latencies:
    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: (when it started, seconds, what) of each request, to see when the slow ones happened.
    log: list[tuple[float, float, str]] = field(default_factory=list)

    def add(self, seconds: float, status: int, expected: int, started: float = 0.0, what: str = "") -> None:
        with self.lock:
            self.times.append(seconds)
            self.log.append((started, seconds, what))
            if status != expected:
                self.errors.append(str(status))

    def percentile(self, p: float) -> float:
        ordered = sorted(self.times)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def seed(root: Path, url: str, uploads: int, others: int) -> dict[str, Any]:
    """Members, tokens and one AMBER post per reader, through the services; returns what clients need."""
    from app import create_app
    from app.auth.tokens import create_token
    from app.extensions import db
    from tests.conftest import Factory, make_config
    from tests.test_posts_pages import publish

    portal = create_app(make_config(root, url))
    with portal.app_context():
        make = Factory()
        uploaders, others_tokens, posts = [], [], []
        for _ in range(uploads):
            member = make.user(clusters={"policy": "contributor"}, password=PASSWORD)
            post = publish(member, tlp="AMBER", title="Slow link manifest")
            _row, token = create_token(member, "slow system", "write", 30)
            uploaders.append((token, post.id))
        for _ in range(others):
            member = make.user(clusters={"policy": "contributor"}, password=PASSWORD)
            posts.append(publish(member, tlp="AMBER", title="Terminal badge audit").id)
            _row, token = create_token(member, "busy member", "write", 30)
            others_tokens.append(token)
        db.session.commit()
        seeded = {
            "uploaders": uploaders,
            "others": others_tokens,
            "posts": posts,
            "secret": portal.config["SECRET_KEY"],
        }
        db.session.remove()
    db.engine.dispose()
    return seeded


def slow_upload(port: int, token: str, post_id: int, size: int, rate: int, results: list[int]) -> None:
    """A multipart upload sent at ``rate`` bytes/s; appends the status."""
    line = b"container seal checked at gate 4 by the night shift\n"
    content_head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="manifest.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.putrequest("POST", f"/api/v1/posts/{post_id}/attachments")
    connection.putheader("Authorization", f"Bearer {token}")
    connection.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
    connection.putheader("Content-Length", str(len(content_head) + size + len(tail)))
    connection.endheaders()
    connection.send(content_head)
    started, sent = time.monotonic(), 0
    piece = (line * (PIECE // len(line) + 1))[:PIECE]
    while sent < size:
        chunk = piece[: min(PIECE, size - sent)]
        connection.send(chunk)
        sent += len(chunk)
        ahead = sent / rate - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)
    connection.send(tail)
    response = connection.getresponse()
    response.read()
    results.append(response.status)
    connection.close()


def member_loop(port: int, token: str, post_id: int, kind: str, stop: threading.Event, figures: Latencies) -> None:
    """One member's client: AMBER reads or AMBER posts, back to back, each timed."""
    import json

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    n = 0
    while not stop.is_set():
        n += 1
        started = time.monotonic()
        if kind == "read":
            connection.request("GET", f"/api/v1/posts/{post_id}", headers=headers)
            expected = 200
        else:
            body = {
                "type": "best_practice",
                "cluster": "policy",
                "title": f"Gate check {n}",
                "body": "Seals checked against the manifest.",
                "tlp": "AMBER",
            }
            connection.request("POST", "/api/v1/posts", body=json.dumps(body), headers=headers)
            expected = 201
        response = connection.getresponse()
        response.read()
        figures.add(time.monotonic() - started, response.status, expected, started, kind)


def run_backend(backend: str, args: argparse.Namespace) -> bool:
    os.environ["PAX_TEST_DB"] = backend
    from tests.support import databases
    from tests.support import gunicorn as gunicorn_support

    with tempfile.TemporaryDirectory(prefix="pax-slow-upload-") as tmp:
        root = Path(tmp)
        with databases.fresh_database(root, "slow") as url:
            databases.upgrade(url)
            others = args.readers + args.writers
            seeded = seed(root, url, args.uploads, others)
            env = gunicorn_support.portal_env(
                root,
                url,
                seeded["secret"],
                PAX_STORAGE_URL=f"file://{root / 'blobs'}",
                PAX_MAX_UPLOAD_BYTES=str(args.size_mib * 1024 * 1024 + 1024 * 1024),
            )
            with gunicorn_support.running(
                ["portal"], env, root, workers=args.workers, threads=args.threads, timeout=600
            ) as (portal,):
                port = portal.port
                figures, statuses = Latencies(), []  # type: ignore[var-annotated]
                stop = threading.Event()
                loops = [
                    threading.Thread(
                        target=member_loop,
                        args=(port, token, post_id, "read" if i < args.readers else "write", stop, figures),
                    )
                    for i, (token, post_id) in enumerate(zip(seeded["others"], seeded["posts"], strict=True))
                ]
                uploads = [
                    threading.Thread(
                        target=slow_upload,
                        args=(port, token, post_id, args.size_mib * 1024 * 1024, args.rate * 1024, statuses),
                    )
                    for token, post_id in seeded["uploaders"]
                ]
                for thread in uploads:
                    thread.start()
                time.sleep(0.5)  # the uploads have begun (their tokens' first use recorded) before timing starts
                started = time.monotonic()
                for thread in loops:
                    thread.start()
                for thread in uploads:
                    thread.join()
                if not uploads:  # the baseline: the same members, as long, with nothing uploading
                    time.sleep(args.size_mib * 1024 / args.rate)
                stop.set()
                for thread in loops:
                    thread.join()
                elapsed = time.monotonic() - started
    stored = sum(1 for s in statuses if s == 201)
    print(
        f"{backend:<10} {len(figures.times):6d} requests in {elapsed:5.1f} s while {len(statuses)} uploads of "
        f"{args.size_mib} MiB streamed at {args.rate} KiB/s:  p50 {figures.percentile(50):6.1f} ms  "
        f"p95 {figures.percentile(95):6.1f} ms  p99 {figures.percentile(99):6.1f} ms  "
        f"max {max(figures.times, default=0) * 1000:6.1f} ms  errors {len(figures.errors)}  "
        f"uploads stored {stored}/{args.uploads}  goal p99 < 200 ms: "
        f"{'met' if figures.percentile(99) < 200 else 'MISSED'}"
    )
    if figures.errors:
        print(f"  error statuses: {sorted(set(figures.errors))}")
    if len(figures.times) > 1:
        print(f"  mean {statistics.mean(figures.times) * 1000:.1f} ms")
    if args.verbose:
        for at, seconds, what in sorted(figures.log, key=lambda row: -row[1])[:8]:
            print(f"  slowest: {what} at +{at - started:5.2f} s took {seconds * 1000:6.1f} ms")
    return not figures.errors and stored == args.uploads and len(statuses) == args.uploads


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--size-mib", type=int, default=8)
    parser.add_argument("--rate", type=int, default=1024, help="KiB/s per upload")
    parser.add_argument("--uploads", type=int, default=5)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--verbose", action="store_true", help="list the slowest requests and when they ran")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    ok = True
    for backend in backends:
        ok = run_backend(backend, args) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
