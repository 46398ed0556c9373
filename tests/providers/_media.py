"""Real image and PDF bytes of known sizes, for attachment tests (Pillow draws the images)."""

from __future__ import annotations

import io

__all__ = ["gif", "image", "jpeg", "pdf", "png", "webp"]


def image(kind: str, width: int = 64, height: int = 48) -> bytes:
    """An image of ``width`` x ``height`` in ``kind`` (``PNG``, ``JPEG``, ``GIF``, ``WEBP``)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, format=kind)
    return out.getvalue()


def png(width: int = 64, height: int = 48) -> bytes:
    """A PNG of this size."""
    return image("PNG", width, height)


def jpeg(width: int = 64, height: int = 48) -> bytes:
    """A JPEG of this size."""
    return image("JPEG", width, height)


def gif(width: int = 64, height: int = 48) -> bytes:
    """A GIF of this size."""
    return image("GIF", width, height)


def webp(width: int = 64, height: int = 48) -> bytes:
    """A WebP of this size."""
    return image("WEBP", width, height)


def pdf(pages: int = 1, padding: int = 0) -> bytes:
    """A valid PDF of ``pages`` empty pages (``padding`` bytes of comment make it bigger)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(b"%d 0 R" % (3 + i) for i in range(pages))
        + b"] /Count %d >>" % pages,
        *[b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>" for _ in range(pages)],
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    if padding:
        out += b"%" + b"x" * padding + b"\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
