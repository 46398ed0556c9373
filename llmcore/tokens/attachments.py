"""Token counts of images and documents, for providers that cannot count them.

Anthropic and Gemini count attachments exactly through their count APIs. For
the others (and their offline estimates) llmcore uses:

- **images**: OpenAI's published formula for ``detail: high`` images: fit
  within 2048 x 2048, scale the shortest side down to 768, then ``85 + 170 *
  tiles`` of 512 x 512. The size is read from the image's header (PNG,
  JPEG, GIF, WebP); an image given by URL is counted as 1024 x 1024 (765
  tokens).
- **documents**: :data:`TOKENS_PER_PAGE` per PDF page (pages counted in the
  file; a PDF given by URL counts as one page). Providers read a page as its
  text plus an image of it; 1,500 is within the 1,500-3,000 Anthropic
  documents, on the low side of pages of prose.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterable

from llmcore.parts import DocumentPart, ImagePart, Part, ToolResultPart, result_media

__all__ = ["TOKENS_PER_PAGE", "attachment_tokens", "image_size", "image_tokens", "pdf_pages"]

TOKENS_PER_PAGE = 1500
_PAGE = re.compile(rb"/Type\s*/Page(?![s\w])")


def image_size(data: bytes) -> tuple[int, int] | None:
    """The width and height an image's header gives (None if it cannot be read)."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            width, height = struct.unpack(">II", data[16:24])
            return int(width), int(height)
        if data.startswith((b"GIF87a", b"GIF89a")):
            width, height = struct.unpack("<HH", data[6:10])
            return int(width), int(height)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_size(data)
        if data.startswith(b"\xff\xd8"):
            return _jpeg_size(data)
    except struct.error:
        return None
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    kind = data[12:16]
    if kind == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if kind == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a start-of-frame
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def image_tokens(width: int, height: int) -> int:
    """OpenAI's count for a ``detail: high`` image of this size."""
    scale = min(1.0, 2048 / max(width, height, 1))
    w, h = width * scale, height * scale
    shortest = min(w, h)
    if shortest > 768:
        w, h = w * 768 / shortest, h * 768 / shortest
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


def pdf_pages(data: bytes) -> int:
    """How many pages a PDF has (its page objects; at least 1)."""
    return max(1, len(_PAGE.findall(data)))


def attachment_tokens(parts: Iterable[Part]) -> int:
    """The estimated tokens of the images and documents among ``parts``."""
    total = 0
    for part in parts:
        if isinstance(part, ImagePart):
            size = image_size(part.data) if part.data is not None else None
            total += image_tokens(*size) if size else image_tokens(1024, 1024)
        elif isinstance(part, DocumentPart):
            pages = pdf_pages(part.data) if part.data is not None else 1
            total += pages * TOKENS_PER_PAGE
        elif isinstance(part, ToolResultPart) and part.parts:
            total += attachment_tokens(result_media([part]))  # what is sent besides its text
    return total
