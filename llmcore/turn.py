"""The Turn: the one mutable object that flows through a pipeline.

A chat turn starts as a request (message, session, provider, options) and
each stage fills in its part: the loaded session, the selected history, the
token budget, the payload, the response. Stages talk to each other only
through the Turn; custom stages may keep their own data in ``turn.state``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmcore.exchange import ModelRequest, ModelResponse, ModelSettings
from llmcore.models import ChatSession, ContextDocument, Message
from llmcore.parts import Part

if TYPE_CHECKING:
    from llmcore.mcp.format import MCPPayload
    from llmcore.mcp.handlers import MCPRequestRecord
    from llmcore.output import OutputSpec
    from llmcore.pipeline.stream import ChatStream
    from llmcore.tools.tool import Tool

__all__ = [
    "ContextReport",
    "RagRequest",
    "Response",
    "StageTrace",
    "TokenBudget",
    "Turn",
]


@dataclass(slots=True)
class RagRequest:
    """What the caller asked of retrieval for this turn."""

    enabled: bool = False
    k: int | None = None
    collection: str | None = None


@dataclass(slots=True)
class TokenBudget:
    """The token arithmetic of a turn.

    Attributes:
        limit: the model's context window, in tokens.
        reserved: tokens held back for the reply.
        used: tokens taken by each part of the payload (``system``,
            ``history``, ``documents``, ``user``, ``overhead``).
    """

    limit: int = 0
    reserved: int = 0
    used: dict[str, int] = field(default_factory=dict)

    @property
    def available(self) -> int:
        """Tokens the prompt may use: the window minus the reserve."""
        return max(self.limit - self.reserved, 0)

    @property
    def total_used(self) -> int:
        """Sum of the tokens used by every part."""
        return sum(self.used.values())


@dataclass(slots=True)
class ContextReport:
    """What the context stages kept and dropped, and why.

    Attributes:
        kept: ids of the history messages that were sent.
        dropped: ids of the history messages left out to fit the window.
        dropped_documents: ids of retrieved documents left out.
        summarized: ids of messages replaced by a summary.
        reasons: one line per decision, for logs and debugging.
        history_stored: how many history messages (system messages not
            counted) the session held before this turn, so what was left
            out can be counted exactly although only the newest are read
            (``dropped`` lists the ones read and not kept); None when the
            stage that loaded the session did not say.
    """

    kept: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    dropped_documents: list[str] = field(default_factory=list)
    summarized: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    history_stored: int | None = None


#: The model's reply, on ``turn.response`` (see :class:`~llmcore.exchange.ModelResponse`).
Response = ModelResponse


@dataclass(slots=True)
class StageTrace:
    """How one stage went: its name, how long it took, and its notes.

    ``duration`` is the stage's own time: for a wrapping stage
    (``wraps=True``), without the stages it wrapped.
    """

    name: str
    duration: float = 0.0
    notes: list[str] = field(default_factory=list)
    wraps: bool = False


@dataclass(eq=False, slots=True)
class Turn:
    """One chat turn, as it flows through the stages of a pipeline.

    The request fields are set by :meth:`llmcore.LLMCore.chat_turn`; every
    other field is filled in by a stage. See ``docs/concepts/turn.md``.
    """

    # The request.
    message: str
    session_id: str | None = None
    system_message: str | None = None
    provider_name: str = ""
    model: str = ""
    stream: bool = False
    save_session: bool = True
    pipeline: str = "default"
    rag: RagRequest = field(default_factory=RagRequest)
    provider_kwargs: dict[str, Any] = field(default_factory=dict)
    settings: ModelSettings | None = None
    tools: list[Tool] = field(default_factory=list)
    max_tool_rounds: int | None = None
    mcp_resources: list[str] = field(default_factory=list)
    attachments: list[Part] = field(default_factory=list)
    context_overrides: dict[str, Any] = field(default_factory=dict)
    output: OutputSpec | None = None
    output_retries: int | None = None

    # Filled in by the stages.
    session: ChatSession | None = None
    system_messages: list[Message] = field(default_factory=list)
    user_message: Message | None = None
    new_messages: list[Message] = field(default_factory=list)
    query_embedding: list[float] | None = None
    documents: list[ContextDocument] = field(default_factory=list)
    history: list[Message] = field(default_factory=list)
    summary: Message | None = None
    session_updates: dict[str, Any] = field(default_factory=dict)
    payload: list[Message] = field(default_factory=list)
    #: ``payload`` as MCP types (``format_mcp``, when MCP formatting is on).
    mcp_payload: MCPPayload | None = None
    #: What MCP servers asked during the turn (elicitations, sampling), in order.
    mcp_requests: list[MCPRequestRecord] = field(default_factory=list)
    budget: TokenBudget = field(default_factory=TokenBudget)
    context: ContextReport = field(default_factory=ContextReport)
    request: ModelRequest | None = None
    response: ModelResponse = field(default_factory=ModelResponse)
    trace: list[StageTrace] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    error: BaseException | None = None
    provider_called: bool = False
    chunks: ChatStream | None = field(default=None, repr=False)
    _pending_stream: AsyncIterator[str] | None = field(default=None, repr=False)
    _stage: StageTrace | None = field(default=None, repr=False)

    @property
    def persistent(self) -> bool:
        """Whether this turn reads from and writes to the session store."""
        return self.session_id is not None

    def note(self, text: str) -> None:
        """Add a note to the trace of the stage that is running."""
        if self._stage is not None:
            self._stage.notes.append(text)

    def enter_stage(self, name: str, *, wraps: bool = False) -> StageTrace:
        """Start the trace of a stage (the runner calls this); notes go to it."""
        trace = StageTrace(name, wraps=wraps)
        self.trace.append(trace)
        self._stage = trace
        return trace

    def resume_stage(self, trace: StageTrace) -> None:
        """Make ``trace`` the running stage again (a wrapping stage, after ``call_next``)."""
        self._stage = trace

    async def deliver(self, chunks: AsyncIterator[Any]) -> None:
        """Give the caller the reply's chunks; return when the stream has ended.

        What a provider stage calls when the turn streams. The pipeline is
        suspended here while the caller reads; this returns once the stream
        was exhausted or closed, and raises what broke it (an error, or the
        reader's cancellation). The code after it, and after ``call_next``
        in every wrapping stage, runs then.
        """
        from llmcore.pipeline.suspend import handover

        await handover(chunks)

    def set_stream(self, chunks: AsyncIterator[str]) -> None:
        """Hand the runner a stream of reply chunks (the older form of :meth:`deliver`).

        The runner delivers them to the caller once this stage returns, then
        runs the stages after it when the stream is exhausted or closed.
        """
        self._pending_stream = chunks

    def take_stream(self) -> AsyncIterator[str] | None:
        """Return the pending stream, if a stage set one, and clear it."""
        chunks, self._pending_stream = self._pending_stream, None
        return chunks

    @property
    def duration(self) -> float:
        """Seconds spent in all stages so far."""
        return sum(t.duration for t in self.trace)
