"""truncate: fit history and retrieved documents into the window together."""

from __future__ import annotations

from typing import Any, Literal

from llmcore.context.documents import check_templates
from llmcore.context.fit import FitRequest, fit
from llmcore.context.report import decide, log_decisions
from llmcore.context.settings import context_setting
from llmcore.context.summary import extend_summary
from llmcore.context.units import group_units
from llmcore.models import Message
from llmcore.services import Services
from llmcore.tokens.cached import MessageCounter
from llmcore.turn import Turn

__all__ = ["Truncate"]

Priority = Literal["history", "rag", "proportional"]
Combination = Literal["prepend_system", "prepend_user"]


class Truncate:
    """Place ``turn.documents`` in the payload and drop what does not fit.

    ``select_history`` has already fitted the history alone; when retrieved
    documents (or MCP resources) compete for the same room, this stage
    renders them by ``rag_combination_strategy`` and drops history or
    documents by ``truncation_priority`` until the payload fits. It returns
    at once when there are no documents.

    Options:
        priority: overrides ``truncation_priority``.
        combination: overrides ``rag_combination_strategy``.
    """

    name = "truncate"
    reads = ("history", "payload", "budget")
    optional_reads = ("documents",)
    provides = ("payload", "documents")

    def __init__(
        self,
        services: Services,
        *,
        priority: Priority | None = None,
        combination: Combination | None = None,
    ):
        if priority not in (None, "history", "rag", "proportional"):
            raise ValueError(
                f"priority must be 'history', 'rag' or 'proportional', not {priority!r}"
            )
        if combination not in (None, "prepend_system", "prepend_user"):
            raise ValueError(
                f"combination must be 'prepend_system' or 'prepend_user', not {combination!r}"
            )
        self.services = services
        self.priority = priority
        self.combination = combination

    @staticmethod
    def _prefix(turn: Turn) -> list[Message]:
        return [*turn.system_messages, *([turn.summary] if turn.summary else [])]

    @staticmethod
    def _fixed(turn: Turn) -> int:
        return sum(turn.budget.used.get(k, 0) for k in ("system", "summary", "overhead"))

    def _setting(self, turn: Turn, key: str) -> Any:
        return context_setting(turn, self.services.config.context_management, key)

    async def __call__(self, turn: Turn) -> None:
        """Fit history and documents; rebuild ``turn.payload``."""
        if not turn.documents:
            return
        assert turn.user_message is not None, "truncate needs load_session and select_history"
        provider = self.services.provider(turn.provider_name)
        count = MessageCounter(provider, turn.model)
        templates = [
            self._setting(turn, f"rag_{k}_template") for k in ("system", "user", "document")
        ]
        check_templates(*templates)
        budget = turn.budget
        request = FitRequest(
            available=budget.available,
            prefix=self._prefix(turn),
            fixed_tokens=self._fixed(turn),
            user=turn.user_message,
            units=group_units(turn.history),
            documents=sorted(turn.documents, key=lambda d: -(d.score or 0.0)),
            combination=self.combination or self._setting(turn, "rag_combination_strategy"),
            system_template=templates[0],
            user_template=templates[1],
            document_template=templates[2],
            priority=self.priority or self._setting(turn, "truncation_priority"),
            rag_share=self._setting(turn, "rag_share"),
            minimum_history=self._setting(turn, "minimum_history_messages"),
        )
        documents = request.documents
        fitted = await fit(request, count)
        summarize = self._setting(turn, "history_selection_strategy") == "summarize"
        if summarize and len(fitted.history) < len(turn.history):
            # What the documents pushed out is summarised too; then refit with
            # the (longer) summary in the prefix.
            gone = turn.history[: len(turn.history) - len(fitted.history)]
            await extend_summary(self.services, turn, gone, count)
            request.prefix = self._prefix(turn)
            request.fixed_tokens = self._fixed(turn)
            request.units = group_units(fitted.history)
            fitted = await fit(request, count)
            turn.history = [m for m in turn.history if m.id not in set(turn.context.summarized)]
        kept_ids = {m.id for m in fitted.history}
        dropped = [m.id for m in turn.history if m.id not in kept_ids]
        kept_docs = {d.id for d in fitted.documents}
        dropped_docs = [d.id for d in documents if d.id not in kept_docs]
        turn.history = fitted.history
        turn.documents = fitted.documents
        turn.payload = fitted.payload
        budget.used.update(fitted.used)
        turn.context.kept = [m.id for m in fitted.history]
        turn.context.dropped.extend(dropped)
        turn.context.dropped_documents.extend(dropped_docs)
        if dropped or dropped_docs:
            decide(
                turn,
                f"to fit {budget.available} tokens with {len(fitted.documents)} documents "
                f"({fitted.used['documents']} tokens), dropped {len(dropped)} history messages "
                f"and {len(dropped_docs)} documents",
            )
        log_decisions(turn)
