"""Reading cross-match hits: which other organisations' notes share an identifier with a note.

A hit carries only what the reader may know: the kind of identifier and the reader's own
value of it (from the note in hand), when the other note was indexed, a link to the other note
only if the reader may see it, and the other organisation only if the policy says so. Never
the other note's title, text or identifiers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.clusters.models import Post, PostType
from app.crossmatch.models import IdentifierKind, MatchIdentifier
from app.crossmatch.services import identifiers
from app.directory.models import Organisation
from app.extensions import db
from app.policy import match_reveals_organisation, match_sources, visible_posts


@dataclass(frozen=True)
class Hit:
    kind: IdentifierKind
    #: The reader's own value, from the note being read (never taken from the other note).
    identifier: str
    #: When the other note's identifier entered the index.
    indexed_at: datetime
    #: The other note, only when the reader may see it.
    post_id: int | None
    #: The other note's organisation, only when the policy lets the reader know it.
    organisation: str | None
    #: Its id (for "contact its focal point"), under the same rule.
    organisation_id: int | None = None


def hits(user: Any, post: Post) -> list[Hit]:
    """Hits on ``post`` for ``user``, newest first: other organisations' incident notes sharing an
    indexed identifier with it, as far as ``policy.match_sources`` lets them reveal one to ``user``.

    Callers check ``can(user, "see_matches", post)`` first; this answers what such a reader sees.
    """
    own_values = identifiers(post)
    if not own_values:
        return []
    own, other = aliased(MatchIdentifier), aliased(MatchIdentifier)
    stmt = (
        sa.select(
            other.kind,
            other.digest,
            other.created_at,
            sa.case((visible_posts(user), Post.id), else_=sa.null()),
            sa.case((match_reveals_organisation(user), Organisation.name), else_=sa.null()),
            sa.case((match_reveals_organisation(user), Organisation.id), else_=sa.null()),
        )
        .select_from(own)
        .join(
            other,
            sa.and_(
                other.kind == own.kind,
                other.digest == own.digest,
                other.organisation_id != own.organisation_id,
            ),
        )
        .join(Post, Post.id == other.post_id)
        .join(Organisation, Organisation.id == Post.author_org_id)
        .where(own.post_id == post.id, Post.type == PostType.INCIDENT_NOTE, match_sources(user))
        .order_by(other.created_at.desc(), other.id.desc())
    )
    found = []
    for kind, value_digest, indexed_at, post_id, organisation, organisation_id in db.session.execute(stmt):
        value = own_values.get((kind, value_digest))
        if value is not None:
            found.append(Hit(kind, value, indexed_at, post_id, organisation, organisation_id))
    return found
