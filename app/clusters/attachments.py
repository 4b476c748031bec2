"""Writes on post attachments: attach a streamed file, remove one, shred a post's files.

Attachments take their post's audience (``policy.attachment_or_404``); only those who may edit
the post add or remove them. Every download is an audit event (``app.files.http``).
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from app.audit.services import record
from app.clusters.models import Attachment, AttachmentVersion, Post
from app.concurrency import claim
from app.extensions import db
from app.files.models import StoredFile
from app.files.services import FileMeta, shred_files, store_file
from app.files.sniff import MAX_NAME_BYTES, safe_filename
from app.markings import Tlp, snapshot_of, version_marking_problem
from app.policy import NotAllowed, can
from app.validation import ValidationError, text_problem

log = logging.getLogger("pax.attachments")

#: Most attachments one post carries.
MAX_PER_POST = 50
#: The longest description of an attachment, in characters.
MAX_DESCRIPTION = 500


@dataclass(frozen=True)
class AttachmentDetails:
    #: None: the uploaded file's own name.
    display_name: str | None
    description: str | None


def _name_problem(name: str, stored_name: str) -> str | None:
    if len(name.encode()) > MAX_NAME_BYTES:
        return _("A file name has at most %(count)s bytes (about %(count)s letters).", count=MAX_NAME_BYTES)
    if "/" in name or "\\" in name:
        return _("A file name cannot contain / or \\: it is a name, not a path.")
    if text_problem(name, multiline=False) or any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        return _("A file name cannot contain control or invisible formatting characters.")
    if name.startswith("."):
        return _("A file name cannot start with a dot.")
    if any(ch in name for ch in '<>:"|?*'):
        return _('A file name cannot contain any of < > : " | ? *.')
    kept = stored_name.rpartition(".")[2].lower() if "." in stored_name else ""
    given = name.rpartition(".")[2].lower() if "." in name else ""
    if kept != given:
        if kept:
            return _("Keep the file's extension: the name must end in .%(extension)s.", extension=kept)
        return _("Keep the name without an extension.")
    return None


def parse_attachment_details(raw: dict[str, Any], current: AttachmentDetails, stored_name: str) -> AttachmentDetails:
    """The details a page or an API body sets (fields not sent keep ``current``), or
    ``ValidationError`` with one message per field. An empty name goes back to the file's own."""
    errors: dict[str, str] = {}
    name, description = current.display_name, current.description
    if "display_name" in raw:
        value = raw["display_name"]
        if value is not None and not isinstance(value, str):
            errors["display_name"] = _("Give the name as text.")
        else:
            text = (value or "").strip()
            text = text if text_problem(text, multiline=False) else " ".join(text.split())
            problem = _name_problem(text, stored_name) if text else None
            if problem:
                errors["display_name"] = problem
            name = None if not text or text == stored_name else text
    if "description" in raw:
        value = raw["description"]
        if value is not None and not isinstance(value, str):
            errors["description"] = _("Give the description as text.")
        else:
            text = (value or "").strip()
            if text_problem(text, multiline=False):
                errors["description"] = _("A description is one line of plain text, without control characters.")
            elif len(text) > MAX_DESCRIPTION:
                errors["description"] = _("A description has at most %(count)s characters.", count=MAX_DESCRIPTION)
            description = text or None
    if errors:
        raise ValidationError(errors)
    return AttachmentDetails(name, description)


def download_name(attachment: Attachment) -> str | None:
    """The name a download carries: the display name, cleaned as an uploaded name is; None for
    the stored file's own."""
    return safe_filename(attachment.display_name) if attachment.display_name else None


def details_of(attachment: Attachment) -> AttachmentDetails:
    return AttachmentDetails(attachment.display_name, attachment.description)


def edit_attachment_details(
    user: Any, attachment: Attachment, details: AttachmentDetails, expected_version: int | None = None
) -> Attachment:
    """Set the name an attachment is shown and downloaded under and its description (those who
    may edit the post; ``StaleEdit`` from a stale copy or a lost race). The audit event says what
    changed, not the words."""
    if not can(user, "attach_file", attachment.post):
        raise NotAllowed(_("Only the author or their organisation's focal point can change this post's files."))
    changed = sorted(k for k, v in vars(details).items() if getattr(attachment, k) != v)
    claim(attachment, expected_version)
    attachment.display_name, attachment.description = details.display_name, details.description
    db.session.flush()
    record(
        "attachment.edit",
        actor=user,
        target=("attachment", attachment.id),
        target_org=attachment.post.author_org_id,
        post_id=attachment.post_id,
        version=attachment.version,
        changed=changed,
    )
    return attachment


def attach_file(
    user: Any, post: Post, filename: str, chunks: Iterable[bytes], max_bytes: int
) -> tuple[Attachment, FileMeta]:
    """Encrypt and store an upload as an attachment of ``post``, in the current transaction."""
    if not can(user, "attach_file", post):
        raise NotAllowed(_("Only the author or their organisation's focal point can add files to this post."))
    if len(post.attachments) >= MAX_PER_POST:
        raise NotAllowed(_("A post carries at most %(count)s files; remove one first.", count=MAX_PER_POST))
    stored, meta = store_file("attachment", chunks, filename, user, max_bytes, target=("post", post.id))
    return attach_stored(user, post, stored), meta


def attach_stored(user: Any, post: Post, stored: StoredFile) -> Attachment:
    """Make a file already encrypted and stored (``store_file``) an attachment of ``post``, as its
    version 1: the new post form stores its files first, and publishes the post with them in one
    transaction."""
    marking_id = snapshot_of(post).id
    attachment = Attachment(post=post, file=stored, marking_id=marking_id)
    attachment.versions.append(
        AttachmentVersion(
            number=1, file=stored, marking_id=marking_id, author_id=user.id, author_org_id=post.author_org_id
        )
    )
    db.session.add(attachment)
    db.session.flush()
    record(
        "attachment.upload",
        actor=user,
        target=("attachment", attachment.id),
        post_id=post.id,
        bytes=stored.size,
        scan=stored.scan_status,
    )
    log.info("attachment %s (%s bytes) added to post %s by user %s", attachment.id, stored.size, post.id, user.id)
    return attachment


def add_attachment_version(
    user: Any,
    attachment: Attachment,
    filename: str,
    chunks: Iterable[bytes],
    max_bytes: int,
    tlp: Tlp | None = None,
    law_enforcement_only: bool = False,
) -> tuple[AttachmentVersion, FileMeta]:
    """Store an upload as the attachment's next version, which becomes what the post lists and a
    download sends; earlier versions stay. ``tlp`` None takes the post's marking; a version may
    be stricter than its post, never looser (``ValidationError`` on ``tlp``)."""
    post = attachment.post
    if not can(user, "attach_file", post):
        raise NotAllowed(
            _("Only the author or their organisation's focal point can add versions of this post's files.")
        )
    wanted = tlp or post.tlp
    problem = version_marking_problem(post.tlp, post.law_enforcement_only, wanted, True)
    if problem:
        raise ValidationError({"tlp": problem})
    claim(attachment, None)
    number = max((v.number for v in attachment.versions), default=0) + 1
    stored, meta = store_file("attachment", chunks, filename, user, max_bytes, target=("attachment", attachment.id))
    marking_id = snapshot_of(post).id
    version = AttachmentVersion(
        number=number,
        file=stored,
        marking_id=marking_id,
        # Only a stricter marking is the version's own; the post's is followed as it changes.
        tlp=wanted if wanted.rank > post.tlp.rank else None,
        law_enforcement_only=law_enforcement_only and not post.law_enforcement_only,
        author_id=user.id,
        author_org_id=post.author_org_id,
    )
    attachment.versions.append(version)
    attachment.file = stored
    # The current file is now the one added under the post's marking of today.
    attachment.marking_id = marking_id
    db.session.flush()
    record(
        "attachment.version_upload",
        actor=user,
        target=("attachment", attachment.id),
        target_org=post.author_org_id,
        post_id=post.id,
        number=number,
        tlp=wanted.value,
        bytes=stored.size,
        scan=stored.scan_status,
    )
    return version, meta


def remove_attachment(user: Any, attachment: Attachment) -> None:
    """Delete the attachment and crypto-shred its file."""
    if not can(user, "attach_file", attachment.post):
        raise NotAllowed(_("Only the author or their organisation's focal point can remove files from this post."))
    post_id, attachment_id = attachment.post_id, attachment.id
    files = attachment.all_files
    attachment.post.attachments.remove(attachment)
    shred_files(files)
    record("attachment.delete", actor=user, target=("attachment", attachment_id), post_id=post_id)


def shred_post_files(post: Post) -> int:
    """Crypto-shred every file of a post that is being deleted."""
    files = [f for a in post.attachments for f in a.all_files]
    post.attachments.clear()
    return shred_files(files)
