"""The session store interface.

A store keeps sessions as an append-only log of messages plus a small
header (name, timestamps, metadata). A turn *appends* its messages; nothing
rewrites a whole session to add one. Readers can page through the newest
messages without loading the rest, so a turn's cost does not grow with the
session's length.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmcore.exceptions import InvalidRequestError
from llmcore.models import ChatSession, Message, SessionInfo

__all__ = [
    "MAX_SESSION_ID_LENGTH",
    "BaseSessionStorage",
    "MessagePage",
    "check_limit",
    "check_session_id",
]

MAX_SESSION_ID_LENGTH = 200
_SESSION_ID = re.compile(rf"[^\x00-\x1f\x7f]{{1,{MAX_SESSION_ID_LENGTH}}}")


def check_session_id(session_id: object, *, backend: str = "") -> str:
    """Return ``session_id`` if it is a valid session id, else raise.

    Every store checks ids itself (not only the :class:`~llmcore.LLMCore`
    facade), so a store used directly is just as safe: an id is a string of
    1 to 200 characters without control characters (NUL included).

    Raises:
        InvalidRequestError: the id is not valid.
    """
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
        where = f" for the {backend} session store" if backend else ""
        raise InvalidRequestError(
            f"Invalid session id {session_id!r:.80}{where}: use a string of 1 to "
            f"{MAX_SESSION_ID_LENGTH} characters without control characters (e.g. 'tutor-1')."
        )
    return session_id


def check_limit(limit: object, *, backend: str = "") -> int:
    """Return ``limit`` if it is a positive integer (a page size), else raise.

    Raises:
        InvalidRequestError: ``limit`` is not a positive integer.
    """
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        where = f" ({backend} session store)" if backend else ""
        raise InvalidRequestError(f"limit must be a positive integer, got {limit!r}{where}.")
    return limit


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
        """Read up to ``limit`` of the newest messages older than ``before``.

        ``before`` is an opaque cursor: pass the ``next_before`` of the page
        read last. Only the page is read, never the whole session.
        """

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
