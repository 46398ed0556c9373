"""Tools the model can call: Python functions, tool objects, MCP tools."""

from llmcore.tools.tool import Tool, ToolResult, as_tool, tool

__all__ = ["Tool", "ToolResult", "as_tool", "tool"]
