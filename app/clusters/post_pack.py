"""A post's files as one signed zip, in the meeting pack's format (``app.meetings.pack``).

The zip holds the latest version of every attachment of the post the member may see
(``policy.visible_attachments``), PDFs marked AMBER or stricter stamped for them, an
``index.html``, ``manifest.json`` (``post`` in place of ``meeting``, the same ``files``,
``withheld`` and ``watermark``) and ``manifest.sig``; ``packs verify`` checks it as it checks a
meeting pack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from app import localtime
from app.clusters.attachments import download_name
from app.clusters.models import Attachment, Post
from app.extensions import db
from app.files.models import StoredFile
from app.files.packs import Pack, PackEntry, assemble_pack, check_document, entry_names
from app.files.services import FileMeta
from app.markings import Tlp
from app.policy import visible_attachments

EMPTY_MESSAGE = _l("This post has no files you may see, so there is nothing to download.")


class PostFilesEmpty(Exception):
    def __init__(self) -> None:
        super().__init__(str(EMPTY_MESSAGE))


@dataclass(frozen=True)
class PackedFile:
    """An attachment as the pack lists it: its title, the marking its download carries, its file."""

    id: int
    title: str
    tlp: Tlp
    law_enforcement_only: bool
    file: StoredFile

    @property
    def stamp_tlp(self) -> Tlp:
        return self.tlp


def _packed(attachment: Attachment, meta: FileMeta) -> PackedFile:
    latest = attachment.latest
    le_only = latest.effective_law_enforcement_only if latest else attachment.post.law_enforcement_only
    title = download_name(attachment) or meta.filename
    return PackedFile(attachment.id, title, attachment.stamp_tlp, le_only, attachment.file)


def build_post_pack(user: Any, post: Post) -> Pack:
    """The signed zip of the post's files ``user`` may see; ``PostFilesEmpty`` when there are none,
    ``FileUnavailable`` when one cannot be served (logged and audited)."""
    attachments = db.session.scalars(
        sa.select(Attachment)
        .join(Post, Post.id == Attachment.post_id)
        .where(Attachment.post_id == post.id, visible_attachments(user))
        .order_by(Attachment.created_at, Attachment.id)
        # Each file's versions decide its stamp (``stamp_tlp``): one query for all of them.
        .options(selectinload(Attachment.versions))
    ).all()
    if not attachments:
        raise PostFilesEmpty()
    total = db.session.scalar(sa.select(sa.func.count(Attachment.id)).where(Attachment.post_id == post.id)) or 0
    checked = []
    for attachment in attachments:
        meta = check_document(attachment, user, "attachment")
        checked.append((_packed(attachment, meta), None, meta))
    names = entry_names(checked)
    subject = {
        "post": {
            "id": post.id,
            "title": post.title,
            "type": post.type.value,
            "cluster": post.cluster.slug,
            "tlp": post.tlp.value,
        }
    }
    withheld = total - len(checked)

    def index(entries: list[PackEntry], generated_at: datetime) -> bytes:
        zone = localtime.zone_of(user)
        html = render_template(
            "clusters/post_pack_index.html",
            post=post,
            entries=entries,
            recipient=user,
            withheld=withheld,
            generated_at=localtime.format_datetime(generated_at, zone, with_zone=True),
        )
        return html.encode("utf-8")

    return assemble_pack(
        user,
        post,
        subject,
        checked,
        names,
        withheld,
        index,
        subject_type="post",
        kind="attachment",
        action="post.files_download",
    )
