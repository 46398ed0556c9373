"""MCP resources and prompts as llmcore documents and messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmcore.exceptions import InvalidRequestError
from llmcore.models import ContextDocument, Message, Role

if TYPE_CHECKING:
    from llmcore.mcp.manager import MCPManager

__all__ = [
    "MCPResourceInfo",
    "get_prompt",
    "list_resources",
    "parse_resource_ref",
    "read_resource",
    "read_resources",
]


@dataclass(frozen=True, slots=True)
class MCPResourceInfo:
    """A resource an MCP server offers (what ``list_mcp_resources`` returns)."""

    server: str
    uri: str
    name: str
    description: str | None = None
    mime_type: str | None = None

    @property
    def ref(self) -> str:
        """The ``server:uri`` form that ``chat(mcp_resources=[...])`` takes."""
        return f"{self.server}:{self.uri}"


def parse_resource_ref(ref: str) -> tuple[str, str]:
    """Split ``"server:uri"`` (the URI may contain colons itself)."""
    server, sep, uri = ref.partition(":") if isinstance(ref, str) else ("", "", "")
    if not sep or not server or not uri:
        raise InvalidRequestError(
            f"MCP resource {ref!r} must look like 'server:uri', e.g. 'docs:file:///notes.md'."
        )
    return server, uri


async def list_resources(manager: MCPManager, server: str | None = None) -> list[MCPResourceInfo]:
    """The resources of one server, or of every server."""
    out: list[MCPResourceInfo] = []
    for name in [server] if server else manager.server_names:
        result = await manager.call(name, "resources/list", lambda c: c.list_resources())
        out.extend(
            MCPResourceInfo(name, str(r.uri), r.name, r.description, r.mime_type)
            for r in result.resources
        )
    return out


async def read_resource(manager: MCPManager, server: str, uri: str) -> ContextDocument:
    """Read one resource as a document (text parts joined; binary parts named)."""
    result = await manager.call(server, f"resources/read {uri}", lambda c: c.read_resource(uri))
    texts, mime = [], None
    for part in result.contents:
        mime = mime or getattr(part, "mime_type", None)
        text = getattr(part, "text", None)
        texts.append(text if text is not None else f"[binary content, {part.mime_type}]")
    return ContextDocument(
        id=f"{server}:{uri}",
        content="\n".join(texts),
        metadata={
            "source": uri,
            "uri": uri,
            "mcp_server": server,
            "mime_type": mime or "text/plain",
        },
        score=1.0,  # asked for by name: ranks above anything retrieved by similarity
    )


async def read_resources(manager: MCPManager, refs: Sequence[str]) -> list[ContextDocument]:
    """Read ``server:uri`` references, in order."""
    return [await read_resource(manager, *parse_resource_ref(ref)) for ref in refs]


async def get_prompt(
    manager: MCPManager, server: str, name: str, arguments: Mapping[str, str] | None = None
) -> list[Message]:
    """A server's prompt, rendered with ``arguments``, as messages ready to send."""
    args = {str(k): str(v) for k, v in (arguments or {}).items()}
    result = await manager.call(server, f"prompts/get {name}", lambda c: c.get_prompt(name, args))
    messages = []
    for prompt in result.messages:
        role = Role.ASSISTANT if prompt.role == "assistant" else Role.USER
        messages.append(Message(role=role, content=_text(prompt.content)))
    return messages


def _text(content: Any) -> str:
    if getattr(content, "type", None) == "resource":
        resource = content.resource
        body = getattr(resource, "text", None) or f"[binary content, {resource.mime_type}]"
        return f"Resource {resource.uri}:\n{body}"
    return str(getattr(content, "text", "") or f"[{getattr(content, 'type', 'content')}]")
