"""Writes on post attachments: attach a streamed file, remove one, shred a post's files.

Attachments take their post's audience (``policy.attachment_or_404``); only those who may edit
the post add or remove them. Every download is an audit event (``app.files.http``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from app.audit.services import record
from app.clusters.models import Attachment, Post
from app.extensions import db
from app.files.services import FileMeta, shred_files, store_file
from app.policy import NotAllowed, can

log = logging.getLogger("pax.attachments")

#: Most attachments one post carries.
MAX_PER_POST = 50


def attach_file(
    user: Any, post: Post, filename: str, chunks: Iterable[bytes], max_bytes: int
) -> tuple[Attachment, FileMeta]:
    """Encrypt and store an upload as an attachment of ``post``, in the current transaction."""
    if not can(user, "attach_file", post):
        raise NotAllowed("Only the author or their organisation's focal point can add files to this post.")
    if len(post.attachments) >= MAX_PER_POST:
        raise NotAllowed(f"A post carries at most {MAX_PER_POST} files; remove one first.")
    stored, meta = store_file("attachment", chunks, filename, user, max_bytes)
    attachment = Attachment(post=post, file=stored)
    db.session.add(attachment)
    db.session.flush()
    record("attachment.upload", actor=user, target=("attachment", attachment.id), post_id=post.id, bytes=stored.size)
    log.info("attachment %s (%s bytes) added to post %s by user %s", attachment.id, stored.size, post.id, user.id)
    return attachment, meta


def remove_attachment(user: Any, attachment: Attachment) -> None:
    """Delete the attachment and crypto-shred its file."""
    if not can(user, "attach_file", attachment.post):
        raise NotAllowed("Only the author or their organisation's focal point can remove files from this post.")
    post_id, attachment_id = attachment.post_id, attachment.id
    file = attachment.file
    attachment.post.attachments.remove(attachment)
    shred_files([file])
    record("attachment.delete", actor=user, target=("attachment", attachment_id), post_id=post_id)


def shred_post_files(post: Post) -> int:
    """Crypto-shred every file of a post that is being deleted."""
    files = [a.file for a in post.attachments]
    post.attachments.clear()
    return shred_files(files)
