"""The Model Context Protocol: a client for servers' tools, resources and prompts,
the ``format_mcp`` rendering, and llmcore as a server (``llmchat mcp serve``).

Everything here imports the ``mcp`` SDK lazily (extra ``mcp``).
"""

from llmcore.mcp.context import MCPResourceInfo
from llmcore.mcp.format import MCPPayload
from llmcore.mcp.manager import MCPManager

__all__ = ["MCPManager", "MCPPayload", "MCPResourceInfo"]
