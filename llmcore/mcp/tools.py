"""MCP tools offered to the model, executed through their server.

A tool's result reaches the model whole (:mod:`llmcore.mcp.results`):
structured content as JSON, images and embedded resources as parts. A
structured result that does not match the output schema the tool declared
(the SDK checks it) is an error result for the model, not a failed turn.
When the server asks for input during the call and nobody can answer (no
``on_elicit`` handler), the result tells the model the tool needs input.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from llmcore.mcp.requests import CallScope, MCPContext
from llmcore.mcp.results import tool_result
from llmcore.tools.tool import ToolResult

if TYPE_CHECKING:
    from llmcore.mcp.manager import MCPManager

__all__ = ["MCPTool", "mcp_tools"]

SEPARATOR = "__"


class MCPTool:
    """One tool of an MCP server, named ``SERVER__TOOL`` for the model.

    Args:
        manager: the connections.
        server: the server's name.
        tool: the server's ``mcp.types.Tool``.
        context: the turn's handlers, providers and records, for the
            server's requests during a call.
    """

    def __init__(
        self, manager: MCPManager, server: str, tool: Any, context: MCPContext | None = None
    ):
        self.manager = manager
        self.server = server
        self.context = context
        self.tool_name: str = tool.name
        self.name = f"{server}{SEPARATOR}{tool.name}"[:64]
        self.description: str = tool.description or tool.name
        schema = dict(tool.input_schema or {"type": "object", "properties": {}})
        schema.pop("title", None)
        self.parameters: dict[str, Any] = schema
        self.output_schema: dict[str, Any] | None = tool.output_schema

    async def call(self, arguments: dict[str, Any]) -> ToolResult:
        """Call the tool on its server; its whole result goes to the model."""
        from llmcore.exceptions import MCPError

        scope = CallScope(self.server, self.context, tool=self.tool_name)
        try:
            result = await self.manager.call(
                self.server, f"tools/call {self.tool_name}", self._send(arguments), scope=scope
            )
        except MCPError:
            if scope.unanswered is None and scope.failure is None:
                raise
            result = None
        if scope.unanswered is not None:
            return _needs_input(self.name, scope)
        if scope.failure is not None:
            return ToolResult(f"Error: {self.name} could not go on: {scope.failure}.", True)
        if isinstance(result, _InvalidOutput):
            return ToolResult(f"Error: {result.reason}.", is_error=True)
        return tool_result(result, self.output_schema)

    def _send(self, arguments: dict[str, Any]) -> Any:
        async def send(client: Any) -> Any:
            from mcp.client import InputRequiredRoundsExceededError

            try:
                # No SDK read timeout: the call's own (paused while a person answers) bounds it.
                return await client.call_tool(
                    self.tool_name, arguments, read_timeout_seconds=math.inf
                )
            except InputRequiredRoundsExceededError:
                raise
            except RuntimeError as exc:
                if type(exc) is RuntimeError:  # the SDK's output-schema check
                    return _InvalidOutput(str(exc))
                raise

        return send

    def __repr__(self) -> str:
        return f"MCPTool({self.name!r})"


class _InvalidOutput:
    """A result the SDK refused: its structured content does not match the output schema."""

    def __init__(self, reason: str):
        self.reason = reason.rstrip(".")


def _needs_input(name: str, scope: CallScope) -> ToolResult:
    asked = scope.unanswered
    assert asked is not None
    fields = ", ".join(asked.fields) or "none listed"
    return ToolResult(
        f"Needs input: {name} asked the user {asked.message!r} (fields: {fields}), but this "
        "application cannot ask its user (no on_elicit handler), so the tool did not finish. "
        "Tell the user what the tool needs, or go on without it.",
        is_error=True,
    )


async def mcp_tools(
    manager: MCPManager, servers: list[str] | None, context: MCPContext | None = None
) -> list[MCPTool]:
    """The tools of the given servers (all known servers when None)."""
    names = manager.server_names if servers is None else servers
    tools: list[MCPTool] = []
    for server in names:
        manager.check(server)
        tools.extend(MCPTool(manager, server, t, context) for t in await manager.list_tools(server))
    return tools
