"""persist: append the turn's messages to the session store."""

from __future__ import annotations

import logging

import anyio

from llmcore.models import Message, Role, ToolCall
from llmcore.pipeline.stage import CallNext
from llmcore.services import Services
from llmcore.tokens.cached import MessageCounter
from llmcore.tools.messages import tool_message
from llmcore.tools.tool import ToolResult
from llmcore.turn import Turn

__all__ = ["Persist"]

logger = logging.getLogger("llmcore.stages.persist")

#: The result stored for a tool call the turn stopped before running.
NOT_RUN = "Not run: the turn was interrupted before the tool ran."


class Persist:
    """Append the turn's new messages (system if new, user, reply) in one write.

    A wrapping stage: it runs the rest of the turn (``call_next``) and saves
    afterwards, whatever happened. After a failure or a cancellation it saves,
    shielded, only if the provider was called, so nothing the user typed is
    lost once it was sent, and a turn that never reached the model (a bad
    option, a message too long for the window) stores nothing. A reply cut
    short (the caller stopped reading, or the stream broke) is stored with
    ``metadata["interrupted"] = True``; a tool call it made that never got a
    result (the turn stopped before or while the tool ran) is stored with an
    error result saying so, as the tool-round limit does, so the session stays
    a conversation every provider accepts. The save itself is shielded from
    cancellation: once the model has answered, a cancel landing mid-write
    does not lose the turn. Temporary sessions and ``save_session=False``
    store nothing.
    """

    name = "persist"
    reads = ("user_message",)
    provides = ()

    def __init__(self, services: Services):
        self.services = services

    async def __call__(self, turn: Turn, call_next: CallNext) -> None:
        """Run the rest of the turn, then append its messages to the session."""
        try:
            await call_next(turn)
        except BaseException as exc:
            if turn.provider_called:
                with anyio.CancelScope(shield=True):
                    try:
                        await self._save(turn)
                    except Exception as failure:  # the turn's own error is what matters
                        logger.error(
                            "Saving session %r after %s failed too: %s",
                            turn.session_id,
                            type(exc).__name__,
                            failure,
                        )
            raise
        # The model has answered: a cancel landing mid-write must not lose the turn.
        with anyio.CancelScope(shield=True):
            await self._save(turn)

    async def _save(self, turn: Turn) -> None:
        if turn.session_id is None or not turn.save_session:
            return
        messages = list(turn.new_messages)
        reply = await self._reply(turn)
        if reply is not None:
            messages.append(reply)
        before = len(messages)
        messages = _answer_unrun_calls(messages, turn.session_id)
        if len(messages) > before:
            turn.note(f"{len(messages) - before} tool call(s) stored as not run")
        store = await self.services.session_store()
        # The one writer of the session: messages and metadata changes (a
        # summary made this turn) go in one write.
        await store.append_turn(turn.session_id, messages, metadata=turn.session_updates or None)
        turn.note(f"appended {len(messages)} messages")

    async def _reply(self, turn: Turn) -> Message | None:
        response = turn.response
        if not response.complete and not response.parts:
            return None
        metadata: dict[str, object] = {
            "provider": turn.provider_name,
            "model": response.model or turn.model,
        }
        if response.usage is not None:
            usage: dict[str, object] = {
                "input_tokens": response.usage.input_tokens,
                "output_tokens": response.usage.output_tokens,
            }
            if response.usage.estimated:  # the server reported none: llmcore counted
                usage["estimated"] = True
            metadata["usage"] = usage
        if response.finish_reason is not None:
            metadata["finish_reason"] = response.finish_reason
        interrupted = response.interrupted or not response.complete
        if interrupted:
            metadata["interrupted"] = True
        if turn.output is not None:  # the text is the JSON of an output_type
            metadata["structured"] = True
            metadata["output_type"] = turn.output.name
            # Invalid after the repair rounds, or cut short before it could be validated.
            if "output_error" in response.details or (interrupted and response.output is None):
                metadata["output_valid"] = False
        reply = Message(
            role=Role.ASSISTANT,
            content=response.text,
            parts=list(response.parts),
            session_id=turn.session_id or "",
            metadata=metadata,
        )
        provider = self.services.provider(turn.provider_name)
        await MessageCounter(provider, turn.model).acount(reply)
        return reply


def _answer_unrun_calls(messages: list[Message], session_id: str) -> list[Message]:
    """``messages`` with an error result after each tool call that has none.

    A turn stopped mid tool round (the caller broke out of the stream at a
    tool call, or cancelled while a tool ran) leaves calls without results;
    OpenAI and Anthropic refuse every later request on such a conversation.
    """
    answered: list[Message] = []
    pending: list[ToolCall] = []
    for message in messages:
        result = message.tool_result if message.role is Role.TOOL else None
        if result is not None:
            pending = [c for c in pending if c.id != result.call_id]
        else:
            answered += _not_run(pending, session_id)
            pending = list(message.tool_calls) if message.role is Role.ASSISTANT else []
        answered.append(message)
    return answered + _not_run(pending, session_id)


def _not_run(calls: list[ToolCall], session_id: str) -> list[Message]:
    return [tool_message(c, ToolResult(NOT_RUN, is_error=True), session_id) for c in calls]
