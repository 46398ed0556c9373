"""One exchange with a model: the typed request, the reply, and the events of a stream.

``call_provider`` builds one :class:`ModelRequest` (the messages as parts,
the tools, the settings resolved once, an output schema); the provider
encodes it for its SDK and decodes the answer into one
:class:`ModelResponse`. A streamed answer arrives as typed
:data:`StreamEvent` s that a :class:`ResponseBuilder` accumulates into the
same ``ModelResponse`` type, so a streamed and a whole reply are one thing
to every stage after the provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

import msgspec

from llmcore.models import Message, Usage
from llmcore.parts import Part, ReasoningPart, TextPart, ToolCallPart, text_of

if TYPE_CHECKING:
    from llmcore.tools.tool import Tool

__all__ = [
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "Reasoning",
    "ReasoningDelta",
    "ResponseBuilder",
    "ResponseInfo",
    "StreamEvent",
    "TextDelta",
    "ToolCallDelta",
    "UsageEvent",
]


@dataclass(frozen=True, slots=True)
class Reasoning:
    """How hard a reasoning model thinks: an effort, or a budget of tokens.

    ``effort`` is ``"low"``, ``"medium"`` or ``"high"``; ``budget_tokens``
    a number of tokens. Each provider maps it to its own setting (OpenAI's
    ``reasoning_effort``, Anthropic's thinking budget, Gemini's thinking
    budget, Ollama's ``think``), converting one into the other with
    :meth:`as_effort` and :meth:`as_budget`.
    """

    effort: str | None = None
    budget_tokens: int | None = None

    #: The budget an effort stands for, and back (by these thresholds).
    BUDGETS: ClassVar[dict[str, int]] = {"low": 1024, "medium": 4096, "high": 16384}

    def as_effort(self) -> str:
        """The effort (a budget maps to the nearest one at or above it)."""
        if self.effort is not None:
            return self.effort
        budget = self.budget_tokens or 0
        return next((e for e, b in self.BUDGETS.items() if budget <= b), "high")

    def as_budget(self, scale: float = 1.0) -> int:
        """The budget in tokens (an effort stands for ``BUDGETS``, times ``scale``)."""
        if self.budget_tokens is not None:
            return self.budget_tokens
        return int(self.BUDGETS[self.effort or "medium"] * scale)


@dataclass(slots=True)
class ModelSettings:
    """The generation settings of one request, resolved once per turn.

    Attributes:
        max_tokens: the most tokens the reply may have; also what the
            context budget reserves for it.
        options: every other option (``temperature``, ``stop``...), the
            provider's ``options`` overridden by the call's.
        reasoning: how hard a reasoning model thinks (None: its default).
    """

    max_tokens: int
    options: dict[str, Any] = field(default_factory=dict)
    reasoning: Reasoning | None = None


@dataclass(slots=True)
class ModelRequest:
    """What is sent to a model: messages, tools, settings, an output schema.

    Attributes:
        model: the model name.
        messages: the conversation, oldest first (system messages included).
        settings: the generation settings.
        tools: the tools the model may call.
        output_schema: a JSON schema the reply must follow, if any (its
            root an object; see :mod:`llmcore.output`).
        output_name: the schema's name (OpenAI and forced tools need one).
        output_tool: the tool whose call is the answer, when a forced tool
            carries the schema (a model with no native mode); set by the
            provider.
        stream: whether the reply is streamed.
        foreign_reasoning: what to do with reasoning another provider or
            model wrote: ``"drop"`` it, or send it as ``"text"``.
        notes: what llmcore changed or ignored to send this request (an id
            rewritten, reasoning dropped, a setting the model does not take).
    """

    model: str
    messages: list[Message]
    settings: ModelSettings
    tools: list[Tool] = field(default_factory=list)
    output_schema: dict[str, Any] | None = None
    output_name: str = "output"
    output_tool: str | None = None
    stream: bool = False
    foreign_reasoning: str = "drop"
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ModelResponse:
    """A model's reply, whole or as received so far while it streams.

    Attributes:
        parts: what the reply is made of (text, reasoning, tool calls...).
        usage: tokens the provider reported (summed over a turn's rounds).
        finish_reason: why the model stopped (``stop``, ``length``,
            ``tool_calls``...).
        model: the model that answered, as the provider named it.
        provider: the configured provider name.
        details: provider-native facts about the reply (a response id...).
        interrupted: a stream ended before the model finished.
        complete: the whole reply has been received.
        output: the validated object, when the turn asked for an
            ``output_type`` (see :mod:`llmcore.output`).
    """

    parts: list[Part] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None
    provider: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False
    complete: bool = False
    output: Any = None

    @property
    def text(self) -> str:
        """The reply's text (its text parts, joined)."""
        return text_of(p for p in self.parts if type(p) is TextPart)

    @text.setter
    def text(self, value: str) -> None:
        others = [p for p in self.parts if type(p) is not TextPart]
        reasoning = [p for p in others if type(p) is ReasoningPart]
        rest = [p for p in others if type(p) is not ReasoningPart]
        self.parts = [*reasoning, *([TextPart(value)] if value else []), *rest]

    @property
    def tool_calls(self) -> list[ToolCallPart]:
        """The tool calls the model asked for."""
        return [p for p in self.parts if type(p) is ToolCallPart]

    @tool_calls.setter
    def tool_calls(self, calls: list[ToolCallPart]) -> None:
        self.parts = [*(p for p in self.parts if type(p) is not ToolCallPart), *calls]


# -- stream events ---------------------------------------------------------


class TextDelta(msgspec.Struct, frozen=True):
    """A piece of the reply's text."""

    text: str


class ReasoningDelta(msgspec.Struct, frozen=True, kw_only=True):
    """A piece of reasoning, or its signature / encrypted form (which ends the block)."""

    text: str = ""
    signature: str | None = None
    encrypted: str | None = None
    summary: bool = False


class ToolCallDelta(msgspec.Struct, frozen=True, kw_only=True):
    """A piece of a tool call: ``index`` groups the pieces of one call.

    ``arguments`` is a fragment of the JSON arguments, or the whole
    arguments as a dict from providers that send a call in one piece.
    """

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str | dict[str, Any] = ""


class UsageEvent(msgspec.Struct, frozen=True):
    """The tokens of the request and the reply, as the provider reported them."""

    usage: Usage


class ResponseInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Facts about the reply: the model that answered, why it stopped, native details."""

    model: str | None = None
    finish_reason: str | None = None
    details: dict[str, Any] | None = None


StreamEvent: TypeAlias = TextDelta | ReasoningDelta | ToolCallDelta | UsageEvent | ResponseInfo


class ResponseBuilder:
    """Accumulates stream events into a :class:`ModelResponse`.

    Text and reasoning pieces are joined once, when :meth:`build` is
    called, not on every event.
    """

    __slots__ = ("_blocks", "_calls", "_info", "provider", "reasoning_model", "usage")

    def __init__(self, provider: str | None = None, reasoning_model: str | None = None):
        self.provider = provider
        self.reasoning_model = reasoning_model
        self.usage: Usage | None = None
        self._info: dict[str, Any] = {}
        # Blocks in arrival order: ("text", pieces) or ("reasoning", pieces, delta).
        self._blocks: list[list[Any]] = []
        self._calls: dict[int, list[Any]] = {}  # index -> [id, name, pieces | dict]

    def add(self, event: StreamEvent) -> None:
        """Take one event into the reply."""
        kind = type(event)
        if kind is TextDelta:
            if self._blocks and self._blocks[-1][0] == "text":
                self._blocks[-1][1].append(event.text)  # type: ignore[union-attr]
            elif event.text:  # type: ignore[union-attr]
                self._blocks.append(["text", [event.text]])  # type: ignore[union-attr]
        elif kind is ReasoningDelta:
            self._reasoning(event)  # type: ignore[arg-type]
        elif kind is ToolCallDelta:
            self._call(event)  # type: ignore[arg-type]
        elif kind is UsageEvent:
            self.usage = event.usage  # type: ignore[union-attr]
        elif kind is ResponseInfo:
            for key in ("model", "finish_reason", "details"):
                value = getattr(event, key)
                if value is not None:
                    self._info[key] = value

    def _reasoning(self, event: ReasoningDelta) -> None:
        last = self._blocks[-1] if self._blocks else None
        if last is None or last[0] != "reasoning" or last[2] is not None:
            last = ["reasoning", [], None, event.summary]
            self._blocks.append(last)
        if event.text:
            last[1].append(event.text)
        if event.signature is not None or event.encrypted is not None:
            last[2] = (event.signature, event.encrypted)  # the block is sealed

    def _call(self, event: ToolCallDelta) -> None:
        call = self._calls.setdefault(event.index, [None, "", []])
        if event.id:
            call[0] = event.id
        if event.name:
            call[1] += event.name
        if isinstance(event.arguments, dict):
            call[2] = event.arguments
        elif event.arguments and isinstance(call[2], list):
            call[2].append(event.arguments)

    @property
    def text(self) -> str:
        """The text received so far."""
        return "".join("".join(b[1]) for b in self._blocks if b[0] == "text")

    def build(self) -> ModelResponse:
        """The reply as received so far (call again after more events)."""
        from llmcore.tools.messages import parse_arguments

        parts: list[Part] = []
        for block in self._blocks:
            if block[0] == "text":
                text = "".join(block[1])
                if text:
                    parts.append(TextPart(text))
            else:
                signature, encrypted = block[2] or (None, None)
                parts.append(
                    ReasoningPart(
                        text="".join(block[1]),
                        summary=block[3],
                        signature=signature,
                        encrypted=encrypted,
                        provider=self.provider,
                        model=self.reasoning_model or self._info.get("model"),
                    )
                )
        for index in sorted(self._calls):
            call_id, name, arguments = self._calls[index]
            args = arguments if isinstance(arguments, dict) else parse_arguments("".join(arguments))
            parts.append(ToolCallPart(id=call_id or f"call_{index}", name=name, arguments=args))
        return ModelResponse(
            parts=parts,
            usage=self.usage,
            finish_reason=self._info.get("finish_reason"),
            model=self._info.get("model"),
            details=dict(self._info.get("details") or {}),
        )
