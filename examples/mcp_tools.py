"""MCP tools: an MCP server's tools offered to the model, run through MCP.

The server here is a tiny in-process ``MCPServer`` from the ``mcp`` SDK;
a configured one (``[mcp.servers.NAME]`` with a ``command`` or a ``url``)
works the same way. Needs ``pip install "llmcore[openai,mcp]"`` and a
provider that supports tool calling::

    OPENAI_API_KEY=sk-... python examples/mcp_tools.py
"""

from __future__ import annotations

import sys

import anyio
from mcp.server.mcpserver import MCPServer

from llmcore import LLMCore, LLMCoreError, Role

inventory = MCPServer("inventory")
STOCK = {"apples": 12, "pears": 0, "plums": 40}


@inventory.tool()
def stock_level(item: str) -> int:
    """How many of an item are in stock (0 when none or unknown)."""
    return STOCK.get(item.lower(), 0)


@inventory.resource("inventory://items", mime_type="text/plain")
def items() -> str:
    """The items the shop sells."""
    return ", ".join(STOCK)


async def main() -> None:
    async with LLMCore() as llm:
        llm.add_mcp_server("inventory", inventory)  # its tools: inventory__stock_level
        turn = await llm.chat_turn(
            "How many apples and how many pears do we have in stock?",
            session_id="mcp-demo",
            mcp_servers=["inventory"],
        )
        for message in turn.new_messages:
            if message.role is Role.TOOL:
                print(f"tool result: {message.content}")
        print(f"Reply: {turn.response.text}")

        # Resources can join a turn as context documents, too.
        reply = await llm.chat(
            "Which items do we sell?", mcp_resources=["inventory:inventory://items"]
        )
        print(f"Reply: {reply}")


if __name__ == "__main__":
    try:
        anyio.run(main)
    except LLMCoreError as exc:
        sys.exit(f"Error: {exc}")
