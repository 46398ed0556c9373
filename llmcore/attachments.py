"""Attachments: files, bytes and URLs given to ``chat(attachments=[...])``, as message parts.

Each item becomes one part of the user's message, checked before anything is
sent or stored:

- a path (``str`` or ``os.PathLike``): the file is read once; its type is
  sniffed from its bytes, not its name;
- ``bytes``, or ``(bytes, media_type)``: sniffed (a media type given with
  the bytes must agree with them);
- an ``http(s)://`` URL: an image or a PDF by its extension (the bytes are
  the provider's to fetch);
- an :class:`~llmcore.parts.ImagePart`, :class:`~llmcore.parts.DocumentPart`
  or :class:`~llmcore.parts.TextPart`, as it is.

Images are PNG, JPEG, GIF and WebP; documents are PDF; a UTF-8 text file
becomes a text part. Anything else, or a file over ``max_bytes``, is an
:class:`~llmcore.exceptions.InvalidRequestError` naming it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from llmcore.exceptions import InvalidRequestError
from llmcore.parts import DocumentPart, ImagePart, Part, TextPart

__all__ = ["IMAGE_TYPES", "Attachment", "sniff", "to_parts"]

#: What an item of ``attachments=`` may be.
Attachment = (
    str | os.PathLike[str] | bytes | tuple[bytes, str] | ImagePart | DocumentPart | TextPart
)

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_EXTENSIONS = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
}


def sniff(data: bytes) -> str | None:
    """The media type the bytes themselves say (``None``: not one llmcore sends)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if b"\x00" not in data[:8192]:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return "text/plain"
    return None


async def to_parts(items: Sequence[object], *, max_bytes: int) -> list[Part]:
    """The parts of ``items`` (paths are read in a worker thread).

    Raises:
        InvalidRequestError: an item is of no kind llmcore sends, a file is
            missing or too large, or a media type disagrees with the bytes.
    """
    import anyio.to_thread

    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise InvalidRequestError(
            "attachments must be a list, e.g. attachments=['photo.png'] or [(data, 'image/png')]."
        )
    parts: list[Part] = []
    for item in items:
        if isinstance(item, ImagePart | DocumentPart | TextPart):
            parts.append(item)
        elif isinstance(item, str) and item.startswith(("http://", "https://")):
            parts.append(_from_url(item))
        elif isinstance(item, str | os.PathLike):
            name, data = await anyio.to_thread.run_sync(_read, item, max_bytes)
            parts.append(_from_bytes(data, None, name, max_bytes))
        elif isinstance(item, bytes):
            parts.append(_from_bytes(item, None, None, max_bytes))
        elif (
            isinstance(item, tuple)
            and len(item) == 2
            and isinstance(item[0], bytes)
            and isinstance(item[1], str)
        ):
            parts.append(_from_bytes(item[0], item[1], None, max_bytes))
        else:
            raise InvalidRequestError(
                f"Cannot attach a {type(item).__name__} ({item!r:.60}): give a file path, bytes, "
                "(bytes, media_type), an http(s) URL, or an ImagePart/DocumentPart."
            )
    return parts


def _read(item: str | os.PathLike[str], max_bytes: int) -> tuple[str, bytes]:
    path = Path(item).expanduser()
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidRequestError(f"Cannot attach {str(path)!r}: {exc.strerror or exc}.") from None
    if size > max_bytes:
        raise InvalidRequestError(_too_large(path.name, size, max_bytes))
    try:
        return path.name, path.read_bytes()
    except OSError as exc:
        raise InvalidRequestError(f"Cannot attach {str(path)!r}: {exc.strerror or exc}.") from None


def _too_large(name: str, size: int, max_bytes: int) -> str:
    return (
        f"Cannot attach {name}: it is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB "
        "limit (llmcore.max_attachment_bytes)."
    )


def _from_bytes(data: bytes, claimed: str | None, name: str | None, max_bytes: int) -> Part:
    what = name or "the attachment"
    if len(data) > max_bytes:
        raise InvalidRequestError(_too_large(what, len(data), max_bytes))
    kind = sniff(data)
    if kind is None:
        raise InvalidRequestError(
            f"Cannot attach {what}: its bytes are not a PNG, JPEG, GIF or WebP image, a PDF, or "
            "UTF-8 text."
        )
    text_ok = kind == "text/plain" and (claimed or "").startswith("text/")
    if claimed is not None and claimed != kind and not text_ok:
        raise InvalidRequestError(
            f"Cannot attach {what}: it was given as {claimed!r}, but its bytes are {kind!r}."
        )
    if kind == "text/plain":
        text = data.decode("utf-8")
        return TextPart(f"File {name}:\n{text}" if name else text)
    if kind in IMAGE_TYPES:
        return ImagePart(media_type=kind, data=data, name=name)
    return DocumentPart(media_type=kind, data=data, name=name)


def _from_url(url: str) -> Part:
    kind = _EXTENSIONS.get(PurePosixPath(urlsplit(url).path).suffix.lower())
    if kind is None:
        raise InvalidRequestError(
            f"Cannot attach {url!r}: its extension does not say whether it is an image or a PDF. "
            "Pass ImagePart(media_type=..., url=...) or DocumentPart(...) instead."
        )
    name = PurePosixPath(urlsplit(url).path).name
    if kind in IMAGE_TYPES:
        return ImagePart(media_type=kind, url=url, name=name)
    return DocumentPart(media_type=kind, url=url, name=name)
