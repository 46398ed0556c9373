"""MCP tools offered to the model, executed through their server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmcore.tools.tool import ToolResult

if TYPE_CHECKING:
    from llmcore.mcp.manager import MCPManager

__all__ = ["MCPTool", "mcp_tools"]

SEPARATOR = "__"


class MCPTool:
    """One tool of an MCP server, named ``SERVER__TOOL`` for the model."""

    def __init__(self, manager: MCPManager, server: str, tool: Any):
        self.manager = manager
        self.server = server
        self.tool_name: str = tool.name
        self.name = f"{server}{SEPARATOR}{tool.name}"[:64]
        self.description: str = tool.description or tool.name
        schema = dict(tool.input_schema or {"type": "object", "properties": {}})
        schema.pop("title", None)
        self.parameters: dict[str, Any] = schema

    async def call(self, arguments: dict[str, Any]) -> ToolResult:
        """Call the tool on its server; the text parts of the result go to the model."""
        result = await self.manager.call(
            self.server,
            f"tools/call {self.tool_name}",
            lambda client: client.call_tool(self.tool_name, arguments),
        )
        return ToolResult(_text_of(result.content), is_error=bool(result.is_error))

    def __repr__(self) -> str:
        return f"MCPTool({self.name!r})"


async def mcp_tools(manager: MCPManager, servers: list[str] | None) -> list[MCPTool]:
    """The tools of the given servers (all known servers when None)."""
    names = manager.server_names if servers is None else servers
    tools: list[MCPTool] = []
    for server in names:
        manager.check(server)
        tools.extend(MCPTool(manager, server, t) for t in await manager.list_tools(server))
    return tools


def _text_of(content: list[Any]) -> str:
    parts = []
    for block in content:
        text = getattr(block, "text", None)
        if text is None and getattr(block, "resource", None) is not None:
            text = getattr(block.resource, "text", None)
        parts.append(text if text is not None else f"[{getattr(block, 'type', 'content')}]")
    return "\n".join(parts)
