"""The Model Context Protocol: a client for servers' tools, resources and prompts,
the ``format_mcp`` rendering, and llmcore as a server (``llmchat mcp serve``).

Servers that ask for input mid-call are answered by the application's
:class:`MCPHandlers` (``on_elicit``); see :mod:`llmcore.mcp.handlers`.

Everything here imports the ``mcp`` SDK lazily (extra ``mcp``).
"""

from llmcore.mcp.context import MCPResourceInfo
from llmcore.mcp.format import MCPPayload
from llmcore.mcp.handlers import Elicitation, ElicitationAnswer, MCPHandlers
from llmcore.mcp.manager import MCPManager

__all__ = [
    "Elicitation",
    "ElicitationAnswer",
    "MCPHandlers",
    "MCPManager",
    "MCPPayload",
    "MCPResourceInfo",
]
