"""What Anthropic's Messages API refuses, with its 400 messages.

:func:`refusal` reads a ``/v1/messages`` (or ``count_tokens``) body the way
the real API does and returns the message of the first thing it would
refuse, or None. The wording is the API's own (as its users report it),
except where a comment says it is approximate.

Checked: non-empty content; block shapes (``text``, ``image`` and
``document`` with a base64 source whose media type and bytes agree, or a
URL source; ``tool_use`` / ``tool_result`` ids matching
``^[a-zA-Z0-9_-]+$``, unique, and each call answered in the next message; a
``tool_result``'s content a string or text, image, document and
``search_result`` blocks, checked as those at the top level);
the thinking settings (a budget of at least 1024 below ``max_tokens``, no
``temperature`` other than 1 nor ``top_k``); every ``thinking`` block's
signature and ``redacted_thinking`` block's data must be what this fake
issued (an altered block is refused); and with thinking on, the assistant
turn of a tool loop (the one before the final ``tool_result``) must start
with its thinking block.
"""

from __future__ import annotations

import re
from typing import Any

from fakes._server import b64decode, image_type, verify

__all__ = ["refusal", "thinking_payload"]

_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_BLOCKS = ("text", "image", "document", "tool_use", "tool_result", "thinking",
           "redacted_thinking")  # fmt: skip
#: The blocks a ``tool_result``'s content list may hold.
_RESULT_BLOCKS = ("text", "image", "search_result", "document")
_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"


def thinking_payload(block: dict[str, Any]) -> str:
    """What a thinking block's signature covers."""
    return str(block.get("thinking", ""))


def refusal(body: dict[str, Any], *, count: bool = False) -> str | None:
    """The real API's 400 message for ``body``, or None if it would take it.

    ``count``: the body is a ``count_tokens`` request (no ``max_tokens``).
    """
    thinking = body.get("thinking")
    enabled = isinstance(thinking, dict) and thinking.get("type") == "enabled"
    if enabled:
        problem = _thinking_settings(body, thinking, count)  # type: ignore[arg-type]
        if problem is not None:
            return problem
    messages = body.get("messages") or []
    seen_ids: set[str] = set()
    for i, message in enumerate(messages):
        problem = _message(i, message, messages, seen_ids)
        if problem is not None:
            return problem
    if enabled:
        return _tool_loop_thinking(messages)
    return None


def _thinking_settings(body: dict[str, Any], thinking: dict[str, Any], count: bool) -> str | None:
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int) or budget < 1024:
        return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
    if not count and budget >= int(body.get("max_tokens") or 0):
        return (
            "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
            f"documentation at {_DOCS}#max-tokens-and-context-window-size"
        )
    if body.get("temperature", 1) != 1:
        return (
            "`temperature` may only be set to 1 when thinking is enabled. Please consult our "
            f"documentation at {_DOCS}#feature-compatibility"
        )
    if "top_k" in body:  # approximate wording
        return (
            "`top_k` may not be set when thinking is enabled. Please consult our documentation "
            f"at {_DOCS}#feature-compatibility"
        )
    return None


def _message(i: int, message: Any, messages: list[Any], seen_ids: set[str]) -> str | None:
    content = message.get("content") if isinstance(message, dict) else None
    last = i == len(messages) - 1
    empty = content in ("", []) or (isinstance(content, str) and not content.strip())
    if content is None or (empty and not (last and message.get("role") == "assistant")):
        return (
            f"messages.{i}: all messages must have non-empty content except for the optional "
            "final assistant message"
        )
    if isinstance(content, str):
        return _unanswered(i, [], messages)
    calls: list[str] = []
    for j, block in enumerate(content):
        problem = _block(f"messages.{i}.content.{j}", block, seen_ids, calls)
        if problem is not None:
            return problem
    if i > 0:
        problem = _results_match(i, content, messages[i - 1])
        if problem is not None:
            return problem
    return _unanswered(i, calls, messages)


def _block(where: str, block: Any, seen_ids: set[str], calls: list[str]) -> str | None:
    kind = block.get("type") if isinstance(block, dict) else None
    if kind not in _BLOCKS:  # approximate: the API lists every block type it knows
        expected = ", ".join(f"'{b}'" for b in _BLOCKS)
        return (
            f"{where}: Input tag '{kind}' found using 'type' does not match any of the expected "
            f"tags: {expected}"
        )
    if kind == "text":
        text = block.get("text")
        if not isinstance(text, str) or not text:
            return "messages: text content blocks must be non-empty"
    elif kind == "image":
        return _image(where, block.get("source"))
    elif kind == "document":
        return _document(where, block.get("source"))
    elif kind == "tool_use":
        call_id = block.get("id")
        if not isinstance(call_id, str) or not _ID.match(call_id):
            return f"{where}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'"
        if call_id in seen_ids:
            return f"{where}: `tool_use` ids must be unique"
        seen_ids.add(call_id)
        calls.append(call_id)
    elif kind == "tool_result":
        call_id = block.get("tool_use_id")
        if not isinstance(call_id, str) or not _ID.match(call_id):
            return (
                f"{where}.tool_result.tool_use_id: String should match pattern '^[a-zA-Z0-9_-]+$'"
            )
        return _result_content(f"{where}.tool_result.content", block.get("content"))
    elif kind == "thinking":
        if "signature" not in block:
            return f"{where}.thinking.signature: Field required"
        if not verify("thinking", thinking_payload(block), block.get("signature")):
            return f"{where}: Invalid `signature` in `thinking` block"
    elif kind == "redacted_thinking" and not verify("redacted", "", block.get("data")):
        return f"{where}: Invalid `data` in `redacted_thinking` block"  # approximate wording
    return None


def _result_content(where: str, content: Any) -> str | None:
    """A ``tool_result``'s content: any string, or text, image, document and search result
    blocks, each checked as at the top level."""
    if not isinstance(content, list):
        return None
    for k, block in enumerate(content):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in _RESULT_BLOCKS:  # approximate: the API's wording of a tag error
            expected = ", ".join(f"'{b}'" for b in _RESULT_BLOCKS)
            return (
                f"{where}.{k}: Input tag '{kind}' found using 'type' does not match any of the "
                f"expected tags: {expected}"
            )
        if kind != "search_result":
            problem = _block(f"{where}.{k}", block, set(), [])
            if problem is not None:
                return problem
    return None


def _image(where: str, source: Any) -> str | None:
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "url":
        url = source.get("url")  # type: ignore[union-attr]
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return f"{where}.image.source.url.url: URL must start with http:// or https://"
        return None
    if kind != "base64":
        return (
            f"{where}.image.source: Input tag '{kind}' found using 'type' does not match any of "
            "the expected tags: 'base64', 'url'"
        )
    media_type = source.get("media_type")  # type: ignore[union-attr]
    if media_type not in _IMAGE_TYPES:
        return (
            f"{where}.image.source.base64.media_type: Input should be 'image/jpeg', "
            "'image/png', 'image/gif' or 'image/webp'"
        )
    data = b64decode(source.get("data"))  # type: ignore[union-attr]
    actual = image_type(data) if data else None
    if actual is None:
        return f"{where}.image.source.base64.data: Could not process image"
    if actual != media_type:
        return (
            f"{where}.image.source.base64: The image was specified using the {media_type} "
            f"media type, but the image appears to be a {actual} image"
        )
    return None


def _document(where: str, source: Any) -> str | None:
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "url":
        url = source.get("url")  # type: ignore[union-attr]
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return f"{where}.document.source.url.url: URL must start with http:// or https://"
        return None
    if kind == "text":
        if isinstance(source.get("data"), str):  # type: ignore[union-attr]
            return None
        return f"{where}.document.source.text.data: Field required"
    if kind != "base64":
        return (
            f"{where}.document.source: Input tag '{kind}' found using 'type' does not match any "
            "of the expected tags: 'base64', 'content', 'text', 'url'"
        )
    if source.get("media_type") != "application/pdf":  # type: ignore[union-attr]
        return f"{where}.document.source.base64.media_type: Input should be 'application/pdf'"
    data = b64decode(source.get("data"))  # type: ignore[union-attr]
    if not data or not data.startswith(b"%PDF-"):
        return f"{where}.pdf.source.base64.data: The PDF specified was not valid."
    return None


def _results_match(i: int, content: list[Any], previous: Any) -> str | None:
    """Every ``tool_result`` answers a ``tool_use`` of the message just before."""
    before = previous.get("content") if isinstance(previous, dict) else None
    asked = {
        b.get("id")
        for b in (before if isinstance(before, list) else [])
        if isinstance(b, dict) and b.get("type") == "tool_use"
    }
    for j, block in enumerate(content):
        is_result = isinstance(block, dict) and block.get("type") == "tool_result"
        if is_result and block.get("tool_use_id") not in asked:
            return (
                f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` "
                f"blocks: {block.get('tool_use_id')}. Each `tool_result` block must have a "
                "corresponding `tool_use` block in the previous message."
            )
    return None


def _unanswered(i: int, calls: list[str], messages: list[Any]) -> str | None:
    """The calls of message ``i`` are each answered in the next message (if there is one)."""
    if not calls or i + 1 >= len(messages):
        return None
    following = messages[i + 1].get("content") if isinstance(messages[i + 1], dict) else None
    answered = {
        b.get("tool_use_id")
        for b in (following if isinstance(following, list) else [])
        if isinstance(b, dict) and b.get("type") == "tool_result"
    }
    missing = [c for c in calls if c not in answered]
    if missing:
        return (
            f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks "
            f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
            "corresponding `tool_result` block in the next message."
        )
    return None


def _tool_loop_thinking(messages: list[Any]) -> str | None:
    """With thinking on, the assistant turn before the final tool results starts with thinking."""
    if len(messages) < 2:
        return None
    last = messages[-1].get("content")
    if not isinstance(last, list) or not any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in last
    ):
        return None
    i = len(messages) - 2
    content = messages[i].get("content")
    first = content[0].get("type") if isinstance(content, list) and content else "text"
    if first in ("thinking", "redacted_thinking"):
        return None
    return (
        f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
        f"`{first}`. When `thinking` is enabled, a final `assistant` message must start with a "
        "thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). "
        "We recommend you include thinking blocks from previous turns. To avoid this "
        f"requirement, disable `thinking`. Please consult our documentation at {_DOCS}"
    )
