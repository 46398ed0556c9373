"""An MCP tool's result (``CallToolResult``) as an llmcore :class:`~llmcore.tools.ToolResult`.

Nothing the server returned is dropped:

- ``structuredContent`` is kept as ``structured``, and the model gets its
  JSON (compact). The MCP SDK wraps a tool's plain value as
  ``{"result": value}`` (the output schema then has that one property);
  the model gets the value itself, a string as it is.
- Text blocks are the text for the model when there is no structured content.
- Images become :class:`~llmcore.parts.ImagePart` s; embedded resources
  :class:`~llmcore.parts.DocumentPart` s named by their URI (an image
  resource an ImagePart); audio a DocumentPart of its type. The text for
  the model names each (and includes a text resource's text), so a
  provider that can send only text still tells the model what is there.
- Resource links are named in the text.

``parts`` holds every block, in order, whenever they say more than the
text (anything but plain text, or text the structured content replaced).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec

from llmcore.parts import DocumentPart, ImagePart, TextPart
from llmcore.tools.tool import ToolResult

__all__ = ["model_text", "tool_result"]

ContentPart = TextPart | ImagePart | DocumentPart


def tool_result(result: Any, output_schema: dict[str, Any] | None = None) -> ToolResult:
    """The ToolResult of an SDK ``CallToolResult`` (``output_schema``: the tool's, if declared)."""
    raw = list(result.content or ())
    blocks = [_convert(block) for block in raw]
    parts = [part for part, _ in blocks]
    shown = [text for _, text in blocks]
    structured = result.structured_content
    if structured is not None:  # it replaces the text blocks, not the others
        others = [t for b, (_, t) in zip(raw, blocks, strict=True) if b.type != "text"]
        content = "\n".join([model_text(structured, output_schema), *others])
    else:
        content = "\n".join(shown)
    plain = all(type(p) is TextPart for p in parts) and "\n".join(shown) == content
    return ToolResult(
        content,
        is_error=bool(result.is_error),
        structured=structured,
        parts=[] if plain else parts,
    )


def model_text(structured: Any, output_schema: dict[str, Any] | None) -> str:
    """Structured content as the model reads it: JSON, or the SDK-wrapped value itself."""
    value = structured
    if _wrapped(structured, output_schema):
        value = structured["result"]
        if isinstance(value, str):
            return value
    return msgspec.json.encode(value).decode()


def _wrapped(structured: Any, schema: dict[str, Any] | None) -> bool:
    """``{"result": value}`` under a schema with only that property: the SDK's wrapping."""
    if not isinstance(structured, dict) or set(structured) != {"result"} or not schema:
        return False
    properties = schema.get("properties")
    return isinstance(properties, dict) and set(properties) == {"result"}


def _convert(block: Any) -> tuple[ContentPart, str]:
    """A content block as a part, and its text for the model."""
    kind = getattr(block, "type", None)
    if kind == "text":
        return TextPart(block.text), block.text
    if kind in ("image", "audio"):
        part = _binary(ImagePart if kind == "image" else DocumentPart, block.mime_type, block.data)
        return part, _named(part, f"[{kind}: {{}}]")
    if kind == "resource":
        resource = block.resource
        uri = str(resource.uri)
        mime = resource.mime_type or ""
        text = getattr(resource, "text", None)
        if text is not None:
            doc = DocumentPart(media_type=_media(mime, "text/plain"), data=text.encode(), name=uri)
            return doc, f"Resource {uri}:\n{text}"
        if mime.startswith("image/"):
            part = _binary(ImagePart, mime, resource.blob)
        else:
            part = _binary(DocumentPart, mime, resource.blob, name=uri)
        return part, _named(part, f"[resource {uri}: {{}}]")
    if kind == "resource_link":
        mime = f", {block.mime_type}" if block.mime_type else ""
        line = f"[resource link {block.uri} ({block.name}{mime})]"
        return TextPart(line), line
    line = f"[{kind or 'content'}]"
    return TextPart(line), line


def _binary(
    cls: type[ImagePart] | type[DocumentPart], mime: str, data: str, **extra: Any
) -> ContentPart:
    media = _media(mime, "application/octet-stream")
    try:
        raw = base64.b64decode(data, validate=True)
    except (ValueError, binascii.Error):
        return TextPart(f"[{media} content the server sent that is not valid base64]")
    return cls(media_type=media, data=raw, **extra)


def _named(part: ContentPart, template: str) -> str:
    """The text naming a binary part for the model (a broken one says so itself)."""
    if type(part) is TextPart:
        return part.text
    return template.format(part.media_type)  # type: ignore[union-attr]


def _media(mime: str, fallback: str) -> str:
    return mime if "/" in mime else fallback
