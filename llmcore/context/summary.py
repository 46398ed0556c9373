"""Summaries of history that no longer fits the window.

With ``history_selection_strategy = "summarize"``, the messages that fall
out of the window are summarised by a model (``summary_provider`` /
``summary_model``, default: the turn's own) and the summary is stored in the
session's metadata under ``"summary"``: its text, the id of the newest
message it covers (``through``), how many messages it covers, and who wrote
it. Later turns reuse it and only extend it when more messages fall out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llmcore.context.report import decide
from llmcore.context.settings import context_setting
from llmcore.models import Message, Role, utcnow
from llmcore.providers.base import BaseProvider
from llmcore.tokens.cached import MessageCounter
from llmcore.turn import Turn

if TYPE_CHECKING:
    from llmcore.services import Services

__all__ = ["SUMMARY_KEY", "extend_summary", "summary_message", "write_summary"]

SUMMARY_KEY = "summary"

_INSTRUCTIONS = (
    "You write concise summaries of conversations for an assistant that will continue "
    "them. Keep names, facts, numbers, decisions and open questions. Write plain prose in "
    "the third person, with no preamble."
)


def summary_message(summary: dict[str, Any]) -> Message:
    """The system message that carries a stored summary into the payload."""
    return Message(
        role=Role.SYSTEM,
        content=f"Summary of the earlier conversation:\n{summary['text']}",
        metadata={"summary": True, "through": summary.get("through")},
    )


async def write_summary(
    provider: BaseProvider,
    model: str,
    previous: dict[str, Any] | None,
    messages: Sequence[Message],
    *,
    max_tokens: int,
) -> dict[str, Any]:
    """Summarise ``messages`` (oldest first), extending ``previous`` if given.

    Returns the summary record to store in the session's metadata.
    """
    transcript = "\n".join(f"{m.role.value}: {m.content}" for m in messages)
    earlier = f"Summary so far:\n{previous['text']}\n\n" if previous else ""
    prompt = [
        Message(role=Role.SYSTEM, content=_INSTRUCTIONS),
        Message(
            role=Role.USER,
            content=f"{earlier}Conversation to add:\n{transcript}\n\nWrite the updated summary.",
        ),
    ]
    result = await provider.chat_completion(prompt, model=model, max_tokens=max_tokens)
    return {
        "text": result.text.strip(),
        "through": messages[-1].id,
        "covers": (previous or {}).get("covers", 0) + len(messages),
        "provider": provider.name,
        "model": model,
        "updated_at": utcnow().isoformat(),
    }


async def extend_summary(
    services: Services, turn: Turn, messages: Sequence[Message], count: MessageCounter
) -> None:
    """Summarise ``messages`` (oldest first) into the turn's summary and store it.

    Sets ``turn.summary`` and its token count, records the messages in
    ``turn.context.summarized``, and puts the summary in
    ``turn.session_updates``: ``persist`` stores it in the session's metadata
    with the turn's messages (unless the turn does not save), so later turns
    reuse it.
    """
    settings = services.config.context_management
    provider_name = context_setting(turn, settings, "summary_provider") or turn.provider_name
    provider = services.provider(provider_name)
    model = context_setting(turn, settings, "summary_model") or (
        turn.model if provider_name == turn.provider_name else provider.default_model
    )
    assert turn.session is not None
    previous = turn.session.metadata.get(SUMMARY_KEY)
    record = await write_summary(
        provider,
        model,
        previous,
        messages,
        max_tokens=context_setting(turn, settings, "summary_max_tokens"),
    )
    turn.summary = summary_message(record)
    turn.budget.used["summary"] = await count.acount(turn.summary)
    turn.session.metadata[SUMMARY_KEY] = record
    # persist saves it with the turn's messages, in the same write.
    turn.session_updates[SUMMARY_KEY] = record
    turn.context.summarized.extend(m.id for m in messages)
    decide(turn, f"summarised {len(messages)} older messages with {provider_name}/{model}")
