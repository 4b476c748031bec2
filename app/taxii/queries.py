"""What a TAXII collection holds for one reader, one page at a time.

A collection is a cluster's posts (those not flagged law-enforcement-only) or the
law-enforcement-only posts of every cluster; either way its rows are ``app.policy.visible_posts``
of the token's owner, the one expression every read uses, and nothing else decides who sees
what. Pages walk the posts in the order they last changed (``updated_at``, then id), which is
the TAXII ``date_added`` of their objects, and expand each post into its STIX objects
(``app.taxii.stix``); a page may end inside a post, and ``next`` says where the next one starts.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from stix2.utils import format_datetime

from app.clusters.models import Cluster, IncidentDetails, Post, PostType
from app.directory.models import Organisation
from app.extensions import db
from app.policy import visible_posts
from app.taxii.ids import collection_id, organisation_id
from app.taxii.models import StixObjectId
from app.taxii.stix import (
    LAW_ENFORCEMENT_ONLY,
    PAX_IDENTITY,
    SHARED_TYPES,
    TLP_MARKING_IDS,
    post_objects,
    timestamp,
)

LAW_ENFORCEMENT = "law-enforcement"
#: STIX types only incident notes give.
INCIDENT_ONLY_TYPES = frozenset({"location", "indicator"})
#: Posts one page may turn into STIX objects at most, however selective its filters.
SCAN_BUDGET = 1000


@dataclass(frozen=True)
class Collection:
    id: str
    key: str
    title: str
    description: str
    cluster_id: int | None

    def holds(self) -> sa.ColumnElement[bool]:
        """Which posts belong here (who may see them is ``visible_posts``' business alone)."""
        if self.cluster_id is None:
            return Post.law_enforcement_only.is_(True)
        return sa.and_(Post.cluster_id == self.cluster_id, Post.law_enforcement_only.is_(False))

    def as_taxii(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "can_read": True,
            "can_write": False,
            "media_types": ["application/stix+json;version=2.1"],
        }


def collections() -> list[Collection]:
    """One collection per cluster, and one for law-enforcement-only notes."""
    found = [
        Collection(
            collection_id(cluster.slug),
            cluster.slug,
            cluster.name,
            f"Incident notes and best practices shared in the PAX cluster '{cluster.name}' "
            "that are not flagged law enforcement only.",
            cluster.id,
        )
        for cluster in db.session.scalars(sa.select(Cluster).order_by(Cluster.id))
    ]
    found.append(
        Collection(
            collection_id(LAW_ENFORCEMENT),
            LAW_ENFORCEMENT,
            "Law enforcement only",
            "Incident notes and best practices of every cluster flagged law enforcement only.",
            None,
        )
    )
    return found


def collection(collection_id_: str) -> Collection | None:
    return next((c for c in collections() if c.id == collection_id_), None)


class BadCursor(ValueError):
    """A ``next`` value PAX did not give."""


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: the post (by change time and id) and the index in its object list."""

    at: datetime
    post_id: int
    index: int

    def encode(self) -> str:
        raw = f"{self.at.isoformat()}|{self.post_id}|{self.index}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            at, post_id, index = raw.split("|")
            moment = datetime.fromisoformat(at)
            cursor = cls(moment if moment.tzinfo else moment.replace(tzinfo=UTC), int(post_id), int(index))
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise BadCursor(value) from exc
        if cursor.post_id < 0 or cursor.index < 0 or cursor.post_id > 2_147_483_647:
            raise BadCursor(value)
        return cursor


@dataclass
class Filters:
    added_after: datetime | None = None
    types: frozenset[str] | None = None
    #: Full STIX ids asked for (``match[id]`` or the object endpoints).
    ids: frozenset[str] | None = None
    #: Timestamps (``version`` strings) asked for; None: the one version PAX keeps.
    versions: frozenset[str] | None = None
    spec_versions: frozenset[str] | None = None


@dataclass
class Entry:
    obj: Any
    date_added: datetime
    post_id: int

    @property
    def version(self) -> str:
        """The object's ``modified`` (``created`` for markings) exactly as its JSON gives it."""
        return str(format_datetime(self.obj.get("modified") or self.obj.get("created")))


@dataclass
class Page:
    entries: list[Entry] = field(default_factory=list)
    next: Cursor | None = None
    #: The posts whose objects the page holds.
    posts: dict[int, Post] = field(default_factory=dict)

    @property
    def more(self) -> bool:
        return self.next is not None

    @property
    def post_ids(self) -> list[int]:
        return sorted({e.post_id for e in self.entries})


def _wanted(obj: Any, filters: Filters) -> bool:
    if filters.types is not None and obj["type"] not in filters.types:
        return False
    if filters.ids is not None and obj["id"] not in filters.ids:
        return False
    if filters.spec_versions is not None and "2.1" not in filters.spec_versions:
        return False
    if filters.versions is not None:
        version = obj.get("modified") or obj.get("created")
        if timestamp(version) not in filters.versions:
            return False
    return True


def _carrying(ids: frozenset[str]) -> sa.ColumnElement[bool]:
    """Posts whose objects include one of ``ids``: a post's own objects by ``StixObjectId``, the
    objects posts share (markings, identities) by what in the post makes them."""
    uuids = [value.partition("--")[2] for value in ids]
    found = [Post.id.in_(sa.select(StixObjectId.post_id).where(StixObjectId.uuid.in_(uuids)))]
    tlps = [tlp for tlp, marking_id in TLP_MARKING_IDS.items() if marking_id in ids]
    if tlps:
        found.append(Post.tlp.in_(tlps))
    if LAW_ENFORCEMENT_ONLY.id in ids or PAX_IDENTITY.id in ids:
        found.append(Post.law_enforcement_only.is_(True))
    if any(value.startswith("identity--") for value in ids):
        org_ids = [
            org_id for org_id in db.session.scalars(sa.select(Organisation.id)) if organisation_id(org_id) in ids
        ]
        if org_ids:
            found.append(Post.author_org_id.in_(org_ids))
    return sa.or_(*found)


def _posts(user: Any, where: Collection, filters: Filters, start: Cursor | None, batch: int) -> Iterator[Post]:
    """The collection's posts ``user`` may see, in change order from ``start``, read in batches."""
    stmt = sa.select(Post).where(visible_posts(user), where.holds(), Post.type.in_(SHARED_TYPES))
    if filters.added_after is not None:
        stmt = stmt.where(Post.updated_at > filters.added_after)
    if filters.ids is not None:
        stmt = stmt.where(_carrying(filters.ids))
    if filters.types is not None and filters.types <= INCIDENT_ONLY_TYPES:
        stmt = stmt.where(Post.type == PostType.INCIDENT_NOTE)
    stmt = stmt.options(
        selectinload(Post.incident).selectinload(IncidentDetails.containers),
    ).order_by(Post.updated_at, Post.id)
    position = start
    while True:
        page = stmt
        if position is not None:
            page = page.where(
                sa.or_(
                    Post.updated_at > position.at,
                    sa.and_(Post.updated_at == position.at, Post.id >= position.post_id),
                )
            )
        rows = list(db.session.scalars(page.limit(batch)))
        yield from rows
        if len(rows) < batch:
            return
        last = rows[-1]
        position = Cursor(last.updated_at, last.id + 1, 0)


def page(user: Any, where: Collection, filters: Filters, limit: int, start: Cursor | None = None) -> Page:
    """At most ``limit`` objects of the collection that ``user`` may see, from ``start``."""
    result = Page()
    seen: set[str] = set()
    # A post gives two objects at least (its note and report): half the limit in posts fills a page.
    for scanned, post in enumerate(_posts(user, where, filters, start, batch=limit // 2 + 1)):
        if scanned == SCAN_BUDGET:
            # A filter few posts match: answer what was found, and go on from here next time.
            result.next = Cursor(post.updated_at, post.id, 0)
            return result
        made = post_objects(post).all
        first = start.index if start is not None and start.post_id == post.id else 0
        for index in range(first, len(made)):
            obj = made[index]
            if obj.id in seen or not _wanted(obj, filters):
                continue
            if len(result.entries) == limit:
                result.next = Cursor(post.updated_at, post.id, index)
                return result
            seen.add(obj.id)
            result.entries.append(Entry(obj, post.updated_at, post.id))
            result.posts[post.id] = post
    return result


def envelope_json(page_: Page) -> str:
    """The TAXII envelope of a page, its objects serialised by ``stix2`` as they are."""
    parts = ['{"more": ', "true" if page_.more else "false"]
    if page_.next is not None:
        parts.append(f', "next": "{page_.next.encode()}"')
    parts.append(', "objects": [')
    parts.append(", ".join(entry.obj.serialize() for entry in page_.entries))
    parts.append("]}")
    return "".join(parts)


def manifest(page_: Page) -> dict[str, Any]:
    body: dict[str, Any] = {"more": page_.more}
    if page_.next is not None:
        body["next"] = page_.next.encode()
    body["objects"] = [
        {
            "id": entry.obj.id,
            "date_added": timestamp(entry.date_added),
            "version": entry.version,
            "media_type": "application/stix+json;version=2.1",
        }
        for entry in page_.entries
    ]
    return body
