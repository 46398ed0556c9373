"""How the session stores keep a message's parts: JSON, with binary content by hash.

A plain text message stores no parts at all (its ``content`` is the whole
message, as in the stores' earlier formats). Any other message stores its
parts as a JSON list in which each image or document given as bytes is
replaced by ``{"type": "image", "media_type": ..., "blob": SHA256}`` (so
is each one among a tool result's own ``parts``); the bytes go to the
store's blob table (or folder) once per session and hash, however many
messages refer to them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeGuard

import msgspec

from llmcore.exceptions import SessionStorageError
from llmcore.models import Message
from llmcore.parts import DocumentPart, ImagePart, Part, ToolResultPart, digest

__all__ = ["blob_refs", "decode_parts", "encode_parts", "split_parts", "stored_parts"]

_encode = msgspec.json.encode
_BLOB = re.compile(rb'"blob":"([0-9a-f]{64})"')


def stored_parts(message: Message) -> list[Part] | None:
    """The parts to store for ``message``, or None when its ``content`` says it all."""
    parts = message.current_parts()
    if message.has_only_text:
        return None
    return parts


def split_parts(message: Message) -> tuple[list[Any] | None, dict[str, bytes]]:
    """The message's parts ready to encode (None if plain text), and the blobs taken out."""
    parts = stored_parts(message)
    if parts is None:
        return None, {}
    blobs: dict[str, bytes] = {}
    out: list[Any] = []
    for part in parts:
        if type(part) is ToolResultPart and any(map(_is_blob, part.parts)):
            # A tool result's own images and documents are stored by hash too.
            result = msgspec.to_builtins(msgspec.structs.replace(part, parts=[]))
            result["parts"] = [_blob_ref(p, blobs) if _is_blob(p) else p for p in part.parts]
            out.append(result)
        elif _is_blob(part):
            out.append(_blob_ref(part, blobs))
        else:
            out.append(part)
    return out, blobs


def _is_blob(part: Part) -> TypeGuard[ImagePart | DocumentPart]:
    return isinstance(part, ImagePart | DocumentPart) and part.data is not None


def _blob_ref(part: ImagePart | DocumentPart, blobs: dict[str, bytes]) -> dict[str, Any]:
    """The stored form of a binary part: its media type and hash (the bytes go to ``blobs``)."""
    sha = digest(part)
    blobs[sha] = part.data or b""
    ref: dict[str, Any] = {
        "type": "image" if type(part) is ImagePart else "document",
        "media_type": part.media_type,
        "blob": sha,
    }
    if part.name is not None:
        ref["name"] = part.name
    return ref


def encode_parts(message: Message) -> tuple[bytes | None, dict[str, bytes]]:
    """The JSON to store for the message's parts (None if plain text), and its blobs."""
    parts, blobs = split_parts(message)
    return (None if parts is None else _encode(parts)), blobs


def blob_refs(stored: bytes | str | list[Any] | None) -> set[str]:
    """The hashes of the blobs a stored parts list (JSON, or decoded) refers to."""
    if not stored:
        return set()
    if isinstance(stored, list):
        return {i["blob"] for i in stored if isinstance(i, dict) and "blob" in i}
    raw = stored.encode() if isinstance(stored, str) else stored
    return {m.decode() for m in _BLOB.findall(raw)}


def _fill_blobs(items: list[Any], blobs: Mapping[str, bytes]) -> None:
    """Replace each ``{"blob": SHA256}`` reference in ``items`` by the part with its bytes."""
    for i, item in enumerate(items):
        sha = item.get("blob") if isinstance(item, dict) else None
        if sha is not None:
            item = items[i] = {k: v for k, v in item.items() if k != "blob"}
            item["data"] = blobs[sha]


def decode_parts(
    stored: bytes | str | list[Any] | None, blobs: Mapping[str, bytes], *, where: str = ""
) -> list[Part]:
    """The parts a stored JSON list describes, its blobs filled in (``[]`` for None).

    ``stored`` is the JSON text, or the list already decoded from it.

    Raises:
        SessionStorageError: the parts are damaged, or a blob they refer to
            is missing.
    """
    if not stored:
        return []
    try:
        raw = msgspec.json.decode(stored) if isinstance(stored, bytes | str) else list(stored)
        _fill_blobs(raw, blobs)
        for item in raw:
            if isinstance(item, dict) and isinstance(item.get("parts"), list):
                _fill_blobs(item["parts"], blobs)  # a tool result's own parts
        return msgspec.convert(raw, list[Part])
    except KeyError as exc:
        raise SessionStorageError(
            f"{where or 'A message'} refers to the binary content {exc.args[0]}, which is not "
            "in the store (deleted by hand?); restore it, or delete the message.",
            operation="read",
        ) from None
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise SessionStorageError(
            f"{where or 'A message'} has damaged parts ({exc}); restore the store from a "
            "backup, or delete the message.",
            operation="read",
        ) from None
