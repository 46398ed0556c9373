"""select_history: choose the history that fits the window, newest first."""

from __future__ import annotations

import logging
from typing import Any, Literal

from llmcore.exceptions import ContextLengthError
from llmcore.models import Message, Role
from llmcore.services import Services
from llmcore.tokens.cached import MessageCounter
from llmcore.turn import Turn

__all__ = ["SelectHistory"]

logger = logging.getLogger("llmcore.context")

Strategy = Literal["last_n_tokens", "last_n_messages"]


class SelectHistory:
    """Keep the system message(s) and the newest history that fits.

    The budget is the model's window minus the reserve
    (``reserved_response_tokens``, or the caller's ``max_tokens``). System
    messages and the new user message always go; history is read from the
    store newest first, a page at a time, and kept while it fits, so the
    cost of a turn does not grow with the session's length. A history that
    would start with an assistant reply whose question was dropped loses that
    reply too, so question and answer stay together.

    Options:
        strategy: ``last_n_tokens`` or ``last_n_messages`` (default: config).
        page_size: messages read from the store per page.
    """

    name = "select_history"

    def __init__(
        self, services: Services, *, strategy: Strategy | None = None, page_size: int = 64
    ):
        if strategy not in (None, "last_n_tokens", "last_n_messages"):
            raise ValueError(
                f"strategy must be 'last_n_tokens' or 'last_n_messages', not {strategy!r}"
            )
        if not isinstance(page_size, int) or page_size < 1:
            raise ValueError(f"page_size must be a positive integer, not {page_size!r}")
        self.services = services
        self.strategy = strategy
        self.page_size = page_size

    def _setting(self, turn: Turn, key: str) -> Any:
        return turn.context_overrides.get(
            key, getattr(self.services.config.context_management, key)
        )

    async def __call__(self, turn: Turn) -> None:
        """Fill ``turn.history``, ``turn.payload`` and ``turn.budget``."""
        assert turn.user_message is not None, "select_history needs load_session before it"
        provider = self.services.provider(turn.provider_name)
        count = MessageCounter(provider, turn.model)
        budget = turn.budget
        budget.limit = provider.get_max_context_length(turn.model)
        max_tokens = turn.provider_kwargs.get("max_tokens")
        budget.reserved = (
            max_tokens
            if isinstance(max_tokens, int)
            else self._setting(turn, "reserved_response_tokens")
        )
        budget.used = {
            "system": await count.atotal(turn.system_messages),
            "user": await count.acount(turn.user_message),
            "overhead": provider.request_overhead(turn.model),
        }
        room = budget.available - budget.total_used
        if room < 0:
            raise ContextLengthError(
                f"The system message and the new message need {budget.total_used} tokens, but "
                f"{turn.model!r} has {budget.available} for the prompt ({budget.limit} in its "
                f"window minus {budget.reserved} reserved for the reply). Shorten them, lower "
                "reserved_response_tokens (or max_tokens), or use a model with a larger window.",
                limit=budget.available,
                needed=budget.total_used,
            )
        history = await self._select(turn, count, room)
        budget.used["history"] = sum(m.tokens or 0 for m in history)
        turn.history = history
        turn.context.kept = [m.id for m in history]
        turn.payload = [*turn.system_messages, *history, turn.user_message]
        if turn.context.dropped:
            reason = (
                f"kept {len(history)} history messages ({budget.used['history']} tokens), "
                f"dropped {len(turn.context.dropped)} older ones to fit {budget.available} tokens"
            )
            turn.context.reasons.append(reason)
            turn.note(reason)
            logger.info("Session %s: %s", turn.session_id, reason)

    async def _select(self, turn: Turn, count: MessageCounter, room: int) -> list[Message]:
        if turn.session_id is None or turn.session is None:
            return []
        strategy = self.strategy or self._setting(turn, "history_selection_strategy")
        max_messages = (
            self._setting(turn, "max_history_messages") if strategy == "last_n_messages" else None
        )
        store = await self.services.session_store()
        kept: list[Message] = []  # newest first
        before: int | None = None
        full = False
        while not full:
            page = await store.read_recent(turn.session_id, limit=self.page_size, before=before)
            for message in reversed(page.messages):
                if message.role is Role.SYSTEM:
                    continue
                tokens = await count.acount(message)
                if (
                    full
                    or tokens > room
                    or (max_messages is not None and len(kept) >= max_messages)
                ):
                    full = True
                    turn.context.dropped.append(message.id)
                    continue
                kept.append(message)
                room -= tokens
            if page.next_before is None:
                break
            before = page.next_before
        kept.reverse()
        # Never start with a reply whose question was dropped.
        while kept and kept[0].role is not Role.USER and turn.context.dropped:
            turn.context.dropped.append(kept.pop(0).id)
        return kept
