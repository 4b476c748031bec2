"""The pseudonymised cross-match: identifiers as keyed hashes only, hits across organisations
that respect the other note's marking, and both authors told once."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from stdnum import imo, iso6346

from app.audit.models import AuditEvent
from app.clusters.models import Post
from app.crossmatch.models import MatchIdentifier
from app.crossmatch.queries import hits
from app.extensions import db
from app.notifications.models import Notification
from app.policy import can

CLUSTER = "operational-cooperation"
#: A cluster the readers of the marking matrix are not members of, so AMBER notes there stay hidden.
ELSEWHERE = "innovation"
_serials = itertools.count(1)


@pytest.fixture(autouse=True)
def in_request(app):  # type: ignore[no-untyped-def]
    """Services run in a request here, as in the portal: notifications link with ``url_for``."""
    with app.test_request_context():
        yield


def container() -> str:
    """A fresh valid ISO 6346 container number."""
    serial = f"PAXU{next(_serials):06d}"
    return serial + iso6346.calc_check_digit(serial)


def vessel() -> str:
    base = f"{900000 + next(_serials):06d}"
    return base + imo.calc_check_digit(base)


def author(make, org=None, org_type: str = "police", cluster: str = CLUSTER, **kwargs: Any):  # type: ignore[no-untyped-def]
    return make.user(org=org, org_type=org_type, clusters={cluster: "contributor"}, **kwargs)


def note(  # type: ignore[no-untyped-def]
    user,
    containers: list[str] | tuple[str, ...] = (),
    imo_number: str | None = None,
    *,
    tlp: str = "GREEN",
    le_only: bool = False,
    cluster: str = CLUSTER,
    port: str = "BEANR",
    occurred_on: str = "2025-02-01",
    substance: str = "cocaine",
    modus: str = "rip_on_rip_off",
    kg: float | None = 10,
    title: str = "Seizure at the quay",
    body: str = "Bags behind the doors.",
) -> Post:
    """Publish an incident note through the service the pages and the API use."""
    from app.clusters.services import publish_post
    from app.clusters.validation import parse_post

    raw = {
        "type": "incident_note",
        "cluster": cluster,
        "title": title,
        "body": body,
        "tlp": tlp,
        "law_enforcement_only": le_only,
        "incident": {
            "port_locode": port,
            "occurred_on": occurred_on,
            "modus_operandi": modus,
            "substance": substance,
            "quantity_kg": kg,
            "container_numbers": list(containers),
            "vessel_imo": imo_number,
        },
    }
    post = publish_post(user, parse_post(raw))
    db.session.commit()
    return post


def edit(user, post: Post, **incident: Any) -> None:  # type: ignore[no-untyped-def]
    from app.api.posts import post_to_input
    from app.clusters.services import edit_post

    current = post_to_input(post)
    assert current.incident is not None
    edit_post(user, post, replace(current, incident=replace(current.incident, **incident)))
    db.session.commit()


def bearer(user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from app.auth.tokens import create_token

    _token, secret = create_token(user, "crossmatch", "read", 30)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def match_notifications(user) -> list[Notification]:  # type: ignore[no-untyped-def]
    return list(
        db.session.scalars(
            sa.select(Notification).where(Notification.user_id == user.id, Notification.kind == "match.found")
        )
    )


def test_identifiers_are_stored_only_as_keyed_digests(app, make, client):
    police = author(make)
    boxes, ship = [container(), container()], vessel()
    mine = note(police, boxes, ship)
    note(police, [], None)  # no identifiers, no entries
    best = author(make, org=police.organisation)
    from app.clusters.services import publish_post
    from app.clusters.validation import parse_post

    publish_post(
        best, parse_post({"type": "best_practice", "cluster": CLUSTER, "title": boxes[0], "body": ship, "tlp": "GREEN"})
    )
    db.session.commit()

    rows = db.session.execute(sa.text("SELECT * FROM match_identifiers")).all()
    dumped = " ".join(str(value) for row in rows for value in row)
    assert len(rows) == 3 and {r.post_id for r in rows} == {mine.id}
    for raw in [*boxes, ship]:
        assert raw not in dumped
        assert hashlib.sha256(raw.encode()).hexdigest() not in dumped  # keyed, not a plain hash
    key = app.extensions["pax_keyring"].purpose_key("match_hmac")
    expected = {hmac.new(key, f"container:{b}".encode(), hashlib.sha256).hexdigest() for b in boxes}
    expected.add(hmac.new(key, f"vessel_imo:{ship}".encode(), hashlib.sha256).hexdigest())
    assert {r.digest for r in rows} == expected

    from app.clusters.services import delete_post

    delete_post(police, db.session.get(Post, mine.id))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MatchIdentifier)) == 0


def test_a_hit_is_shown_to_both_authors_notified_once_and_gone_when_the_identifier_is(make, new_client):
    shared, ship, first_only, ours = container(), vessel(), container(), container()
    first = author(make, cluster=ELSEWHERE)
    a = note(
        first,
        [shared, first_only, ours],
        ship,
        tlp="AMBER",
        cluster=ELSEWHERE,
        title="First note title",
        body="First secret body",
    )
    colleague = author(make, org=first.organisation)
    note(colleague, [ours])  # the same organisation: never a hit
    assert hits(first, a) == []

    second = author(make, org_type="customs")
    b = note(second, [shared, container()], ship, tlp="AMBER+STRICT", title="Second note title")
    assert {(h.kind.value, h.identifier) for h in hits(first, a)} == {("container", shared), ("vessel_imo", ship)}
    # Both law enforcement: they learn whom to contact, but may not open the other's note.
    assert {(h.post_id, h.organisation) for h in hits(second, b)} == {(None, first.organisation.name)}
    assert len(match_notifications(first)) == 1 and len(match_notifications(second)) == 1
    assert match_notifications(second)[0].target_id == b.id and match_notifications(second)[0].tlp == "AMBER+STRICT"
    assert match_notifications(colleague) == []
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "match.found")).all()
    assert [(e.target_id, e.details["other_post_id"]) for e in events] == [(str(b.id), a.id)]

    # Who else sees the box: the focal point of the author's organisation and, in a
    # law-enforcement organisation, its members; not another organisation's reader.
    focal = make.user(org=first.organisation, focal_point=True)
    outsider = author(make, org_type="port_authority")
    assert can(focal, "see_matches", a) and can(colleague, "see_matches", a)
    assert not can(outsider, "see_matches", a)

    page = new_client(second).get(f"/posts/{b.id}").get_data(as_text=True)
    box = page.split('id="matches"', 1)[1].split("</section>", 1)[0]
    assert shared in box and ship in box and first.organisation.name in box
    assert f"/posts/{a.id}" not in page and "First note title" not in page and "First secret body" not in page
    assert first_only not in page
    api = new_client().get(f"/api/v1/posts/{b.id}", headers=bearer(second)).get_json()
    assert {m["identifier"] for m in api["matches"]} == {shared, ship}
    assert first_only not in str(api) and "First note title" not in str(api)

    edit(second, b, container_numbers=[], vessel_imo=None)
    assert hits(first, a) == [] and hits(second, b) == []
    edit(second, b, container_numbers=[shared])
    assert len(hits(first, a)) == 1
    assert len(match_notifications(first)) == 1 and len(match_notifications(second)) == 1


TLPS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]


def _expected(tlp: str, le_only: bool, reader_le: bool) -> tuple[bool, bool, bool]:
    """(hit shown, link shown, organisation named) for a reader outside the other note's
    organisation, cluster and recipients."""
    audience = tlp in ("CLEAR", "GREEN") and (reader_le or not le_only)
    shown = audience or (tlp != "RED" and (reader_le or not le_only))
    return shown, audience, shown and (reader_le or audience)


def test_hits_across_markings_follow_the_matrix(make, new_client):
    cells = [(tlp, le_only) for tlp in TLPS for le_only in (False, True)]
    readers = {True: author(make, org_type="customs"), False: author(make, org_type="port_authority")}
    mine: dict[bool, list[str]] = {True: [], False: []}
    others = {}
    for tlp, le_only in cells:
        owner = author(make, org_type="police", cluster=ELSEWHERE)
        numbers = {le: container() for le in readers}
        for le in readers:
            mine[le].append(numbers[le])
        secret = f"Hidden {tlp} {le_only} {next(_serials)}"
        other = note(
            owner,
            [numbers[True], numbers[False]],
            tlp=tlp,
            le_only=le_only,
            cluster=ELSEWHERE,
            title=secret,
            body=secret,
        )
        others[(tlp, le_only)] = (other, owner.organisation.name, numbers, secret)

    for reader_le, reader in readers.items():
        own = note(reader, mine[reader_le], tlp="AMBER")
        page = new_client(reader).get(f"/posts/{own.id}").get_data(as_text=True)
        items = re.findall(r"<li>(.*?)</li>", page.split('id="matches"', 1)[1].split("</section>", 1)[0], re.S)
        api = {
            m["identifier"]: m
            for m in new_client().get(f"/api/v1/posts/{own.id}", headers=bearer(reader)).get_json()["matches"]
        }
        for (tlp, le_only), (other, org_name, numbers, secret) in others.items():
            shown, link, named = _expected(tlp, le_only, reader_le)
            where = f"other {tlp} le_only={le_only}, reader law enforcement={reader_le}"
            number = numbers[reader_le]
            item = next((i for i in items if number in i), None)
            assert (item is not None) == shown == (number in api), where
            if shown:
                assert (f'href="/posts/{other.id}"' in item) == link == (api[number]["post_id"] == other.id), where
                assert (org_name in item) == named == (api[number]["organisation"] == org_name), where
                assert named or "another organisation" in item, where
            assert secret not in page and numbers[not reader_le] not in page, where
            assert secret not in str(api) and numbers[not reader_le] not in str(api), where


@pytest.mark.parametrize("other_le_only", [False, True])
def test_a_note_that_may_not_reveal_a_hit_notifies_nobody_on_that_side(make, other_le_only):
    shared = container()
    port = author(make, org_type="port_authority")
    mine = note(port, [shared])
    police = author(make)
    theirs = note(police, [shared], le_only=other_le_only)
    # The police author is told either way (the port note is GREEN); the port author only
    # when the police note may reveal a hit to someone outside law enforcement.
    assert [n.target_id for n in match_notifications(police)] == [theirs.id]
    assert len(match_notifications(port)) == (0 if other_le_only else 1)
    assert len(hits(port, mine)) == (0 if other_le_only else 1)


def test_an_empty_box_never_says_no_note_shares_the_container_when_a_hidden_one_does(make, new_client):
    """A law-enforcement-only note shares the container but may not reveal the hit to a port
    authority: the box says there is no match the reader may see, not that no note shares it."""
    shared = container()
    port = author(make, org_type="port_authority")
    mine = note(port, [shared])
    note(author(make), [shared], le_only=True)
    page = new_client(port).get(f"/posts/{mine.id}").get_data(as_text=True)
    box = page.split('id="matches"', 1)[1].split("</section>", 1)[0]
    assert "No match that you may see" in box
    assert "No other organisation" not in box and shared not in box
