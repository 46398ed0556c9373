"""The records llmcore stores and returns: messages, sessions, documents, usage.

They are msgspec Structs: cheap to create, typed, and serialisable to JSON
and back without a schema layer in between (storage backends rely on that).
"""

from __future__ import annotations

import enum
import os
from datetime import UTC, datetime
from typing import Any

import msgspec

__all__ = [
    "ChatSession",
    "ContextDocument",
    "Message",
    "Role",
    "SessionInfo",
    "ToolCall",
    "Usage",
    "new_id",
    "utcnow",
]


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def new_id() -> str:
    """Return a new random identifier (128 random bits as 32 hex digits)."""
    # os.urandom rather than uuid: importing uuid costs ~5 ms of import time.
    return os.urandom(16).hex()


class Role(enum.StrEnum):
    """Who said a message."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class ToolCall(msgspec.Struct, kw_only=True):
    """A model's request to call a tool.

    Attributes:
        id: the provider's id for the call, kept so the result can refer to it.
        name: the tool's name.
        arguments: the parsed JSON arguments.
    """

    id: str
    name: str
    arguments: dict[str, Any] = msgspec.field(default_factory=dict)


class Usage(msgspec.Struct, kw_only=True):
    """Token usage of one provider call, as the provider reported it."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


class Message(msgspec.Struct, kw_only=True):
    """One message of a conversation.

    Attributes:
        role: who said it.
        content: the text.
        id: a unique id (generated when not given).
        session_id: the session it belongs to (empty for a temporary session).
        timestamp: when it was created (UTC).
        tokens: a cached token count of this message *including* the
            provider's per-message overhead, valid for the counter named in
            ``tokens_by``; ``None`` when not counted yet.
        tokens_by: the name of the token counter that produced ``tokens``.
        metadata: free data: usage, model, ``interrupted``, tool call ids...
    """

    role: Role
    content: str
    id: str = msgspec.field(default_factory=new_id)
    session_id: str = ""
    timestamp: datetime = msgspec.field(default_factory=utcnow)
    tokens: int | None = None
    tokens_by: str | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)


class SessionInfo(msgspec.Struct, kw_only=True):
    """A session's metadata without its messages (what listings return)."""

    id: str
    name: str | None = None
    created_at: datetime = msgspec.field(default_factory=utcnow)
    updated_at: datetime = msgspec.field(default_factory=utcnow)
    message_count: int = 0
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)


class ChatSession(msgspec.Struct, kw_only=True):
    """A conversation: its metadata and its messages, oldest first."""

    id: str = msgspec.field(default_factory=new_id)
    name: str | None = None
    messages: list[Message] = msgspec.field(default_factory=list)
    created_at: datetime = msgspec.field(default_factory=utcnow)
    updated_at: datetime = msgspec.field(default_factory=utcnow)
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)

    @property
    def system_messages(self) -> list[Message]:
        """The session's system messages, oldest first."""
        return [m for m in self.messages if m.role is Role.SYSTEM]

    def info(self) -> SessionInfo:
        """Return this session's metadata as a :class:`SessionInfo`."""
        return SessionInfo(
            id=self.id,
            name=self.name,
            created_at=self.created_at,
            updated_at=self.updated_at,
            message_count=len(self.messages),
            metadata=dict(self.metadata),
        )


class ContextDocument(msgspec.Struct, kw_only=True):
    """A piece of retrieved context (a document chunk, an MCP resource...).

    Attributes:
        id: the document's id in its collection.
        content: its text.
        embedding: its vector, when loaded.
        metadata: free data (``source`` is used when citing it).
        score: similarity to the query, higher is closer (1.0 = identical
            for cosine similarity); ``None`` when not from a search.
    """

    id: str
    content: str
    embedding: list[float] | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    score: float | None = None
