"""Safe previews: image thumbnails made by Pillow (metadata gone, pixel count bounded), PDFs in
pdf.js on our own origin, everything else described with a download button. A preview is a read:
the policy decides it as a download and the audit log records it."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import ExifTags, Image

from app.audit.models import AuditEvent
from app.clusters.attachments import attach_file
from app.extensions import db
from tests.support.pdfs import pdf_bytes
from tests.test_posts_pages import publish


def huge_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A small, valid PNG whose header declares ``width`` x ``height`` pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    pixels = zlib.compress(b"\x00" * (width + 1) * 4)  # a few rows; the rest is never read
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (1200, 900), (200, 40, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PortCam"
    exif[ExifTags.Base.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (51.0, 13.0, 48.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (4.0, 24.0, 0.0),
    }
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"taken at berth 1742")
    return out.getvalue()


@pytest.fixture
def author(make: Any) -> Any:
    return make.user(clusters={"policy": "contributor"})


def test_a_jpeg_thumbnail_has_its_pixels_but_no_gps_or_other_metadata(author, new_client) -> None:
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the original has GPS
    post = publish(author, tlp="GREEN")
    attachment, _ = attach_file(author, post, "quay.jpg", [original], 10**7)
    db.session.commit()
    client = new_client(author)
    page = client.get(f"/attachments/{attachment.id}/preview")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'src="/attachments/{attachment.id}/thumbnail.png"' in html and 'alt="Preview of quay.jpg"' in html
    response = client.get(f"/attachments/{attachment.id}/thumbnail.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    body = response.get_data()
    thumb = Image.open(io.BytesIO(body))
    assert thumb.format == "PNG" and max(thumb.size) == 800 and thumb.size == (800, 600)
    assert thumb.convert("RGB").getpixel((400, 300))[0] > 150  # the picture is still there
    assert len(thumb.getexif()) == 0
    assert not thumb.info.get("exif") and "comment" not in thumb.info
    assert b"GPS" not in body and b"PortCam" not in body and b"berth 1742" not in body
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.target_id == str(attachment.id), AuditEvent.actor_id == author.id)
    ).all()
    assert actions.count("attachment.preview") == 2  # the page and the thumbnail


def test_a_png_declaring_a_huge_size_is_refused_cleanly(author, new_client) -> None:
    bomb = huge_png()
    assert len(bomb) < 2000
    post = publish(author, tlp="GREEN")
    attachment, _ = attach_file(author, post, "chart.png", [bomb], 10**7)
    db.session.commit()
    client = new_client(author)
    thumb = client.get(f"/attachments/{attachment.id}/thumbnail.png")
    assert thumb.status_code == 422
    assert "declares more pixels than a preview decodes" in thumb.get_data(as_text=True)
    page = client.get(f"/attachments/{attachment.id}/preview")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "declares more pixels than a preview decodes" in html and "thumbnail.png" not in html


def test_a_preview_is_refused_to_those_who_may_not_download(author, make, new_client) -> None:
    post = publish(author, tlp="AMBER")
    attachment, _ = attach_file(author, post, "quay.jpg", [jpeg_with_gps()], 10**7)
    db.session.commit()
    outsider = new_client(make.user(clusters={"innovation": "reader"}))
    for path in ("preview", "thumbnail.png", "versions", "versions/1"):
        assert outsider.get(f"/attachments/{attachment.id}/{path}").status_code == 404, path


def test_a_pdf_preview_page_loads_pdfjs_from_our_origin_and_reads_the_audited_download(
    author, new_client, tmp_path
) -> None:
    post = publish(author, tlp="GREEN")
    attachment, _ = attach_file(author, post, "brief.pdf", [pdf_bytes(tmp_path, 2)], 10**7)
    db.session.commit()
    html = new_client(author).get(f"/attachments/{attachment.id}/preview").get_data(as_text=True)
    assert f'data-pdf-url="/attachments/{attachment.id}"' in html
    assert 'src="/static/js/pdf-preview.js"' in html and "/static/pdfjs/" in html


def test_an_office_file_shows_its_details_and_a_download_button(author, new_client) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.active["A1"] = "BEANR"
    out = io.BytesIO()
    book.save(out)
    post = publish(author, tlp="GREEN")
    attachment, meta = attach_file(author, post, "figures.xlsx", [out.getvalue()], 10**7)
    db.session.commit()
    html = new_client(author).get(f"/attachments/{attachment.id}/preview").get_data(as_text=True)
    assert "figures.xlsx" in html and meta.sha256 in html and "is not previewed in the browser" in html
    assert f'href="/attachments/{attachment.id}"' in html
    assert "thumbnail.png" not in html and "data-pdf-url" not in html
