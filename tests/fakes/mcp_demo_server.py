"""A real MCP server (the SDK's MCPServer) used by the MCP tests.

Imported for in-process use, run as a script for stdio
(``python mcp_demo_server.py``), or served over streamable HTTP
(``python mcp_demo_server.py --http PORT``).
"""

from __future__ import annotations

import os
import sys
import time

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("demo")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


@server.tool()
def broken() -> str:
    """Always fails, saying why (a ToolError's text reaches the client)."""
    raise ToolError("the broken tool broke")


@server.tool()
def wait(seconds: float) -> str:
    """Blocks the whole server for a while (to test timeouts)."""
    time.sleep(seconds)
    return "waited"


@server.tool()
def crash() -> str:
    """Kills the server process (to test reconnection)."""
    os._exit(3)


@server.resource("notes://today", mime_type="text/plain")
def today() -> str:
    """Today's notes."""
    return "Buy oat milk and call Ada about the llmcore release."


@server.resource("notes://long", mime_type="text/markdown")
def long_notes() -> str:
    """A long document."""
    return "# Long notes\n\n" + "This line is filler text for truncation tests. " * 120


@server.prompt()
def review(code: str) -> str:
    """Ask for a code review."""
    return f"Please review this code:\n\n{code}"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        import uvicorn

        uvicorn.run(
            server.streamable_http_app(), host="127.0.0.1", port=int(sys.argv[2]), log_level="error"
        )
    else:
        server.run()
