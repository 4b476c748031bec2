"""Safe previews of stored files: what kind of preview a file gets, and image thumbnails.

- PDFs are drawn in the page by pdf.js (served from our own origin, eval off), reading the
  same audited, policy-checked download a member would take (stamped when the marking asks).
- Images become thumbnails made here: decoded by Pillow and re-encoded as a fresh PNG, so no
  metadata (EXIF GPS, comments, ICC profiles) and no trailing bytes of the original survive.
  The pixel count the header declares is checked before anything is decoded, so a
  decompression bomb (a small file declaring an enormous image) is refused, not expanded.
- Everything else (Office files, archives, text) shows its metadata and a download button.
"""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.files.models import StoredFile
from app.files.services import FileMeta, open_file

if TYPE_CHECKING:
    from PIL import Image

#: Image kinds made into thumbnails (what ``app.files.sniff`` admits as images, TIFF aside:
#: its many codecs are more attack surface than a preview is worth).
THUMBNAIL_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}
#: The largest image file decoded for a thumbnail.
MAX_IMAGE_BYTES = 32 * 1024 * 1024
#: The most pixels an image may declare (width x height) to be decoded: 40 megapixels, a large
#: photo, about 160 MB of RGBA at most.
MAX_PIXELS = 40_000_000
#: A thumbnail's longest side, in pixels.
THUMBNAIL_SIDE = 800


class PreviewRefused(Exception):
    """The file cannot be previewed; the message says why, in plain words."""


def preview_kind(meta: FileMeta) -> str:
    """``pdf``, ``image`` or ``metadata`` (a download button and the file's details)."""
    if meta.media_type == "application/pdf":
        return "pdf"
    if meta.media_type in THUMBNAIL_TYPES:
        return "image"
    return "metadata"


def _read_image(file: StoredFile) -> bytes:
    if file.size > MAX_IMAGE_BYTES:
        raise PreviewRefused(_("This image is too large to preview. Download it to see it."))
    return b"".join(open_file(file).chunks)


def _open(data: bytes, media_type: str) -> Image.Image:
    from PIL import Image, UnidentifiedImageError  # loaded at the first preview, not at start

    """The image with its declared size checked, nothing decoded yet."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[THUMBNAIL_TYPES[media_type]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PreviewRefused(str(_TOO_MANY_PIXELS)) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, KeyError):
        raise PreviewRefused(_("This image cannot be read for a preview. Download it to open it.")) from None
    width, height = image.size
    if width <= 0 or height <= 0 or width * height > MAX_PIXELS:
        raise PreviewRefused(str(_TOO_MANY_PIXELS))
    return image


_TOO_MANY_PIXELS = _l("This image declares more pixels than a preview decodes. Download it instead.")


def check_image(file: StoredFile, meta: FileMeta) -> tuple[int, int]:
    """The image's declared width and height, or ``PreviewRefused``; decodes no pixel."""
    return _open(_read_image(file), meta.media_type).size


def thumbnail(file: StoredFile, meta: FileMeta) -> bytes:
    """A PNG at most ``THUMBNAIL_SIDE`` pixels on its longest side, drawn from the decoded pixels
    only (turned upright as its EXIF orientation says), or ``PreviewRefused``."""
    from PIL import Image, ImageOps

    image = _open(_read_image(file), meta.media_type)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            image.seek(0)
            upright = ImageOps.exif_transpose(image)
            mode = "RGBA" if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info else "RGB"
            upright = upright.convert(mode)
            upright.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            # A new image holding the pixels only: no EXIF, text chunks, ICC profile or comments.
            clean: Any = Image.new(mode, upright.size)
            clean.paste(upright)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise PreviewRefused(_("This image cannot be read for a preview. Download it to open it.")) from None
    out = io.BytesIO()
    clean.save(out, "PNG")
    return out.getvalue()
