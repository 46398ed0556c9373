"""The records llmcore stores and returns: messages, sessions, documents, usage.

They are msgspec Structs: cheap to create, typed, and serialisable to JSON
and back without a schema layer in between (storage backends rely on that).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import msgspec

from llmcore.parts import Part, TextPart, ToolCallPart, ToolResultPart, text_of

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


#: A model's request to call a tool (the same type as :class:`~llmcore.parts.ToolCallPart`).
ToolCall = ToolCallPart


class Usage(msgspec.Struct, kw_only=True):
    """Token usage of one provider call, as the provider reported it.

    ``reasoning_tokens`` is the part of ``output_tokens`` the model spent
    thinking, when the provider says (OpenAI, Gemini); 0 otherwise.
    ``estimated`` is true when the server reported none (llama.cpp's server
    streaming, for one) and the counts are llmcore's own: the request counted
    with the provider's tokenizer, the reply's text likewise.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


class Message(msgspec.Struct, kw_only=True):
    """One message of a conversation: a role and an ordered list of typed parts.

    ``Message(role=Role.USER, content="Hi")`` is a message of one text part;
    ``Message(role=..., parts=[TextPart(...), ImagePart(...)])`` gives the
    parts themselves, and ``content`` is then their text. Either way
    ``content`` is the message's text (a tool message's: the result), and
    ``parts`` what it is made of. Assigning ``content`` later replaces the
    text parts, as :meth:`current_parts` shows.

    Attributes:
        role: who said it.
        content: the text.
        parts: the typed parts (text, images, documents, tool calls and
            results, reasoning, provider-native content), in order.
        id: a unique id (generated when not given).
        session_id: the session it belongs to (empty for a temporary session).
        timestamp: when it was created (UTC).
        tokens: a cached token count of this message *including* the
            provider's per-message overhead, valid for the counter named in
            ``tokens_by``; ``None`` when not counted yet.
        tokens_by: the name of the token counter that produced ``tokens``.
        metadata: free data: usage, model, ``interrupted``...
    """

    role: Role
    content: str = ""
    parts: list[Part] = msgspec.field(default_factory=list)
    id: str = msgspec.field(default_factory=new_id)
    session_id: str = ""
    timestamp: datetime = msgspec.field(default_factory=utcnow)
    tokens: int | None = None
    tokens_by: str | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.parts:
            if not self.content:
                self.content = text_of(self.parts)
        elif self.metadata and ("tool_calls" in self.metadata or "tool_call_id" in self.metadata):
            self.metadata = dict(self.metadata)  # the tool keys move out of it
            self.parts = legacy_tool_parts(self.role, self.content, self.metadata)
        elif self.content:
            self.parts = [TextPart(self.content)]

    def current_parts(self) -> list[Part]:
        """The parts, with the text as ``content`` now says.

        ``content`` is a plain field that stages may assign; when it no
        longer matches the text parts, it replaces them (for a tool message,
        the result's content), and the parts are updated to match.
        """
        parts = self.parts
        if text_of(parts) == self.content:
            return parts
        self.parts = parts = _with_text(parts, self.content)
        return parts

    def with_text(self, text: str) -> Message:
        """A copy of this message whose text is ``text``, its other parts kept."""
        return msgspec.structs.replace(
            self, content=text, parts=_with_text(self.current_parts(), text), tokens=None
        )

    @property
    def tool_calls(self) -> list[ToolCallPart]:
        """The tool calls an assistant message asks for (empty if none)."""
        return [p for p in self.parts if type(p) is ToolCallPart]

    @property
    def tool_result(self) -> ToolResultPart | None:
        """The tool result a tool message carries, if any."""
        for part in self.parts:
            if type(part) is ToolResultPart:
                return part
        return None

    @property
    def has_only_text(self) -> bool:
        """True when the message is plain text (no parts but one text part, or none)."""
        parts = self.current_parts()
        return not parts or (len(parts) == 1 and type(parts[0]) is TextPart)


def _with_text(parts: list[Part], text: str) -> list[Part]:
    """``parts`` with their text replaced by ``text`` (in the first text slot)."""
    out: list[Part] = []
    placed = False
    for part in parts:
        if type(part) is TextPart:
            if not placed and text:
                out.append(TextPart(text))
            placed = True
        elif type(part) is ToolResultPart and not placed:
            out.append(msgspec.structs.replace(part, content=text))
            placed = True
        else:
            out.append(part)
    if not placed and text:
        out.insert(0, TextPart(text))
    return out


def legacy_tool_parts(role: Role, content: str, metadata: dict[str, Any]) -> list[Part]:
    """The parts of a message stored before parts existed, its tool data taken from metadata.

    Older releases kept an assistant's tool calls in ``metadata["tool_calls"]``
    and a tool result's call id in ``metadata["tool_call_id"]`` (with
    ``"name"`` and ``"is_error"``); those keys move into parts and leave
    ``metadata``.
    """
    if role is Role.TOOL and "tool_call_id" in metadata:
        return [
            ToolResultPart(
                call_id=str(metadata.pop("tool_call_id") or ""),
                content=content,
                is_error=bool(metadata.pop("is_error", False)),
                name=metadata.pop("name", None),
            )
        ]
    parts: list[Part] = [TextPart(content)] if content else []
    for call in metadata.pop("tool_calls", None) or []:
        parts.append(
            ToolCallPart(
                id=str(call.get("id", "")),
                name=str(call.get("name", "")),
                arguments=dict(call.get("arguments") or {}),
            )
        )
    return parts


class SessionInfo(msgspec.Struct, kw_only=True):
    """A session's metadata without its messages (what listings return).

    Read it by attribute (``info.id``) or, as the specification's
    dictionaries are read, by key: ``info["id"]``, ``info.get("name")``,
    ``dict(info)``; the keys are the attribute names.
    """

    id: str
    name: str | None = None
    created_at: datetime = msgspec.field(default_factory=utcnow)
    updated_at: datetime = msgspec.field(default_factory=utcnow)
    message_count: int = 0
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)

    def keys(self) -> tuple[str, ...]:
        """The field names, as a dict's keys (what ``dict(info)`` reads)."""
        return self.__struct_fields__

    def values(self) -> list[Any]:
        """The field values, in the order of :meth:`keys`."""
        return [getattr(self, k) for k in self.__struct_fields__]

    def items(self) -> list[tuple[str, Any]]:
        """``(name, value)`` pairs, in the order of :meth:`keys`."""
        return [(k, getattr(self, k)) for k in self.__struct_fields__]

    def get(self, key: str, default: Any = None) -> Any:
        """The field ``key``, or ``default`` when there is no such field."""
        return getattr(self, key) if key in self.__struct_fields__ else default

    def __getitem__(self, key: str) -> Any:
        if key not in self.__struct_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self.__struct_fields__

    def __iter__(self) -> Iterator[str]:
        return iter(self.__struct_fields__)

    def __len__(self) -> int:
        return len(self.__struct_fields__)


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
