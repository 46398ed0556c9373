"""llmcore as an MCP server (``llmchat mcp serve``).

Other MCP clients (Claude Desktop, IDEs, agents) can use a configured
llmcore through:

- the tool ``chat(message, session_id?, provider?, model?, system_message?)``:
  one turn through the default pipeline. It continues only sessions that this
  server created (recorded in the session's metadata as
  ``{"created_by": "mcp-serve"}``), unless ``sessions_writable``;
- the tool ``search_documents(query, k?, collection?)``: a vector search
  (RAG must be configured);
- the prompt ``context(message, session_id?, collection?)``: the context
  llmcore would send a model for ``message`` (its history selection,
  retrieval from ``collection``, the window fitted), as MCP prompt messages,
  sent nowhere and stored nowhere (:meth:`llmcore.LLMCore.prepare_context`).
  System text comes first, as user messages whose ``_meta.llmcore.role`` is
  ``system`` (MCP prompts have no system role); a ``session_id`` needs
  ``sessions=True``, since the history is the session's content;
- with ``sessions=True`` only, the resource ``llmcore://sessions``: the
  stored sessions (JSON), and the template ``llmcore://sessions/{session_id}``:
  one session as Markdown. Both are read only.

A tool that fails with an llmcore error returns that error's message as the
tool error (``isError``), so the client learns the cause, not only which
tool failed. Who may connect over HTTP is :mod:`llmcore.mcp.serve_http`'s job.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import msgspec

from llmcore.exceptions import LLMCoreError
from llmcore.storage.sessions.base import check_session_id

if TYPE_CHECKING:
    from llmcore.api import LLMCore

__all__ = ["CREATED_BY", "SessionOwnership", "build_server", "context_messages"]

#: The ``created_by`` metadata of the sessions that ``chat`` created.
CREATED_BY = "mcp-serve"


class SessionOwnership:
    """Which sessions the ``chat`` tool may write to.

    A session belongs to the server when its metadata says
    ``created_by = "mcp-serve"`` (persisted, so a restarted server still knows
    its sessions), or while this server is creating it. Others are refused
    unless ``writable``.
    """

    def __init__(self, llm: LLMCore, *, writable: bool = False):
        self.llm = llm
        self.writable = writable
        self._creating: set[str] = set()

    async def check(self, session_id: str) -> bool:
        """True if the session is new (claim it after the turn); raise if it is not ours."""
        from mcp.server.mcpserver.exceptions import ToolError

        check_session_id(session_id)
        if session_id in self._creating:
            return False
        store = await self.llm.services.session_store()
        info = await store.get_session_info(session_id)
        if info is None:
            self._creating.add(session_id)
            return True
        if self.writable or info.metadata.get("created_by") == CREATED_BY:
            return False
        raise ToolError(
            f"Session {session_id!r} was not created through this MCP server, so chat may "
            "not write to it. Use another session_id (a new one is created), or start the "
            "server with --sessions-writable."
        )

    async def claim(self, session_id: str) -> None:
        """Record a session created by this server (if its turn stored anything)."""
        try:
            with anyio.CancelScope(shield=True):
                store = await self.llm.services.session_store()
                await store.update_session(session_id, metadata={"created_by": CREATED_BY})
        finally:
            self._creating.discard(session_id)


async def context_messages(
    llm: LLMCore,
    message: str,
    session_id: str | None = None,
    collection: str | None = None,
    *,
    sessions_readable: bool = False,
) -> list[Any]:
    """The ``context`` prompt: what llmcore would send for ``message``, as prompt messages.

    Raises:
        mcp.shared.exceptions.MCPError: invalid arguments, or an llmcore
            error (its message is the client's error).
    """
    from mcp.server.mcpserver.prompts.base import Message
    from mcp.shared.exceptions import MCPError
    from mcp.types import INVALID_PARAMS

    from llmcore.mcp.format import to_mcp

    if session_id and not sessions_readable:
        raise MCPError(
            INVALID_PARAMS,
            "This server does not publish stored sessions, so the context prompt cannot read "
            "one: leave session_id out, or start the server with --sessions.",
        )
    try:
        turn = await llm.prepare_context(
            message,
            session_id=session_id or None,
            enable_rag=bool(collection),
            rag_collection_name=collection or None,
        )
    except LLMCoreError as exc:
        raise MCPError(INVALID_PARAMS, str(exc)) from exc
    payload = turn.mcp_payload or to_mcp(turn.payload, turn.documents)
    system = [Message(role="user", content=block) for block in payload.system]
    return [*system, *(Message(role=p.role, content=p.content) for p in payload.messages)]


def build_server(llm: LLMCore, *, sessions: bool = False, sessions_writable: bool = False) -> Any:
    """An ``MCPServer`` exposing ``llm``; it closes ``llm`` when it stops.

    Args:
        llm: The configured llmcore to serve.
        sessions: Publish the stored sessions as read-only resources.
        sessions_writable: Let ``chat`` continue any stored session, not only
            the ones it created.
    """
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError

    ownership = SessionOwnership(llm, writable=sessions_writable)

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
        try:
            new = session_id is not None and await ownership.check(session_id)
            try:
                return await llm.chat(
                    message,
                    session_id=session_id,
                    provider_name=provider,
                    model_name=model,
                    system_message=system_message,
                    mcp_servers=[],  # never call back into MCP servers from here
                )
            finally:
                if new and session_id is not None:
                    await ownership.claim(session_id)
        except LLMCoreError as exc:
            raise ToolError(str(exc)) from exc

    @server.tool()
    async def search_documents(query: str, k: int = 3, collection: str | None = None) -> str:
        """Search llmcore's vector store for documents similar to a query.

        Args:
            query: What to look for.
            k: How many documents to return.
            collection: The collection to search (default: the configured default).
        """
        try:
            documents = await llm.search_vector_store(query, k=k, collection_name=collection)
        except LLMCoreError as exc:
            raise ToolError(str(exc)) from exc
        found = [
            {"id": d.id, "score": d.score, "content": d.content, "metadata": d.metadata}
            for d in documents
        ]
        return msgspec.json.encode(found).decode()

    @server.prompt()
    async def context(
        message: str, session_id: str | None = None, collection: str | None = None
    ) -> list[Any]:
        """The context llmcore would send a model for a message, as prompt messages.

        Args:
            message: The user's message.
            session_id: A stored session whose history to select from.
            collection: A vector-store collection to retrieve documents from.
        """
        return await context_messages(
            llm, message, session_id, collection, sessions_readable=sessions
        )

    if not sessions:
        return server

    @server.resource("llmcore://sessions", mime_type="application/json")
    async def list_sessions() -> str:
        """The stored chat sessions (id, name, dates, message count)."""
        return msgspec.json.encode(await llm.list_sessions()).decode()

    @server.resource("llmcore://sessions/{session_id}", mime_type="text/markdown")
    async def session(session_id: str) -> str:
        """One stored chat session, as Markdown."""
        try:
            found = await llm.get_session(session_id)
        except LLMCoreError as exc:
            raise ResourceError(str(exc)) from exc
        if found is None:
            raise ResourceNotFoundError(f"No session named {session_id!r}.")
        lines = [f"# {found.name or found.id}", ""]
        for message in found.messages:
            lines += [f"**{message.role.value}**: {message.content}", ""]
        return "\n".join(lines)

    return server
