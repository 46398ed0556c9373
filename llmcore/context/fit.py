"""Fitting history and documents into the token budget by a truncation priority.

History is kept as a suffix of whole units (the newest), documents as a
prefix of the score-ordered list (the best), so every choice is "how many"
and the costs can be computed once per size:

- ``history``: drop the oldest history first, down to
  ``minimum_history_messages``; then the lowest-scored documents; then the
  rest of the history.
- ``rag``: drop the lowest-scored documents first, then the oldest history.
- ``proportional``: documents get ``rag_share`` of the room and history the
  rest; whatever one side leaves unused goes to the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from llmcore.context.documents import with_documents
from llmcore.context.units import flatten
from llmcore.models import ContextDocument, Message
from llmcore.tokens.cached import MessageCounter

__all__ = ["FitRequest", "Fitted", "fit"]


@dataclass(slots=True)
class FitRequest:
    """Everything :func:`fit` needs to know about a turn."""

    available: int
    prefix: list[Message]  # system message(s) and summary: always sent, before the rest
    fixed_tokens: int  # tokens of the prefix plus the request overhead
    user: Message
    units: list[list[Message]]  # history units, oldest first
    documents: list[ContextDocument]  # best first
    combination: str
    system_template: str
    user_template: str
    document_template: str
    priority: str
    rag_share: float
    minimum_history: int


@dataclass(slots=True)
class Fitted:
    """The chosen history and documents, the payload, and its token count by part."""

    history: list[Message]
    documents: list[ContextDocument]
    payload: list[Message]
    used: dict[str, int] = field(default_factory=dict)
    total: int = 0


async def fit(request: FitRequest, count: MessageCounter) -> Fitted:
    """Choose how much history and how many documents to send."""
    units, docs = request.units, request.documents
    user_tokens = await count.acount(request.user)
    suffix = [0] * (len(units) + 1)  # suffix[i]: tokens of units[i:]
    for i in range(len(units) - 1, -1, -1):
        suffix[i] = suffix[i + 1] + sum([await count.acount(m) for m in units[i]])
    doc_parts: dict[int, tuple[Message | None, Message, int]] = {}

    async def doc_cost(n: int) -> int:
        if n not in doc_parts:
            system, user = with_documents(
                request.combination,
                docs[:n],
                request.user,
                system_template=request.system_template,
                user_template=request.user_template,
                document_template=request.document_template,
            )
            cost = await count.acount(system) if system is not None else 0
            if user is not request.user:
                cost += await count.acount(user) - user_tokens
            doc_parts[n] = (system, user, cost)
        return doc_parts[n][2]

    base = request.fixed_tokens + user_tokens

    async def over(start: int, n: int) -> bool:
        return base + suffix[start] + await doc_cost(n) > request.available

    start, n = 0, len(docs)
    if request.priority == "proportional":
        room = request.available - base
        while n > 0 and await doc_cost(n) > room * request.rag_share:
            n -= 1
        while start < len(units) and suffix[start] > room - await doc_cost(n):
            start += 1
        while n < len(docs) and await doc_cost(n + 1) + suffix[start] <= room:
            n += 1
    else:
        floor = _floor_start(units, request.minimum_history)
        # Each step drops from one side, oldest history or lowest-scored
        # documents first, as far as its limit allows.
        steps: tuple[tuple[str, int], ...] = (
            ("history", floor),
            ("documents", 0),
            ("history", len(units)),
        )
        if request.priority == "rag":
            steps = (("documents", 0), ("history", len(units)))
        for side, limit in steps:
            while await over(start, n):
                if side == "documents" and n > limit:
                    n -= 1
                elif side == "history" and start < limit:
                    start += 1
                else:
                    break
    await doc_cost(n)
    system, user, cost = doc_parts[n]
    history = flatten(units[start:])
    payload = [*request.prefix, *([system] if system else []), *history, user]
    used = {"history": suffix[start], "documents": cost}
    return Fitted(history, docs[:n], payload, used, base + suffix[start] + cost)


def _floor_start(units: Sequence[Sequence[Message]], minimum: int) -> int:
    """The latest start index whose suffix still holds ``minimum`` messages."""
    if minimum <= 0:
        return len(units)
    held = 0
    for i in range(len(units) - 1, -1, -1):
        held += len(units[i])
        if held >= minimum:
            return i
    return 0
