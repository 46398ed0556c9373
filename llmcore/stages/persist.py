"""persist: append the turn's messages to the session store."""

from __future__ import annotations

from llmcore.models import Message, Role
from llmcore.services import Services
from llmcore.tokens.cached import MessageCounter
from llmcore.turn import Turn

__all__ = ["Persist"]


class Persist:
    """Append the turn's new messages (system if new, user, reply) in one write.

    Runs even when an earlier stage failed (``always_run``): once the
    provider was called, the user's message is kept so nothing they typed is
    lost; a failure before that (a bad option, a message too long for the
    window) stores nothing. A reply cut short (the caller stopped reading, or
    the stream broke) is stored with ``metadata["interrupted"] = True``.
    Temporary sessions and ``save_session=False`` store nothing.
    """

    name = "persist"
    always_run = True

    def __init__(self, services: Services):
        self.services = services

    async def __call__(self, turn: Turn) -> None:
        """Append this turn's messages to its session."""
        if turn.session_id is None or not turn.save_session:
            return
        if turn.error is not None and not turn.provider_called:
            return
        messages = list(turn.new_messages)
        reply = await self._reply(turn)
        if reply is not None:
            messages.append(reply)
        store = await self.services.session_store()
        await store.append_messages(turn.session_id, messages)
        turn.note(f"appended {len(messages)} messages")

    async def _reply(self, turn: Turn) -> Message | None:
        response = turn.response
        if not response.complete and not response.text:
            return None
        metadata: dict[str, object] = {
            "provider": turn.provider_name,
            "model": response.model or turn.model,
        }
        if response.usage is not None:
            metadata["usage"] = {
                "input_tokens": response.usage.input_tokens,
                "output_tokens": response.usage.output_tokens,
            }
        if response.finish_reason is not None:
            metadata["finish_reason"] = response.finish_reason
        if response.interrupted or not response.complete:
            metadata["interrupted"] = True
        reply = Message(
            role=Role.ASSISTANT,
            content=response.text,
            session_id=turn.session_id or "",
            metadata=metadata,
        )
        provider = self.services.provider(turn.provider_name)
        await MessageCounter(provider, turn.model).acount(reply)
        return reply
