"""What the API answers: plain JSON-ready dicts for accounts, clusters, posts and search hits.

The shapes here are the ones ``app.api.openapi`` documents; a field added here is added there.
Posts also go the other way (``post_to_input``) so a PATCH can be validated as "the current post
with these fields changed".
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from flask import url_for

from app.clusters.models import Attachment, MembershipRole, Post
from app.clusters.queries import attachment_list, clusters_with_membership
from app.clusters.search import Hit
from app.clusters.validation import IncidentInput, PostInput
from app.files.services import FileMeta
from app.pagination import Page


def timestamp(value: datetime) -> str:
    """ISO 8601 with its UTC offset (the columns hold aware UTC datetimes)."""
    return value.isoformat()


def me_json(user: Any) -> dict[str, Any]:
    org = user.organisation
    memberships = [
        {"cluster": cluster.slug, "role": role.value} for cluster, role in clusters_with_membership(user) if role
    ]
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "focal_point": user.is_focal_point,
        "organisation": {
            "name": org.name,
            "type": org.type.value,
            "country": org.country,
            "law_enforcement": org.is_law_enforcement,
        },
        "memberships": memberships,
    }


def cluster_json(cluster: Any, role: MembershipRole | None = None) -> dict[str, Any]:
    return {
        "slug": cluster.slug,
        "name": cluster.name,
        "description": cluster.description,
        "my_role": role.value if role is not None else None,
    }


def _incident_json(post: Post) -> dict[str, Any] | None:
    incident = post.incident
    if incident is None:
        return None
    return {
        "port_locode": incident.port_locode,
        "occurred_on": incident.occurred_on.isoformat(),
        "modus_operandi": incident.modus_operandi.value,
        "substance": incident.substance.value,
        "quantity_kg": float(incident.quantity_kg) if incident.quantity_kg is not None else None,
        "container_numbers": incident.container_numbers,
        "vessel_imo": incident.vessel_imo,
    }


def post_summary_json(post: Post) -> dict[str, Any]:
    """A post without its text: what search hits carry."""
    organisation = post.author_org.name
    return {
        "id": post.id,
        "type": post.type.value,
        "cluster": post.cluster.slug,
        "title": post.title,
        "tlp": post.tlp.value,
        "law_enforcement_only": post.law_enforcement_only,
        "tags": sorted(post.tag_names),
        # The account may be gone (its posts stay); the organisation that shared it is kept.
        "author": {"name": post.author.name, "organisation": organisation} if post.author is not None else None,
        "organisation": organisation,
        "version": post.version,
        "created_at": timestamp(post.created_at),
        "updated_at": timestamp(post.updated_at),
        "url": f"/posts/{post.id}",
    }


def post_json(post: Post) -> dict[str, Any]:
    """A whole post, as ``GET /posts/{id}`` answers it."""
    data = post_summary_json(post)
    data.update(
        {
            "body": post.body,
            "body_html": post.body_html,
            "recipient_orgs": sorted(r.organisation.name for r in post.recipient_orgs),
            "recipient_users": sorted(r.user.email for r in post.recipient_users),
            "workplan_item_id": post.workplan_item_id,
            "incident": _incident_json(post),
            "attachments": [attachment_json(row.attachment, row.meta) for row in attachment_list(post)],
        }
    )
    return data


def attachment_json(attachment: Attachment, meta: FileMeta | None) -> dict[str, Any]:
    """An attachment's description; ``filename`` and the rest are null if its key does not open."""
    return {
        "id": attachment.id,
        "post_id": attachment.post_id,
        "filename": meta.filename if meta else None,
        "size": attachment.file.size,
        "sha256": meta.sha256 if meta else None,
        "media_type": meta.media_type if meta else None,
        "created_at": attachment.created_at.isoformat(),
        "url": url_for("api.download_attachment", attachment_id=attachment.id, _external=True),
    }


def hit_json(hit: Hit) -> dict[str, Any]:
    """A search hit: the post's summary, an HTML snippet with ``<mark>`` around matches, its rank."""
    rank = hit.rank if math.isfinite(hit.rank) else 0.0
    return {**post_summary_json(hit.post), "snippet": str(hit.snippet), "rank": rank}


def page_json(page: Page, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "items": items,
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "total_capped": page.total_capped,
    }


def post_to_input(post: Post) -> PostInput:
    """The stored post as the validated input that would recreate it (the base of a PATCH)."""
    incident = None
    if post.incident is not None:
        i = post.incident
        incident = IncidentInput(
            port_locode=i.port_locode,
            occurred_on=i.occurred_on,
            modus_operandi=i.modus_operandi,
            substance=i.substance,
            quantity_kg=i.quantity_kg,
            container_numbers=i.container_numbers,
            vessel_imo=i.vessel_imo,
        )
    return PostInput(
        type=post.type,
        cluster=post.cluster.slug,
        title=post.title,
        body=post.body,
        tlp=post.tlp,
        law_enforcement_only=post.law_enforcement_only,
        recipient_orgs=sorted(r.organisation.name for r in post.recipient_orgs),
        recipient_users=sorted(r.user.email for r in post.recipient_users),
        tags=sorted(post.tag_names),
        workplan_item_id=post.workplan_item_id,
        incident=incident,
    )
