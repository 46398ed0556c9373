"""llmcore as an MCP server (``llmchat mcp serve``).

Other MCP clients (Claude Desktop, IDEs, agents) can use a configured
llmcore through:

- the tool ``chat(message, session_id?, provider?, model?, system_message?)``:
  one turn through the default pipeline, with sessions kept;
- the tool ``search_documents(query, k?, collection?)``: a vector search
  (RAG must be configured);
- the resource ``llmcore://sessions``: the stored sessions (JSON), and the
  template ``llmcore://sessions/{session_id}``: one session as Markdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from llmcore.api import LLMCore

__all__ = ["build_server"]


def build_server(llm: LLMCore) -> Any:
    """An ``MCPServer`` exposing ``llm``; it closes ``llm`` when it stops."""
    from mcp.server.mcpserver import MCPServer

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await llm.close()

    server: MCPServer[None] = MCPServer(
        "llmcore",
        instructions="Chat with the LLMs and search the documents configured in this llmcore.",
        lifespan=lifespan,
    )

    @server.tool()
    async def chat(
        message: str,
        session_id: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        system_message: str | None = None,
    ) -> str:
        """Send a message to an LLM through llmcore and return its reply.

        Args:
            message: The message to send.
            session_id: A session to continue (created if new); omit for a one-off question.
            provider: A configured provider name (default: llmcore's default provider).
            model: A model name (default: the provider's default model).
            system_message: A system message for this turn.
        """
        return await llm.chat(
            message,
            session_id=session_id,
            provider_name=provider,
            model_name=model,
            system_message=system_message,
            mcp_servers=[],  # never call back into MCP servers from here
        )

    @server.tool()
    async def search_documents(query: str, k: int = 3, collection: str | None = None) -> str:
        """Search llmcore's vector store for documents similar to a query.

        Args:
            query: What to look for.
            k: How many documents to return.
            collection: The collection to search (default: the configured default).
        """
        documents = await llm.search_vector_store(query, k=k, collection_name=collection)
        found = [
            {"id": d.id, "score": d.score, "content": d.content, "metadata": d.metadata}
            for d in documents
        ]
        return msgspec.json.encode(found).decode()

    @server.resource("llmcore://sessions", mime_type="application/json")
    async def sessions() -> str:
        """The stored chat sessions (id, name, dates, message count)."""
        return msgspec.json.encode(await llm.list_sessions()).decode()

    @server.resource("llmcore://sessions/{session_id}", mime_type="text/markdown")
    async def session(session_id: str) -> str:
        """One stored chat session, as Markdown."""
        found = await llm.get_session(session_id)
        if found is None:
            raise ValueError(f"No session named {session_id!r}.")
        lines = [f"# {found.name or found.id}", ""]
        for message in found.messages:
            lines += [f"**{message.role.value}**: {message.content}", ""]
        return "\n".join(lines)

    return server
