"""The typed parts a message is made of: text, images, documents, tool calls, reasoning.

A :class:`~llmcore.models.Message` carries an ordered list of parts, a
msgspec tagged union (the ``type`` field names the kind), so a conversation
with images, tool calls and signed reasoning blocks is stored, replayed and
sent to any provider without dicts in ``metadata`` carrying structure. Each
provider maps the parts to its own wire format and refuses, before sending,
a kind it cannot take.

Binary content (``data``) is raw bytes; stores keep each distinct blob once,
by its SHA-256 (:func:`digest`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

__all__ = [
    "DocumentPart",
    "ImagePart",
    "NativePart",
    "Part",
    "ReasoningPart",
    "TextPart",
    "ToolCallPart",
    "ToolResultPart",
    "base64_of",
    "binary_parts",
    "digest",
    "result_media",
    "text_of",
]


class TextPart(msgspec.Struct, omit_defaults=True, tag_field="type", tag="text"):
    """Plain text."""

    text: str


class _Binary(msgspec.Struct, kw_only=True, omit_defaults=True, dict=True):
    """Content given as bytes or as a URL, with its media type and file name."""

    media_type: str
    data: bytes | None = None
    url: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.url is None):
            raise ValueError(f"a {type(self).__name__} needs exactly one of data or url")
        if not self.media_type or "/" not in self.media_type:
            raise ValueError(
                f"media_type must be a MIME type such as image/png, not {self.media_type!r}"
            )


class ImagePart(_Binary, tag_field="type", tag="image"):
    """An image (PNG, JPEG, GIF, WebP) as bytes or a URL."""


class DocumentPart(_Binary, tag_field="type", tag="document"):
    """A document (a PDF) as bytes or a URL, with its file name."""


class ToolCallPart(
    msgspec.Struct, kw_only=True, omit_defaults=True, tag_field="type", tag="tool_call"
):
    """A model's request to call a tool.

    Attributes:
        id: the provider's id for the call, kept so the result can refer to it.
        name: the tool's name.
        arguments: the parsed JSON arguments.
    """

    id: str
    name: str
    arguments: dict[str, Any] = msgspec.field(default_factory=dict)


class ToolResultPart(
    msgspec.Struct, kw_only=True, omit_defaults=True, tag_field="type", tag="tool_result"
):
    """A tool's result, sent back to the model.

    Attributes:
        call_id: the id of the :class:`ToolCallPart` it answers.
        content: the result as text: what every provider can send (for a
            result with structured content, its JSON; images and resources
            are named in it).
        is_error: the tool failed (the content says how).
        name: the tool's name (some providers need it with the result).
        structured: the result's structured content (JSON), when the tool
            returned one (an MCP tool's ``structuredContent``).
        parts: the result's own content in order (text, images, documents
            such as an MCP tool's embedded resources), when it holds more
            than ``content`` says; empty for a plain text result.
    """

    call_id: str
    content: str
    is_error: bool = False
    name: str | None = None
    structured: Any = None
    parts: list[TextPart | ImagePart | DocumentPart] = msgspec.field(default_factory=list)


class ReasoningPart(
    msgspec.Struct, kw_only=True, omit_defaults=True, tag_field="type", tag="reasoning"
):
    """A model's reasoning, kept so it can be replayed to the model that wrote it.

    Attributes:
        text: the reasoning text, or its summary (``summary=True``); may be
            empty when the provider sends it only encrypted.
        summary: the text is a summary of the reasoning, not the reasoning.
        signature: the provider's signature over the text (Anthropic, Gemini).
        encrypted: the reasoning in the provider's opaque encrypted form.
        provider: the provider that produced it (its configured type).
        model: the model that produced it.
    """

    text: str = ""
    summary: bool = False
    signature: str | None = None
    encrypted: str | None = None
    provider: str | None = None
    model: str | None = None


class NativePart(msgspec.Struct, kw_only=True, omit_defaults=True, tag_field="type", tag="native"):
    """Provider-specific content, replayed only to the provider that produced it.

    Attributes:
        provider: the provider type it belongs to (``anthropic``...).
        data: the provider's own JSON for it.
    """

    provider: str
    data: Any = None


Part = (
    TextPart | ImagePart | DocumentPart | ToolCallPart | ToolResultPart | ReasoningPart | NativePart
)


def text_of(parts: Iterable[Part]) -> str:
    """A message's text: its text parts, or a tool result's content, joined."""
    pieces = []
    for part in parts:
        if type(part) is TextPart:
            pieces.append(part.text)
        elif type(part) is ToolResultPart:
            pieces.append(part.content)
    return pieces[0] if len(pieces) == 1 else "".join(pieces)


def digest(part: ImagePart | DocumentPart) -> str:
    """The SHA-256 of a binary part's bytes, as hex (computed once per part)."""
    cached: str | None = part.__dict__.get("_sha256")
    if cached is None:
        import hashlib

        if part.data is None:
            raise ValueError("a part given by URL has no bytes to hash")
        cached = part.__dict__["_sha256"] = hashlib.sha256(part.data).hexdigest()
    return cached


def base64_of(part: ImagePart | DocumentPart) -> str:
    """A binary part's bytes in base64 (encoded once per part, reused by every request)."""
    cached: str | None = part.__dict__.get("_base64")
    if cached is None:
        import base64

        if part.data is None:
            raise ValueError("a part given by URL has no bytes to encode")
        cached = part.__dict__["_base64"] = base64.b64encode(part.data).decode("ascii")
    return cached


def binary_parts(parts: Iterable[Part]) -> list[ImagePart | DocumentPart]:
    """The images and documents among ``parts``."""
    return [p for p in parts if isinstance(p, ImagePart | DocumentPart)]


def result_media(parts: Iterable[Part]) -> list[ImagePart | DocumentPart]:
    """The images and PDFs that tool results among ``parts`` hold (an MCP tool's
    images and embedded resources), in order: what a provider sends besides the
    result's text. A text resource is in that text already; other files are
    named there."""
    return [
        media
        for p in parts
        if type(p) is ToolResultPart
        for media in p.parts
        if type(media) is ImagePart
        or (type(media) is DocumentPart and media.media_type == "application/pdf")
    ]
