"""The context as Model Context Protocol types, and back.

With ``enable_mcp`` (or a provider's ``use_mcp``), the ``format_mcp``
stage renders the payload as MCP SDK types:

- system message(s) and the summary: ``TextContent`` in ``MCPPayload.system``
  (MCP prompts have no system role);
- user and assistant messages: ``PromptMessage(role, TextContent)``;
- tool results: ``PromptMessage("user", TextContent)``;
- each retrieved document or MCP resource: ``PromptMessage("user",
  EmbeddedResource(TextResourceContents(uri, mime_type, text)))``.

Every content block carries ``meta["llmcore"]`` (the message's id, role,
metadata and exact text), so :func:`from_mcp` restores the very messages
llmcore would have sent; payloads without it (from elsewhere) convert by
their MCP roles, resources becoming user messages that cite their URI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from llmcore.models import ContextDocument, Message, Role
from llmcore.parts import Part

__all__ = ["MCPPayload", "document_uri", "from_mcp", "to_mcp"]


@dataclass(slots=True)
class MCPPayload:
    """A turn's context as MCP types: system text, then prompt messages."""

    system: list[Any] = field(default_factory=list)  # mcp.types.TextContent
    messages: list[Any] = field(default_factory=list)  # mcp.types.PromptMessage


def document_uri(doc: ContextDocument) -> str:
    """The URI a document is known by: its own ``uri``, else ``llmcore://documents/ID``."""
    uri = doc.metadata.get("uri")
    return str(uri) if uri else f"llmcore://documents/{doc.id}"


def _meta_kwarg(meta: dict[str, Any]) -> Any:
    # The SDK's models take ``meta`` through its wire alias ``_meta``.
    return {"_meta": meta}


def _meta(message: Message) -> dict[str, Any]:
    own: dict[str, Any] = {
        "id": message.id,
        "role": message.role.value,
        "content": message.content,
        "metadata": message.metadata,
    }
    if not message.has_only_text:  # tool calls and results, images...: kept exactly
        own["parts"] = msgspec.to_builtins(message.current_parts())
    return {"llmcore": own}


def to_mcp(payload: Sequence[Message], documents: Sequence[ContextDocument]) -> MCPPayload:
    """Render a payload (and the documents rendered into it) as MCP types."""
    from mcp import types

    by_id = {d.id: d for d in documents}
    out = MCPPayload()
    for message in payload:
        meta = _meta(message)
        docs = [by_id[i] for i in message.metadata.get("documents", ()) if i in by_id]
        for n, doc in enumerate(docs):
            marker: dict[str, Any] = {"document": doc.id, "score": doc.score, "in": message.id}
            if n == 0 and message.role is Role.SYSTEM:
                marker["message"] = meta["llmcore"]  # the rendered message they replace
            resource = types.TextResourceContents(
                uri=document_uri(doc),
                mime_type=str(doc.metadata.get("mime_type", "text/plain")),
                text=doc.content,
            )
            out.messages.append(
                types.PromptMessage(
                    role="user",
                    content=types.EmbeddedResource(
                        type="resource",
                        resource=resource,
                        **_meta_kwarg({"llmcore": marker}),
                    ),
                )
            )
        shown = str(message.metadata.get("question", message.content))
        text = types.TextContent(type="text", text=shown, **_meta_kwarg(meta))
        if message.role is Role.SYSTEM:
            if not docs:  # a documents message is represented by its resources alone
                out.system.append(text)
        else:
            role: Literal["user", "assistant"] = (
                "assistant" if message.role is Role.ASSISTANT else "user"
            )
            out.messages.append(types.PromptMessage(role=role, content=text))
    return out


def from_mcp(payload: MCPPayload) -> list[Message]:
    """Turn an MCP payload back into the messages a provider sends."""
    messages = [_restore(block, Role.SYSTEM) for block in payload.system]
    for prompt in payload.messages:
        content = prompt.content
        own = (getattr(content, "meta", None) or {}).get("llmcore", {})
        if "in" in own:
            if "message" in own:  # the documents' system message, as llmcore rendered it
                messages.append(_from_meta(own["message"]))
            continue  # other documents are part of a message restored elsewhere
        if getattr(content, "type", None) == "resource":
            resource = content.resource
            text = getattr(resource, "text", None) or f"[binary resource {resource.mime_type}]"
            messages.append(Message(role=Role.USER, content=f"Resource {resource.uri}:\n{text}"))
            continue
        role = Role.ASSISTANT if prompt.role == "assistant" else Role.USER
        messages.append(_restore(content, role))
    return messages


def _restore(block: Any, role: Role) -> Message:
    own = (getattr(block, "meta", None) or {}).get("llmcore")
    if own:
        return _from_meta(own)
    return Message(role=role, content=getattr(block, "text", ""))


def _from_meta(own: dict[str, Any]) -> Message:
    parts = msgspec.convert(own["parts"], list[Part]) if own.get("parts") else []
    return Message(
        role=Role(own["role"]),
        content=own["content"],
        parts=parts,
        id=own["id"],
        metadata=dict(own.get("metadata") or {}),
    )
