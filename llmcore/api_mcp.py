"""LLMCore's Model Context Protocol methods: servers, resources, prompts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from llmcore.models import ContextDocument, Message

if TYPE_CHECKING:
    from llmcore.mcp.context import MCPResourceInfo
    from llmcore.services import Services

__all__ = ["MCPMethods"]


class MCPMethods:
    """The MCP part of :class:`~llmcore.LLMCore` (tools are offered by ``chat``)."""

    _services: Services

    def add_mcp_server(self, name: str, server: Any, *, timeout: float = 30.0) -> None:
        """Use an MCP server not in the config: an in-process ``MCPServer``,
        a streamable HTTP URL, or ``mcp.StdioServerParameters``."""
        self._services.mcp.add_server(name, server, timeout=timeout)

    async def list_mcp_resources(self, server: str | None = None) -> list[MCPResourceInfo]:
        """The resources of one MCP server, or of all of them.

        Raises:
            MCPError: a server is unknown or failed.
        """
        from llmcore.mcp.context import list_resources

        return await list_resources(self._services.mcp, server)

    async def read_mcp_resource(self, server: str, uri: str) -> ContextDocument:
        """Read one MCP resource as a document (``content``, ``metadata["mime_type"]``)."""
        from llmcore.mcp.context import read_resource

        return await read_resource(self._services.mcp, server, uri)

    async def get_mcp_prompt(
        self, server: str, name: str, arguments: Mapping[str, str] | None = None
    ) -> list[Message]:
        """An MCP server's prompt, filled with ``arguments``, as messages ready to send."""
        from llmcore.mcp.context import get_prompt

        return await get_prompt(self._services.mcp, server, name, arguments)
