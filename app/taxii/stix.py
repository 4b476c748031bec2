"""PAX posts as STIX 2.1 objects (README, "STIX and TAXII"), built with the OASIS ``stix2`` library.

An incident note becomes a ``report`` whose ``object_refs`` name a ``note`` (its text), a
``location`` (its port, by UN/LOCODE), an ``indicator`` for its containers and one for its vessel.
A best practice becomes a ``report`` with a ``note``. Every object carries the post's TLP 2.0
marking (the extension-based marking definitions the OASIS CTI TC published, with their fixed
ids) and, for "law enforcement only", a statement marking; ``created_by_ref`` is the identity of
the author's organisation.

Identifiers are UUIDv5 in PAX's namespace, from the post id and the object's role only, so a
second pull updates what the first brought; ``modified`` is the post's last version's time.
Nothing here decides who may see a post: callers pass only posts ``app.policy`` let through.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import stix2
from flask_babel import force_locale

from app.clusters.models import Post, PostType
from app.markings import Tlp
from app.taxii.ids import organisation_id, post_object_id, stix_uuid

#: The OASIS CTI TC's TLP 2.0 extension definition.
TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
_TLP_CREATED = "2022-10-01T00:00:00.000Z"
#: The published TLP 2.0 marking-definition ids (oasis-open/cti-stix-common-objects).
TLP_MARKING_IDS = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP_MARKINGS = {
    tlp: stix2.MarkingDefinition(
        id=marking_id,
        created=_TLP_CREATED,
        name=tlp.label,
        extensions={TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": tlp.value.lower()}},
    )
    for tlp, marking_id in TLP_MARKING_IDS.items()
}
#: The platform's own identity: it states the law-enforcement-only handling.
PAX_IDENTITY = stix2.Identity(
    id=f"identity--{stix_uuid('pax')}",
    created="2024-01-01T00:00:00.000Z",
    modified="2024-01-01T00:00:00.000Z",
    name="PAX, European Ports Alliance exchange",
    identity_class="system",
)
LAW_ENFORCEMENT_ONLY = stix2.MarkingDefinition(
    id=f"marking-definition--{stix_uuid('marking/law-enforcement-only')}",
    created="2024-01-01T00:00:00.000Z",
    created_by_ref=PAX_IDENTITY.id,
    name="PAX: law enforcement only",
    definition_type="statement",
    definition=stix2.StatementMarking(
        statement="Law enforcement only: for users of customs, police and EU agency organisations."
    ),
)
#: STIX types a collection can hold, for ``match[type]``.
TYPES = frozenset({"report", "note", "location", "indicator", "identity", "marking-definition"})
#: The posts PAX shares as STIX.
SHARED_TYPES = (PostType.INCIDENT_NOTE, PostType.BEST_PRACTICE)

MODUS_WORDS = {
    "rip_on_rip_off": "rip-on/rip-off",
    "container_cloning": "container cloning",
    "pin_code_fraud": "PIN code fraud",
    "insider_corruption": "insider corruption",
    "extraction_team": "extraction team",
    "concealment_in_cargo": "concealment in cargo",
    "cyber_intrusion": "cyber intrusion",
    "drone": "drone",
    "other": "other",
}


def timestamp(value: datetime) -> str:
    """RFC 3339 in UTC with microseconds: TAXII's ``date_added`` and the headers that carry it."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _day(value: date) -> datetime:
    return datetime.combine(value, time(0), tzinfo=UTC)


@dataclass(frozen=True)
class PostObjects:
    """What one post gives: its own objects in list order, and the shared ones they refer to."""

    post_id: int
    date_added: datetime
    objects: list[Any]
    shared: list[Any]

    @property
    def all(self) -> list[Any]:
        return self.shared + self.objects


def identity_of(post: Post) -> stix2.Identity:
    org = post.author_org
    return stix2.Identity(
        id=organisation_id(org.id),
        created=org.created_at,
        modified=org.created_at,
        name=org.name,
        identity_class="organization",
    )


def post_objects(post: Post) -> PostObjects:
    """The STIX objects of ``post`` (an incident note or a best practice the caller may see).

    Building them with ``stix2`` validates every property (and parses every pattern), which costs
    about a millisecond an object; a post's objects change only with a new version of it (or its
    organisation's name), so each process keeps the last few thousand it made. The cache decides
    nothing about access: callers pass only posts ``visible_posts`` returned."""
    org = post.author_org
    key = (
        post.id,
        post.version,
        post.updated_at,
        post.tlp,
        post.law_enforcement_only,
        org.id,
        org.name,
        post.cluster.name,
    )
    made = _made.get(key)
    if made is None:
        made = _post_objects(post)
        with _made_lock:
            _made[key] = made
            while len(_made) > CACHED_POSTS:
                _made.pop(next(iter(_made)))
    return made


#: How many posts' objects a process keeps (a few KB each).
CACHED_POSTS = 4096
_made: dict[tuple[Any, ...], PostObjects] = {}
_made_lock = threading.Lock()


def _post_objects(post: Post) -> PostObjects:
    org = identity_of(post)
    markings = [TLP_MARKING_IDS[post.tlp]]
    shared: list[Any] = [TLP_MARKINGS[post.tlp], org]
    if post.law_enforcement_only:
        markings.append(LAW_ENFORCEMENT_ONLY.id)
        shared[1:1] = [PAX_IDENTITY, LAW_ENFORCEMENT_ONLY]
    common = {
        "created": post.created_at,
        "modified": post.updated_at,
        "created_by_ref": org.id,
        "object_marking_refs": markings,
    }
    report_id = post_object_id(post.id, "report")
    objects: list[Any] = [
        stix2.Note(
            id=post_object_id(post.id, "note"),
            abstract=post.title,
            content=post.body,
            object_refs=[report_id],
            **common,
        )
    ]
    incident = post.incident if post.type is PostType.INCIDENT_NOTE else None
    if incident is not None:
        objects.extend(_incident_objects(post, incident, common))
    labels = sorted({post.type.value, *post.tag_names})
    objects.append(
        stix2.Report(
            id=report_id,
            name=post.title,
            description=_summary(post),
            published=post.created_at,
            report_types=["threat-report" if incident is not None else "observed-data"],
            labels=labels,
            object_refs=[obj.id for obj in objects],
            external_references=[{"source_name": "PAX", "external_id": f"post-{post.id}"}],
            **common,
        )
    )
    return PostObjects(post.id, post.updated_at, objects, shared)


def _summary(post: Post) -> str:
    incident = post.incident if post.type is PostType.INCIDENT_NOTE else None
    if incident is None:
        # STIX content is the same for every reader (an object's version never differs by who
        # fetched it), so it is written in English whatever the requester's language.
        with force_locale("en"):
            kind = post.type.label
        return f"{kind} shared in the PAX cluster '{post.cluster.name}'."
    words = [
        f"Incident at {incident.port_locode} on {incident.occurred_on.isoformat()}",
        f"modus operandi: {MODUS_WORDS.get(incident.modus_operandi.value, incident.modus_operandi.value)}",
    ]
    if incident.substance.value != "none":
        amount = f"{incident.quantity_kg} kg " if incident.quantity_kg is not None else ""
        words.append(f"seizure: {amount}{incident.substance.value.replace('_', ' ')}")
    return "; ".join(words) + "."


def _incident_objects(post: Post, incident: Any, common: dict[str, Any]) -> Iterable[Any]:
    locode = incident.port_locode
    yield stix2.Location(
        id=post_object_id(post.id, "location"),
        name=f"Port {locode}",
        description=f"UN/LOCODE {locode}",
        country=locode[:2],
        external_references=[{"source_name": "UN/LOCODE", "external_id": locode}],
        **common,
    )
    valid_from = _day(incident.occurred_on)
    if incident.containers:
        numbers = incident.container_numbers
        pattern = " OR ".join(f"[x-pax-container:number = '{number}']" for number in numbers)
        yield stix2.Indicator(
            id=post_object_id(post.id, "containers"),
            name=f"Containers of incident note {post.id}",
            description="ISO 6346 container numbers (check digit verified) involved in the incident.",
            indicator_types=["anomalous-activity"],
            pattern=pattern,
            pattern_type="stix",
            valid_from=valid_from,
            **common,
        )
    if incident.vessel_imo:
        yield stix2.Indicator(
            id=post_object_id(post.id, "vessel"),
            name=f"Vessel IMO {incident.vessel_imo}",
            description="IMO ship identification number (check digit verified) of the vessel involved.",
            indicator_types=["anomalous-activity"],
            pattern=f"[x-pax-vessel:imo_number = '{incident.vessel_imo}']",
            pattern_type="stix",
            valid_from=valid_from,
            **common,
        )


def bundle(posts: Iterable[Post]) -> str:
    """A STIX 2.1 bundle (JSON) of ``posts``, each shared object once."""
    seen: dict[str, Any] = {}
    for post in posts:
        for obj in post_objects(post).all:
            seen.setdefault(obj.id, obj)
    return stix2.Bundle(id=f"bundle--{uuid.uuid4()}", objects=list(seen.values()), allow_custom=False).serialize(
        pretty=False
    )
