"""PAX's STIX identifiers, and keeping ``StixObjectId`` in step with the posts.

Every STIX id PAX makes is UUIDv5 in ``PAX_NAMESPACE`` of a name PAX chooses: a post's objects are
named by the post's id and the object's role only, so they stay the same from pull to pull (a
second pull updates, never duplicates) and ``app.clusters.services`` can index them at publication.
"""

from __future__ import annotations

import uuid

from app.extensions import db
from app.taxii.models import StixObjectId

PAX_NAMESPACE = uuid.UUID("0d6c8b9e-3f1a-5c4e-9a7b-5e2d1f0c8a34")

#: The roles of a post's objects, in the order a post's objects are listed, with their STIX type.
ROLE_TYPES = {
    "note": "note",
    "location": "location",
    "containers": "indicator",
    "vessel": "indicator",
    "report": "report",
}
ROLES = tuple(ROLE_TYPES)


def stix_uuid(name: str) -> str:
    return str(uuid.uuid5(PAX_NAMESPACE, name))


def post_object_id(post_id: int, role: str) -> str:
    """The STIX id of the object of ``role`` made from post ``post_id`` (whether or not it has one)."""
    return f"{ROLE_TYPES[role]}--{stix_uuid(f'post/{post_id}/{role}')}"


def organisation_id(org_id: int) -> str:
    return f"identity--{stix_uuid(f'organisation/{org_id}')}"


def collection_id(name: str) -> str:
    """A TAXII collection's id (a cluster's slug, or ``law-enforcement``)."""
    return stix_uuid(f"collection/{name}")


def object_uuids(post_id: int) -> list[str]:
    return [post_object_id(post_id, role).partition("--")[2] for role in ROLES]


def index_post_objects(post_id: int) -> None:
    """Record the STIX ids post ``post_id``'s objects carry, in the caller's transaction."""
    db.session.add_all(StixObjectId(uuid=value, post_id=post_id) for value in object_uuids(post_id))
