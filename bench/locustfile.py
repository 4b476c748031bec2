"""Simulated members for bench/load.py (run by locust from its own virtualenv, ``.venv/bench``).

``PAX_BENCH_DATA`` names the JSON file bench/load.py wrote: the signed-in members' session cookies
and the URLs they may open. ``PAX_BENCH_MODE`` is ``members`` (browse feeds, search, open posts,
download attachments and packs, with a pause between pages), ``feed`` (the feed page only, no
pause: the portal's capacity) or ``hello`` (the bare Flask app, no pause).
"""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path

from locust import FastHttpUser, between, constant, task

DATA = json.loads(Path(os.environ["PAX_BENCH_DATA"]).read_text(encoding="utf-8"))
MODE = os.environ.get("PAX_BENCH_MODE", "members")
_next_member = itertools.count()


class Visitor(FastHttpUser):
    abstract = True
    # A request waits for a worker when the portal is saturated; no request should take 30 s.
    network_timeout = 30.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        cookies = DATA["cookies"]
        self.headers = {"Cookie": f"{DATA['cookie_name']}={cookies[next(_next_member) % len(cookies)]}"}

    def open(self, url: str, name: str, marker: str | None = None, binary: bool = False) -> None:
        with self.client.get(url, name=name, headers=self.headers, allow_redirects=False, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code}")
            elif marker is not None and marker not in (r.text or ""):
                r.failure(f"{marker!r} not in the page")
            elif binary and not r.content:
                r.failure("empty body")


if MODE == "members":

    class Member(Visitor):
        wait_time = between(0.5, 1.5)

        @task(6)
        def feed(self) -> None:
            self.open(random.choice(DATA["feeds"]), "feed", DATA["feed_marker"])

        @task(3)
        def search(self) -> None:
            self.open("/search?q=" + random.choice(DATA["terms"]), "search", "Search")

        @task(3)
        def post(self) -> None:
            self.open(random.choice(DATA["posts"]), "post", DATA["feed_marker"])

        @task(1)
        def dashboard(self) -> None:
            self.open("/dashboard", "dashboard", "Welcome")

        @task(2)
        def attachment(self) -> None:
            self.open(random.choice(DATA["attachments"]), "attachment", binary=True)

        @task(1)
        def pack(self) -> None:
            self.open(random.choice(DATA["packs"]), "pack", binary=True)

elif MODE == "feed":

    class FeedReader(Visitor):
        wait_time = constant(0)

        @task
        def feed(self) -> None:
            self.open(DATA["feeds"][0], "feed", DATA["feed_marker"])

elif MODE == "plain":

    class PlainVisitor(Visitor):
        wait_time = constant(0)

        @task
        def plain(self) -> None:
            self.open("/", "plain", "Plain page")

else:

    class HelloVisitor(Visitor):
        wait_time = constant(0)

        @task
        def hello(self) -> None:
            self.open("/", "hello", "hello")
