"""Real PDFs for tests and benchmarks, made with pikepdf: pages of text, optionally each with a
large incompressible image, so a file of a given size and page count is quick to make."""

from __future__ import annotations

import os
from pathlib import Path

import pikepdf


def make_pdf(path: Path, pages: int, image_bytes: int = 0, password: str | None = None) -> Path:
    """A PDF of ``pages`` A4 pages saying "Page N"; with ``image_bytes``, each page also draws a
    grey image of about that many random bytes (kept as it is, so the file is that much larger)."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica)
    )
    side = int(image_bytes**0.5) if image_bytes else 0
    for number in range(1, pages + 1):
        pdf.add_blank_page(page_size=(595, 842))
        page = pdf.pages[-1]
        resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        drawing = b"BT /F1 24 Tf 72 720 Td (Page %d) Tj ET" % number
        if side:
            image = pikepdf.Stream(pdf, os.urandom(side * side))
            image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
            image.Width, image.Height = side, side
            image.ColorSpace, image.BitsPerComponent = pikepdf.Name.DeviceGray, 8
            resources.XObject = pikepdf.Dictionary(Im1=image)
            drawing += b" q 300 0 0 300 150 300 cm /Im1 Do Q"
        page.Resources = resources
        page.Contents = pdf.make_stream(drawing)
    if password:
        pdf.save(path, encryption=pikepdf.Encryption(user=password, owner=password))
    else:
        pdf.save(path)
    return path


def pdf_bytes(tmp: Path, pages: int, **options: object) -> bytes:
    return make_pdf(tmp / f"made-{pages}.pdf", pages, **options).read_bytes()  # type: ignore[arg-type]
