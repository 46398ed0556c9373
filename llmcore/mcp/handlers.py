"""What an application answers when an MCP server asks it something.

A server may ask for input in the middle of a tool call (MCP elicitation):
the 2026-07-28 input-required result, or the older ``elicitation/create``
request. llmcore hands each question to the application's ``on_elicit``
handler (:class:`MCPHandlers`, given to ``LLMCore(mcp_handlers=...)`` or to
one ``chat(..., mcp_handlers=...)``), checks the answer against the
server's schema, and the call goes on. Without a handler the tool's result
tells the model the tool needs input.

What servers asked during a turn is recorded on ``turn.mcp_requests``: an
:class:`ElicitationRecord` per question, a :class:`SamplingRecord` per
``sampling/createMessage`` llmcore's providers answered.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from llmcore.exceptions import InvalidRequestError
from llmcore.models import Usage

__all__ = [
    "ElicitHandler",
    "Elicitation",
    "ElicitationAnswer",
    "ElicitationRecord",
    "MCPHandlers",
    "MCPRequestRecord",
    "SamplingRecord",
    "check_answer",
]


@dataclass(frozen=True, slots=True)
class Elicitation:
    """A server's question for the person using the application.

    Attributes:
        server: the server's name (its ``[mcp.servers.NAME]``).
        message: what the server asks, for the person to read.
        schema: the JSON schema of the answer: an object whose properties
            are strings, numbers, integers, booleans or enums (empty in URL mode).
        tool: the tool being called, when the question came during a tool call.
        url: in URL mode, the page the server asks the person to open
            (nothing is sent back but whether they agreed).
    """

    server: str
    message: str
    schema: dict[str, Any] = field(default_factory=dict)
    tool: str | None = None
    url: str | None = None

    @property
    def fields(self) -> dict[str, dict[str, Any]]:
        """The answer's fields: each property's schema, in the server's order."""
        properties = self.schema.get("properties")
        return dict(properties) if isinstance(properties, Mapping) else {}

    @property
    def required(self) -> list[str]:
        """The fields an accepted answer must have."""
        required = self.schema.get("required")
        return [str(r) for r in required] if isinstance(required, list) else []


@dataclass(frozen=True, slots=True)
class ElicitationAnswer:
    """The person's answer: accepted (with the content), declined, or cancelled."""

    action: Literal["accept", "decline", "cancel"]
    content: dict[str, Any] | None = None

    @classmethod
    def accept(cls, content: Mapping[str, Any] | None = None) -> ElicitationAnswer:
        """Accepted, with the answer's fields (none in URL mode)."""
        return cls("accept", dict(content or {}))

    @classmethod
    def decline(cls) -> ElicitationAnswer:
        """The person said no."""
        return cls("decline")

    @classmethod
    def cancel(cls) -> ElicitationAnswer:
        """The person dismissed the question without choosing."""
        return cls("cancel")


#: An ``on_elicit`` handler: sync or async; returns an :class:`ElicitationAnswer`,
#: a mapping (accepted with that content) or ``None`` (declined).
ElicitHandler: TypeAlias = Callable[
    [Elicitation],
    "ElicitationAnswer | Mapping[str, Any]"
    " | Awaitable[ElicitationAnswer | Mapping[str, Any] | None] | None",
]


@dataclass(frozen=True, slots=True)
class MCPHandlers:
    """The application's answers to MCP servers' requests.

    Attributes:
        on_elicit: called with each :class:`Elicitation`; may be sync or
            async (a sync one runs in a worker thread, so it may block on
            ``input()``). It runs in the caller's event loop, not in the
            MCP sessions' background loop.
    """

    on_elicit: ElicitHandler | None = None

    def __post_init__(self) -> None:
        if self.on_elicit is not None and not callable(self.on_elicit):
            raise InvalidRequestError(
                f"on_elicit must be a function taking an Elicitation, got {self.on_elicit!r:.60}."
            )

    def over(self, base: MCPHandlers | None) -> MCPHandlers:
        """These handlers, with ``base``'s where these have none (per-call over LLMCore's)."""
        if base is None:
            return self
        return MCPHandlers(on_elicit=self.on_elicit or base.on_elicit)


async def ask(handler: ElicitHandler, request: Elicitation) -> ElicitationAnswer:
    """Call ``handler`` (sync in a worker thread, or async) and normalise what it returns.

    Raises:
        InvalidRequestError: it returned something that is not an answer.
    """
    import anyio.to_thread

    if inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - an async __call__ method
    ):
        value = await handler(request)  # type: ignore[misc]
    else:
        value = await anyio.to_thread.run_sync(handler, request)
        if inspect.isawaitable(value):
            value = await value
    if value is None:
        return ElicitationAnswer.decline()
    if isinstance(value, ElicitationAnswer):
        return value
    if isinstance(value, Mapping):
        return ElicitationAnswer.accept(value)
    raise InvalidRequestError(
        f"on_elicit returned {value!r:.60}: return an ElicitationAnswer, a dict of the "
        "answer's fields (accepted), or None (declined)."
    )


def check_answer(request: Elicitation, answer: ElicitationAnswer) -> str | None:
    """Why an accepted answer does not fit the server's schema, or None when it does."""
    if answer.action != "accept" or request.url is not None:
        return None
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    error = best_match(Draft202012Validator(request.schema).iter_errors(answer.content or {}))
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


@dataclass(frozen=True, slots=True)
class ElicitationRecord:
    """A question a server asked during the turn, and how it was answered.

    ``action`` is ``accept``, ``decline`` or ``cancel``; ``unanswered``
    when there was no handler; ``invalid`` when the answer did not fit the
    schema (and was not sent). The answer's content is not recorded: it
    may be private.
    """

    server: str
    message: str
    tool: str | None
    action: str


@dataclass(frozen=True, slots=True)
class SamplingRecord:
    """A ``sampling/createMessage`` a server sent during the turn, answered by llmcore.

    Attributes:
        server: the server that asked.
        tool: the tool being called, if any.
        provider: the provider that answered (its ``[providers.NAME]``).
        model: the model that answered.
        max_tokens: the longest reply the server allowed.
        text: the reply sent back to the server.
        usage: the tokens the answer cost, as the provider reported them.
        finish_reason: why the model stopped.
    """

    server: str
    tool: str | None
    provider: str
    model: str
    max_tokens: int
    text: str
    usage: Usage | None = None
    finish_reason: str | None = None


#: One server request recorded on ``turn.mcp_requests``.
MCPRequestRecord: TypeAlias = ElicitationRecord | SamplingRecord
