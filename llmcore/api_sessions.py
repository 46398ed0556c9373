"""LLMCore's session methods: get, list, delete, rename stored sessions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmcore._util.awaitable import must_await
from llmcore.exceptions import InvalidRequestError
from llmcore.models import ChatSession, SessionInfo
from llmcore.storage.sessions.base import check_session_id

if TYPE_CHECKING:
    from llmcore.pipeline.stream import StreamRegistry
    from llmcore.services import Services

__all__ = ["SessionMethods"]


class SessionMethods:
    """The stored-session part of :class:`~llmcore.LLMCore`.

    The methods are async: ``await llm.list_sessions()``. Used without
    ``await``, what they return raises a ``TypeError`` saying so at its
    first use (see :mod:`llmcore._util.awaitable`).
    """

    _services: Services
    _streams: StreamRegistry

    @must_await
    async def get_session(self, session_id: str) -> ChatSession | None:
        """Load a session with all its messages, or None if it does not exist.

        A stream of the session that was dropped unfinished is saved first.
        """
        check_session_id(session_id)
        await self._streams.settle(session_id, close_open=False)
        store = await self._services.session_store()
        return await store.get_session(session_id)

    @must_await
    async def list_sessions(
        self, *, limit: int | None = None, offset: int = 0
    ) -> list[SessionInfo]:
        """List sessions (metadata only), most recently updated first."""
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise InvalidRequestError(
                f"limit must be a non-negative integer or None, got {limit!r}."
            )
        if not isinstance(offset, int) or offset < 0:
            raise InvalidRequestError(f"offset must be a non-negative integer, got {offset!r}.")
        store = await self._services.session_store()
        return await store.list_sessions(limit=limit, offset=offset)

    @must_await
    async def delete_session(self, session_id: str) -> bool:
        """Delete a session; True if it existed.

        An unfinished stream of the session is finished first, so it cannot
        write the session back after the delete.
        """
        check_session_id(session_id)
        await self._streams.settle(session_id)
        store = await self._services.session_store()
        return await store.delete_session(session_id)

    @must_await
    async def rename_session(self, session_id: str, name: str) -> bool:
        """Give a session a display name; True if it exists."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidRequestError("name must be a non-empty string.")
        store = await self._services.session_store()
        return await store.update_session(check_session_id(session_id), name=name)
