"""select_history: choose the history that fits the window, newest first."""

from __future__ import annotations

from typing import Any, Literal

from llmcore.context.report import decide, left_out, log_decisions
from llmcore.context.settings import context_setting
from llmcore.context.summary import SUMMARY_KEY, extend_summary, summary_message
from llmcore.context.units import flatten
from llmcore.exceptions import ContextLengthError
from llmcore.models import Message, Role
from llmcore.providers.base import resolve_settings
from llmcore.services import Services
from llmcore.tokens.cached import MessageCounter
from llmcore.turn import Turn

__all__ = ["SelectHistory"]

Strategy = Literal["last_n_tokens", "last_n_messages", "summarize"]
_STRATEGIES = ("last_n_tokens", "last_n_messages", "summarize")


class SelectHistory:
    """Keep the system message(s) and the newest history that fits.

    The budget is the model's window minus the reserve: the ``max_tokens``
    the request will carry (the call's, the provider's, else
    ``reserved_response_tokens``; ``turn.settings``). System
    messages and the new user message always go; history is read from the
    store newest first, a page at a time, in whole units (a question with
    its answer, a tool call with its results), and kept while it fits.
    Reading stops when the budget is full, so the cost of a turn does not
    grow with the session's length.

    Strategies: ``last_n_tokens`` (as much as fits), ``last_n_messages``
    (also at most ``max_history_messages``), ``summarize`` (as much as
    fits, plus a stored summary of what no longer does).

    Options:
        strategy: overrides ``history_selection_strategy``.
        page_size: messages read from the store per page.
    """

    name = "select_history"
    reads = ("user_message", "system_messages")
    provides = ("history", "summary", "payload", "budget")

    def __init__(
        self, services: Services, *, strategy: Strategy | None = None, page_size: int = 64
    ):
        if strategy is not None and strategy not in _STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(_STRATEGIES)}, not {strategy!r}")
        if not isinstance(page_size, int) or page_size < 1:
            raise ValueError(f"page_size must be a positive integer, not {page_size!r}")
        self.services = services
        self.strategy = strategy
        self.page_size = page_size

    def _setting(self, turn: Turn, key: str) -> Any:
        return context_setting(turn, self.services.config.context_management, key)

    async def __call__(self, turn: Turn) -> None:
        """Fill ``turn.history``, ``turn.summary``, ``turn.payload`` and ``turn.budget``."""
        assert turn.user_message is not None, "select_history needs load_session before it"
        provider = self.services.provider(turn.provider_name)
        count = MessageCounter(provider, turn.model)
        budget = turn.budget
        budget.limit = await provider.aget_max_context_length(turn.model)
        # Exactly what the request will ask for (see providers.base.resolve_settings).
        if turn.settings is None:
            turn.settings = resolve_settings(
                provider.settings,
                turn.provider_kwargs,
                self._setting(turn, "reserved_response_tokens"),
            )
        budget.reserved = turn.settings.max_tokens
        budget.used = {
            "system": await count.atotal(turn.system_messages),
            "user": await count.acount(turn.user_message),
            "overhead": provider.request_overhead(turn.model),
        }
        if budget.total_used > budget.available:
            raise ContextLengthError(
                f"The system message and the new message need {budget.total_used} tokens, but "
                f"{turn.model!r} has {budget.available} for the prompt ({budget.limit} in its "
                f"window minus {budget.reserved} reserved for the reply). Shorten them, lower "
                "reserved_response_tokens (or max_tokens), or use a model with a larger window."
                + _attachments_note(turn.user_message, budget.available),
                limit=budget.available,
                needed=budget.total_used,
            )
        strategy = self.strategy or self._setting(turn, "history_selection_strategy")
        stored = (turn.session.metadata.get(SUMMARY_KEY) if turn.session else None) or None
        summary = stored if strategy == "summarize" else None
        if summary is not None:
            turn.summary = summary_message(summary)
            budget.used["summary"] = await count.acount(turn.summary)
        room = budget.available - budget.total_used
        history = await self._select(turn, count, strategy, room, summary)
        budget.used["history"] = sum(m.tokens or 0 for m in history)
        turn.history = history
        turn.context.kept = [m.id for m in history]
        turn.payload = [
            *turn.system_messages,
            *([turn.summary] if turn.summary else []),
            *history,
            turn.user_message,
        ]
        if turn.context.dropped:
            # Counted, not listed: the oldest messages were never read.
            decide(
                turn,
                f"kept {len(history)} history messages ({budget.used['history']} tokens), "
                f"dropped {left_out(turn)} older ones to fit {budget.available} tokens",
            )
        if not turn.documents:  # otherwise truncate logs, once, after its own decisions
            log_decisions(turn)

    async def _select(
        self,
        turn: Turn,
        count: MessageCounter,
        strategy: str,
        room: int,
        summary: dict[str, Any] | None,
    ) -> list[Message]:
        if turn.session_id is None or turn.session is None:
            return []
        max_messages = None
        if strategy == "last_n_messages":
            max_messages = self._setting(turn, "max_history_messages")
        reader = _UnitReader(self, turn.session_id, (summary or {}).get("through"))
        kept: list[list[Message]] = []  # newest unit first
        size = used = 0
        async for unit in reader:
            tokens = await count.atotal(unit)
            too_many = max_messages is not None and size + len(unit) > max_messages
            if used + tokens > room or too_many:
                reader.push_back(unit)
                break
            kept.append(unit)
            used += tokens
            size += len(unit)
        if strategy == "summarize" and not reader.exhausted:
            kept = await self._summarize(turn, count, reader, kept, room)
        else:
            turn.context.dropped.extend(m.id for m in reader.left_behind())
        kept.reverse()
        return flatten(kept)

    async def _summarize(
        self,
        turn: Turn,
        count: MessageCounter,
        reader: _UnitReader,
        kept: list[list[Message]],
        room: int,
    ) -> list[list[Message]]:
        """Summarise what does not fit, keeping history within ``summary_keep_share``."""
        keep_room = int(room * self._setting(turn, "summary_keep_share"))
        used = 0
        for i, unit in enumerate(kept):
            used += sum(m.tokens or 0 for m in unit)
            if used > keep_room:
                for older in reversed(kept[i:]):
                    reader.push_back(older)
                kept = kept[:i]
                break
        limit = self._setting(turn, "summary_max_messages")
        to_summarize = await reader.read_rest(limit)
        turn.context.dropped.extend(m.id for m in reader.left_behind())
        if not to_summarize:
            return kept
        old_tokens = turn.budget.used.get("summary", 0)
        await extend_summary(self.services, turn, to_summarize, count)
        # The new summary may be longer than the one the room was computed with.
        room_left = room + old_tokens - turn.budget.used["summary"]
        while kept and sum(m.tokens or 0 for m in flatten(kept)) > room_left:
            turn.context.dropped.extend(m.id for m in kept.pop())
        return kept


def _attachments_note(message: Message, available: int) -> str:
    """What the new message's images and documents take, when it does not fit."""
    from llmcore.parts import ImagePart, binary_parts
    from llmcore.tokens.attachments import attachment_tokens

    sizes = [(attachment_tokens([p]), p) for p in binary_parts(message.parts)]
    if not sizes:
        return ""
    tokens, largest = max(sizes, key=lambda size: size[0])
    kind = "image" if type(largest) is ImagePart else "document"
    name = getattr(largest, "name", None)
    what = (
        f"the {kind} {name} ({largest.media_type})"
        if name
        else f"the {kind} ({largest.media_type})"
    )
    if tokens > available:
        return (
            f" The attachment alone cannot fit: {what} needs about {tokens} tokens, more than "
            f"the {available} the prompt has. Attach a smaller image or fewer pages."
        )
    total = sum(size for size, _ in sizes)
    return f" Its attachments take about {total} of them; attach fewer or smaller ones."


class _UnitReader:
    """Reads a session's history newest first, one unit at a time.

    Stops at the start of the session or at ``through`` (the newest message
    a stored summary covers).
    """

    def __init__(self, stage: SelectHistory, session_id: str, through: str | None):
        self.stage = stage
        self.session_id = session_id
        self.through = through
        self.exhausted = False
        self._before: int | None = None
        self._buffer: list[Message] = []  # newest last
        self._more = True
        self._pushed: list[list[Message]] = []
        self._behind: list[Message] = []

    def __aiter__(self) -> _UnitReader:
        return self

    async def __anext__(self) -> list[Message]:
        if self._pushed:
            return self._pushed.pop()
        unit: list[Message] = []
        while True:
            if not self._buffer and not await self._fill():
                if unit:
                    return unit
                self.exhausted = True
                raise StopAsyncIteration
            message = self._buffer.pop()
            if message.role is Role.SYSTEM:
                continue
            unit.insert(0, message)
            if message.role is Role.USER:
                return unit

    async def _fill(self) -> bool:
        if not self._more:
            return False
        store = await self.stage.services.session_store()
        page = await store.read_recent(
            self.session_id, limit=self.stage.page_size, before=self._before
        )
        self._before = page.next_before
        self._more = page.next_before is not None
        messages = page.messages
        if self.through is not None:
            for i in range(len(messages) - 1, -1, -1):
                if messages[i].id == self.through:
                    messages = messages[i + 1 :]
                    self._more = False
                    break
        self._buffer = messages + self._buffer
        return bool(self._buffer)

    def push_back(self, unit: list[Message]) -> None:
        """Return a unit that was not kept (it is the next one read again)."""
        self._pushed.append(unit)

    async def read_rest(self, limit: int) -> list[Message]:
        """Read up to ``limit`` more messages (oldest first), in whole units."""
        units: list[list[Message]] = []
        size = 0
        async for unit in self:
            if size + len(unit) > limit:
                self._behind.extend(unit)
                break
            units.append(unit)
            size += len(unit)
        units.reverse()
        return flatten(units)

    def left_behind(self) -> list[Message]:
        """Units read (or pushed back) but not kept or summarised."""
        left = [*self._behind, *flatten(list(reversed(self._pushed)))]
        self._pushed.clear()
        self._behind = []
        return left
