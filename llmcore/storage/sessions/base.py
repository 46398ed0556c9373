"""The session store interface.

A store keeps sessions as an append-only log of messages plus a small
header (name, timestamps, metadata). A turn *appends* its messages; nothing
rewrites a whole session to add one. Readers can page through the newest
messages without loading the rest, so a turn's cost does not grow with the
session's length.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from llmcore.exceptions import InvalidRequestError
from llmcore.models import ChatSession, Message, Role, SessionInfo

__all__ = [
    "MAX_SESSION_ID_LENGTH",
    "BaseSessionStorage",
    "MessagePage",
    "check_limit",
    "check_messages",
    "check_metadata",
    "check_session_id",
    "encode_metadata",
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


_MAX_DEPTH = 64
_JSON_DATA = (
    "store only JSON data: dicts with str keys, lists, str, int, finite float, bool and None"
)
_encode = msgspec.json.encode


def _json_problem(value: object, where: str, depth: int = 0) -> str | None:
    """Why ``value`` is not JSON data that reads back as it was, or None if it is.

    msgspec (and json) would quietly turn a set or tuple into a list, bytes
    into base64 text, an int key into a string and NaN into null: stored
    metadata must read back equal to what was stored, so those are refused.
    """
    if value is None or isinstance(value, str | bool | int):
        return None
    if depth >= _MAX_DEPTH:
        return f"{where} is nested more than {_MAX_DEPTH} levels deep (or contains itself)"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where} is {value!r}, which JSON cannot hold"
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where} has the key {key!r:.40}, a {type(key).__name__}, not a str"
            problem = _json_problem(item, f"{where}[{key!r:.40}]", depth + 1)
            if problem:
                return problem
        return None
    if isinstance(value, list):
        for i, item in enumerate(value):
            problem = _json_problem(item, f"{where}[{i}]", depth + 1)
            if problem:
                return problem
        return None
    return f"{where} is a {type(value).__name__} ({value!r:.40})"


def check_metadata(
    metadata: object,
    *,
    backend: str = "",
    session_id: str | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    """Return ``metadata`` (``{}`` for None) if it is JSON data, else raise.

    Every store calls this (or :func:`encode_metadata`) before it writes a
    session's or a message's metadata, so bad metadata never reaches the
    storage: a dict with str keys whose values are dicts, lists, str, int,
    finite float, bool or None. Sets, tuples, bytes, datetimes and other
    objects are refused rather than stored as something else.

    Raises:
        InvalidRequestError: naming the session, the message and the
            offending key (e.g. ``metadata['usage']['raw']``).
    """
    if metadata is None:
        return {}
    if isinstance(metadata, dict):
        problem = _json_problem(metadata, "metadata")
        if problem is None:
            return metadata
    else:
        problem = f"metadata is a {type(metadata).__name__}, not a dict"
    owner = f"message {message_id!r:.80} of session" if message_id is not None else "session"
    where = f" ({backend} session store)" if backend else ""
    raise InvalidRequestError(
        f"Invalid metadata for {owner} {session_id!r:.80}{where}: {problem}; nothing was "
        f"stored. {_JSON_DATA} (e.g. convert a set or tuple with list(), a datetime with "
        ".isoformat())."
    )


def encode_metadata(
    metadata: object,
    *,
    backend: str = "",
    session_id: str | None = None,
    message_id: str | None = None,
) -> bytes:
    """Check ``metadata`` as :func:`check_metadata` does and return it as JSON bytes."""
    return _encode(
        check_metadata(metadata, backend=backend, session_id=session_id, message_id=message_id)
    )


def _message_problem(m: Message) -> str | None:
    if not isinstance(m.role, Role):
        return f"role is {m.role!r:.40}, not a Role"
    if not isinstance(m.content, str):
        return f"content is a {type(m.content).__name__}, not a str"
    if not isinstance(m.id, str) or not m.id:
        return f"id is {m.id!r:.40}, not a non-empty str"
    if not isinstance(m.timestamp, datetime):
        return f"timestamp is a {type(m.timestamp).__name__}, not a datetime"
    if m.tokens is not None and (not isinstance(m.tokens, int) or isinstance(m.tokens, bool)):
        return f"tokens is {m.tokens!r:.40}, not an int or None"
    if m.tokens_by is not None and not isinstance(m.tokens_by, str):
        return f"tokens_by is {m.tokens_by!r:.40}, not a str or None"
    return None


def check_messages(
    session_id: str, messages: Sequence[Message], *, backend: str = ""
) -> list[Message]:
    """Return ``messages`` as a list if every one can be stored as it is, else raise.

    A store's ``append_messages`` calls this before it writes anything: each
    item is a :class:`~llmcore.models.Message` whose fields have their
    declared types (msgspec does not check them when a ``Message`` is built)
    and whose metadata passes :func:`check_metadata`. Stores encode the
    metadata once afterwards, as part of their own write.

    Raises:
        InvalidRequestError: naming the session, the message and the problem.
    """
    batch = list(messages)
    where = f" ({backend} session store)" if backend else ""
    for m in batch:
        problem = (
            f"a {type(m).__name__} is not a Message"
            if not isinstance(m, Message)
            else _message_problem(m)
        )
        if problem is not None:
            raise InvalidRequestError(
                f"Cannot append to session {session_id!r:.80}{where}: message "
                f"{getattr(m, 'id', '?')!r:.80} {problem}; nothing was stored."
            )
        if m.metadata:
            check_metadata(m.metadata, backend=backend, session_id=session_id, message_id=m.id)
    return batch


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

    Bad arguments raise :class:`~llmcore.exceptions.InvalidRequestError`
    before anything is written; a store checks them with this module's
    :func:`check_session_id`, :func:`check_messages` (in ``append_messages``)
    and :func:`check_metadata` / :func:`encode_metadata` (in
    ``ensure_session`` and ``update_session``), as the built-in stores do.
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
        """Append messages to a session (created if absent), in order, atomically.

        Raises:
            InvalidRequestError: a bad session id or message (see
                :func:`check_messages`); nothing is stored.
        """

    async def append_turn(
        self,
        session_id: str,
        messages: Sequence[Message],
        *,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Append a turn's messages and merge ``metadata`` into the session, in one write.

        What the ``persist`` stage calls (a summary made this turn is saved
        with the turn's messages). The built-in stores do both atomically;
        this default, for stores from other packages, appends and then
        updates.
        """
        await self.append_messages(session_id, messages)
        if metadata:
            await self.update_session(session_id, metadata=metadata)

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
