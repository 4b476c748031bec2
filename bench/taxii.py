"""TAXII 2.1 objects endpoint at 100,000 posts: the time of one 100-object page.

Seeds posts as ``bench.feed`` does (many organisations and markings, a tenth law-enforcement-only),
gives the incident notes their details (port, containers, vessel) and their STIX id index, then
asks the operational-cooperation collection for pages of ``limit=100`` through the full Flask
stack (token, policy, SQL, STIX mapping, audit event) as a member of that cluster in a
non-law-enforcement organisation: the first page, pages further on by ``next``, and a resume by
``added_after``. Prints p50 and p95 per kind and the SQL statements per request.

Run: ``.venv/bin/python -m bench.taxii [--backend sqlite|postgresql] [--posts N] [--requests N]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from bench.feed import database, populate


def add_incidents(url: str, seed: int = 11) -> int:
    """Incident details for every incident note, and every post's STIX ids (as publication does)."""
    from app.db import make_engine
    from app.taxii.ids import object_uuids

    rng = random.Random(seed)
    engine = make_engine(url, pooled=False)
    with engine.begin() as conn:
        notes = [row[0] for row in conn.execute(sa.text("SELECT id FROM posts WHERE type = 'incident_note'"))]
        details = [
            {
                "p": post_id,
                "l": rng.choice(["BEANR", "NLRTM", "DEHAM", "ESALG", "FRLEH"]),
                "d": "2026-01-15",
                "m": rng.choice(["rip_on_rip_off", "container_cloning", "insider_corruption"]),
                "s": rng.choice(["cocaine", "cannabis", "none"]),
                "q": 12.5,
                "v": "9074729",
            }
            for post_id in notes
        ]
        conn.execute(
            sa.text(
                "INSERT INTO incident_details (post_id, port_locode, occurred_on, modus_operandi, substance, "
                "quantity_kg, vessel_imo) VALUES (:p, :l, :d, :m, :s, :q, :v)"
            ),
            details,
        )
        conn.execute(
            sa.text("INSERT INTO incident_containers (post_id, position, number) VALUES (:p, 0, 'MSCU1234566')"),
            [{"p": post_id} for post_id in notes],
        )
        post_ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM posts"))]
        for start in range(0, len(post_ids), 5000):
            conn.execute(
                sa.text("INSERT INTO stix_object_ids (uuid, post_id) VALUES (:u, :p)"),
                [{"u": u, "p": p} for p in post_ids[start : start + 5000] for u in object_uuids(p)],
            )
    engine.dispose()
    return len(notes)


def percentile(times: list[float], p: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def run(backend: str, n_posts: int, requests: int) -> None:
    from app import create_app
    from app.auth.models import User
    from app.auth.tokens import create_token
    from app.extensions import db
    from app.taxii.ids import collection_id
    from config import TestingConfig

    with database(backend, "taxii") as url, tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        member_id = populate(url, n_posts)["member_id"]
        notes = add_incidents(url)
        print(
            f"{backend}: seeded {n_posts:,} posts ({notes:,} incident notes) in {time.perf_counter() - started:.0f} s"
        )
        config = TestingConfig()
        config.DATABASE_URL = url
        config.INSTANCE_PATH = str(Path(tmp))
        config.KEYS_FILE = str(Path(tmp) / "keys.json")
        config.KEYS_AUTOCREATE = True
        config.SECRET_KEY = "bench-" + "x" * 40
        app = create_app(config)
        with app.app_context():
            _row, secret = create_token(db.session.get(User, member_id), "bench", "read", 1)
            db.session.commit()
        statements = [0]
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}", "Accept": "application/taxii+json;version=2.1"}
        base = f"/taxii2/pax/collections/{collection_id('operational-cooperation')}/objects/"

        def get(query: dict[str, str]) -> tuple[float, dict[str, object], int]:
            before = statements[0]
            start = time.perf_counter()
            response = client.get(base, headers=headers, query_string=query)
            elapsed = time.perf_counter() - start
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
            body = response.get_json()
            assert len(body["objects"]) == 100, (query, len(body["objects"]), body)
            return elapsed, body, statements[0] - before

        get({"limit": "100"})  # warm caches
        kinds: dict[str, list[float]] = {"first page": [], "next pages": [], "added_after": []}
        counts: set[int] = set()
        cursor = None
        middle = None
        for _ in range(requests):
            elapsed, body, n = get({"limit": "100"})
            kinds["first page"].append(elapsed)
            counts.add(n)
        for i in range(requests):
            elapsed, body, n = get({"limit": "100", **({"next": cursor} if cursor else {})})
            if i:
                kinds["next pages"].append(elapsed)
            counts.add(n)
            cursor = str(body["next"])
            if i == requests // 2:
                reports = [o for o in body["objects"] if o["type"] == "report"]  # type: ignore[attr-defined]
                middle = str(reports[-1]["modified"])
        for _ in range(requests):
            elapsed, body, n = get({"limit": "100", "added_after": middle or ""})
            kinds["added_after"].append(elapsed)
            counts.add(n)
        every = [t for times in kinds.values() for t in times]
        for kind, times in kinds.items():
            print(
                f"{backend} {n_posts:,} posts, {kind}: p50 {statistics.median(times) * 1000:.1f} ms, "
                f"p95 {percentile(times, 0.95) * 1000:.1f} ms ({len(times)} requests)"
            )
        print(
            f"{backend} {n_posts:,} posts, every 100-object page: p95 {percentile(every, 0.95) * 1000:.1f} ms; "
            f"SQL statements per request: {sorted(counts)}"
        )
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    run(args.backend, args.posts, args.requests)


if __name__ == "__main__":
    main()
