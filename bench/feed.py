"""Feed and search cost at 1,000 and 100,000 posts, on SQLite and PostgreSQL.

For a member of two clusters in a non-law-enforcement organisation, the benchmark measures
the cluster feed page and the search page through the full Flask stack (routing, session,
policy, SQL, templates), counts the SQL statements each request issues, and prints:

- per-request feed time at 1,000 and at 100,000 posts and their ratio (goal: at most 1.5),
- SQL statements per feed and per search request at both sizes (bounded: the same count),
- search percentiles at 100,000 posts for narrow and broad two-term queries (goal: p95 < 50 ms).

Run: ``.venv/bin/python -m bench.feed [--backend sqlite|postgresql|both] [--requests N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

WORDS = [
    "container",
    "terminal",
    "seal",
    "inspection",
    "cocaine",
    "cannabis",
    "port",
    "authority",
    "customs",
    "police",
    "vessel",
    "crew",
    "gate",
    "scanner",
    "reefer",
    "transshipment",
    "manifest",
    "berth",
    "crane",
    "driver",
    "access",
    "badge",
    "insider",
    "corruption",
    "vetting",
    "extraction",
    "team",
    "rip-off",
    "cloning",
    "pin",
    "code",
    "fraud",
    "drone",
    "cyber",
    "intrusion",
    "logistics",
    "hub",
    "shipping",
    "line",
    "risk",
    "indicator",
    "joint",
    "control",
    "information",
    "exchange",
    "training",
    "awareness",
    "procedure",
    "audit",
    "camera",
    "fence",
    "yard",
    "stack",
    "release",
    "order",
    "pickup",
    "haulier",
    "truck",
    "chassis",
    "lashing",
    "pilot",
    "tug",
    "warehouse",
    "bonded",
]
#: Rare words appear in about 1 post in 2,000; common ones in most posts.
RARE = ["hydrofoil", "quarantine", "ballast", "bunkering", "stevedore", "dredging", "mooring", "tariff"]
TLPS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
TYPES = ["best_practice", "incident_note", "deliverable"]


def make_text(rng: random.Random, n: int) -> str:
    words = rng.choices(WORDS, k=n)
    if rng.random() < 0.0005 * len(RARE):
        words.insert(rng.randrange(len(words)), rng.choice(RARE))
    return " ".join(words)


@contextlib.contextmanager
def database(backend: str, label: str) -> Iterator[str]:
    import os

    from tests.support import databases

    os.environ["PAX_TEST_DB"] = backend
    with tempfile.TemporaryDirectory() as tmp, databases.fresh_database(Path(tmp), f"bench_{label}") as url:
        databases.upgrade(url, "head")
        yield url


def populate(url: str, n_posts: int, seed: int = 7) -> dict[str, int]:
    """Organisations, one member, and ``n_posts`` posts over many organisations and markings."""
    from app.auth.passwords import configure, hash_password
    from app.db import make_engine

    configure("CHEAPEST")
    rng = random.Random(seed)
    engine = make_engine(url, pooled=False)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        clusters = dict(conn.execute(sa.text("SELECT slug, id FROM clusters")).all())
        org_ids = []
        for i in range(200):
            org_type = "police" if i % 10 == 0 else "terminal_operator"
            org_ids.append(
                conn.execute(
                    sa.text(
                        "INSERT INTO organisations (name, type, country, created_at) "
                        "VALUES (:n, :t, 'BE', :c) RETURNING id"
                    ),
                    {"n": f"Bench org {i}", "t": org_type, "c": now},
                ).scalar_one()
            )
        member_org = org_ids[1]
        member_id = conn.execute(
            sa.text(
                "INSERT INTO users (email, name, organisation_id, status, role, is_focal_point, password_hash, "
                "failed_logins, created_at) VALUES ('member@bench.example', 'Bench Member', :o, 'active', 'member', "
                "false, :h, 0, :c) RETURNING id"
            ),
            {"o": member_org, "h": hash_password("bench password!"), "c": now},
        ).scalar_one()
        for slug in ("operational-cooperation", "policy"):
            conn.execute(
                sa.text(
                    "INSERT INTO cluster_memberships (user_id, cluster_id, role, created_at) VALUES (:u, :c, 'reader', :t)"
                ),
                {"u": member_id, "c": clusters[slug], "t": now},
            )
        batch = []
        tags = []
        recipients = []
        cluster_ids = list(clusters.values())
        for i in range(n_posts):
            tlp = rng.choices(TLPS, weights=[10, 40, 30, 10, 10])[0]
            title = make_text(rng, 6)
            body = make_text(rng, 60)
            batch.append(
                {
                    "type": rng.choice(TYPES[:2]),
                    "cluster_id": rng.choice(cluster_ids),
                    "title": title,
                    "body": body,
                    "body_html": f"<p>{body}</p>",
                    "body_text": body,
                    "tlp": tlp,
                    "le": rng.random() < 0.1,
                    "author_org_id": rng.choice(org_ids),
                    "tags_text": "",
                    "created_at": now - timedelta(minutes=n_posts - i),
                }
            )
            if len(batch) == 5000 or i == n_posts - 1:
                first = conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM posts")).scalar_one() + 1
                conn.execute(
                    sa.text(
                        "INSERT INTO posts (type, cluster_id, title, body, body_html, body_text, tlp, law_enforcement_only, "
                        "author_org_id, tags_text, version, created_at, updated_at) VALUES (:type, :cluster_id, "
                        ":title, :body, :body_html, :body_text, :tlp, :le, :author_org_id, :tags_text, 1, :created_at, :created_at)"
                    ),
                    batch,
                )
                for offset, row in enumerate(batch):
                    post_id = first + offset
                    tags.append({"p": post_id, "t": rng.choice(["rip-off", "insider", "scanner", "training"])})
                    if row["tlp"] in ("AMBER", "AMBER+STRICT") and rng.random() < 0.2:
                        recipients.append({"p": post_id, "o": rng.choice(org_ids)})
                batch = []
        conn.execute(sa.text("INSERT INTO post_tags (post_id, tag) VALUES (:p, :t)"), tags)
        if recipients:
            conn.execute(
                sa.text("INSERT INTO post_recipient_orgs (post_id, organisation_id) VALUES (:p, :o)"),
                [dict(t) for t in {tuple(sorted(r.items())) for r in recipients}],
            )
    if url.startswith("postgresql"):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    return {"member_id": member_id}


class Client:
    """The portal in-process, signed in as the bench member, counting SQL statements."""

    def __init__(self, url: str, instance: Path) -> None:
        from app import create_app
        from app.extensions import db
        from config import TestingConfig

        config = TestingConfig()
        config.DATABASE_URL = url
        config.INSTANCE_PATH = str(instance)
        config.KEYS_FILE = str(instance / "keys.json")
        config.KEYS_AUTOCREATE = True
        config.SECRET_KEY = "bench-" + "x" * 40
        config.WTF_CSRF_ENABLED = False
        self.app = create_app(config)
        self.statements = 0
        sa.event.listen(db.engine, "before_cursor_execute", self._count)
        self.client = self.app.test_client()
        response = self.client.post("/login", data={"email": "member@bench.example", "password": "bench password!"})
        assert response.status_code == 302, response.status_code

    def _count(self, *args: object) -> None:
        self.statements += 1

    def get(self, path: str) -> tuple[float, int]:
        before = self.statements
        start = time.perf_counter()
        response = self.client.get(path)
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, (path, response.status_code)
        return elapsed, self.statements - before


def measure(client: Client, path: str, requests: int) -> tuple[float, int]:
    client.get(path)  # warm caches and the template
    times, statements = [], set()
    for _ in range(requests):
        elapsed, n = client.get(path)
        times.append(elapsed)
        statements.add(n)
    return statistics.median(times), max(statements)


def percentiles(times: list[float]) -> tuple[float, float, float]:
    ordered = sorted(times)

    def at(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return at(0.5), at(0.95), at(0.99)


FEED = "/clusters/operational-cooperation"
SEARCH_NARROW = ["hydrofoil crane", "ballast vessel", "stevedore badge", "quarantine reefer"]
SEARCH_BROAD = ["container terminal", "customs police", "scanner cocaine", "vessel crew"]


def run(backend: str, requests: int) -> None:
    results = {}
    for size in (1_000, 100_000):
        with database(backend, str(size)) as url, tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            populate(url, size)
            load_s = time.perf_counter() - started
            client = Client(url, Path(tmp))
            feed_s, feed_sql = measure(client, FEED, requests)
            search_s, search_sql = measure(client, "/search?q=container+terminal", requests)
            narrow, broad = [], []
            if size == 100_000:
                for _ in range(max(1, requests // len(SEARCH_NARROW))):
                    for q in SEARCH_NARROW:
                        narrow.append(client.get("/search?q=" + q.replace(" ", "+"))[0])
                    for q in SEARCH_BROAD:
                        broad.append(client.get("/search?q=" + q.replace(" ", "+"))[0])
            results[size] = (feed_s, feed_sql, search_s, search_sql, narrow, broad, load_s)
            from app.extensions import db

            db.session.remove()
            db.engine.dispose()
    small, large = results[1_000], results[100_000]
    print(f"== {backend} ==")
    print(f"loaded 1,000 posts in {small[6]:.1f} s and 100,000 posts in {large[6]:.1f} s")
    print(
        f"feed page:   {small[0] * 1000:7.1f} ms at 1,000 posts, {large[0] * 1000:7.1f} ms at 100,000 posts, "
        f"ratio {large[0] / small[0]:.2f} (goal <= 1.5); SQL statements per request {small[1]} and {large[1]}"
    )
    print(
        f"search page: {small[2] * 1000:7.1f} ms at 1,000 posts, {large[2] * 1000:7.1f} ms at 100,000 posts, "
        f"ratio {large[2] / small[2]:.2f}; SQL statements per request {small[3]} and {large[3]}"
    )
    for label, times in (("narrow", large[4]), ("broad", large[5])):
        p50, p95, p99 = percentiles(times)
        print(
            f"two-term search at 100,000 posts, {label:6} ({len(times)} requests): "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms (goal p95 < 50 ms)"
        )
    both = large[4] + large[5]
    p50, p95, p99 = percentiles(both)
    print(
        f"two-term search at 100,000 posts, all    ({len(both)} requests): p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args.requests)


if __name__ == "__main__":
    main()
