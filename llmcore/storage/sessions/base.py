"""The session store interface.

A store keeps sessions as an append-only log of messages plus a small
header (name, timestamps, metadata). A turn *appends* its messages; nothing
rewrites a whole session to add one. Readers can page through the newest
messages without loading the rest, so a turn's cost does not grow with the
session's length.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmcore.models import ChatSession, Message, SessionInfo

__all__ = ["BaseSessionStorage", "MessagePage"]


@dataclass(slots=True)
class MessagePage:
    """A page of a session's messages, oldest first.

    Attributes:
        messages: the messages of this page, oldest first.
        next_before: pass as ``before`` to read the page before this one;
            ``None`` when this page reaches the start of the session.
    """

    messages: list[Message]
    next_before: int | None


class BaseSessionStorage(ABC):
    """Base class of session stores (SQLite, JSON, PostgreSQL...).

    Every method is async and safe to call from concurrent tasks. A failure
    raises :class:`~llmcore.exceptions.SessionStorageError` naming the backend
    and the operation, and leaves stored data as it was.
    """

    #: The ``[storage.session] type`` this class implements.
    backend: str = ""

    async def initialize(self) -> None:
        """Open connections and create the schema; called once before use."""
        return None

    async def close(self) -> None:
        """Release connections; the store may not be used afterwards."""
        return None

    @abstractmethod
    async def ensure_session(
        self,
        session_id: str,
        *,
        name: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> tuple[SessionInfo, bool]:
        """Return the session's header, creating the session if absent.

        Returns:
            The header, and whether the session was created by this call.
        """

    @abstractmethod
    async def append_messages(self, session_id: str, messages: Sequence[Message]) -> None:
        """Append messages to a session (created if absent), in order, atomically."""

    @abstractmethod
    async def read_recent(
        self, session_id: str, *, limit: int, before: int | None = None
    ) -> MessagePage:
        """Read up to ``limit`` of the newest messages older than ``before``."""

    @abstractmethod
    async def read_system_messages(self, session_id: str) -> list[Message]:
        """Read the session's system messages, oldest first."""

    @abstractmethod
    async def get_session(self, session_id: str) -> ChatSession | None:
        """Load a whole session with its messages, or None if absent."""

    @abstractmethod
    async def get_session_info(self, session_id: str) -> SessionInfo | None:
        """Load a session's header (no messages), or None if absent."""

    @abstractmethod
    async def list_sessions(
        self, *, limit: int | None = None, offset: int = 0
    ) -> list[SessionInfo]:
        """List session headers, most recently updated first."""

    @abstractmethod
    async def delete_session(self, session_id: str) -> bool:
        """Delete a session and its messages; False if it did not exist."""

    @abstractmethod
    async def update_session(
        self,
        session_id: str,
        *,
        name: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> bool:
        """Rename a session and/or merge keys into its metadata; False if absent."""
