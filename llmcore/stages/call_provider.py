"""call_provider: send the payload to the model, run its tool calls, take its reply."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable

from llmcore.context.settings import context_setting
from llmcore.exceptions import (
    ConfigError,
    InvalidRequestError,
    OutputValidationError,
    ToolRoundsError,
)
from llmcore.exchange import ModelRequest, ModelResponse, ResponseInfo, StreamEvent, UsageEvent
from llmcore.models import Message, Role, ToolCall, Usage
from llmcore.providers.base import BaseProvider, ResponseStream, resolve_settings
from llmcore.providers.structured import output_tool_name
from llmcore.services import Services
from llmcore.tokens.cached import MessageCounter
from llmcore.tools.messages import tool_message
from llmcore.tools.run import run_tool_calls
from llmcore.tools.tool import ToolResult
from llmcore.turn import Turn

__all__ = ["CallProvider"]


class CallProvider:
    """Call the turn's provider with ``turn.payload``; fill ``turn.response``.

    One :class:`~llmcore.exchange.ModelRequest` is built (``turn.request``):
    the payload, the tools, and the settings resolved once for the turn
    (``turn.settings``). When the turn has tools and the model asks for
    them, the calls run (concurrently), their results are appended to the
    payload, and the model is called again, up to ``max_tool_rounds``
    rounds. The assistant's tool calls (with its text and reasoning) and the
    results are added to ``turn.new_messages`` so the session keeps them.
    With ``turn.stream`` the first request is sent here (so an error such as
    a bad key raises from ``chat()`` itself), the text of every round is
    delivered to the caller (:meth:`~llmcore.turn.Turn.deliver`), and the
    stage ends when the stream does.
    """

    name = "call_provider"
    reads = ("payload",)
    optional_reads = ("mcp_payload",)
    provides = ("request", "response")

    def __init__(self, services: Services):
        self.services = services

    async def __call__(self, turn: Turn) -> None:
        """Call the model (and the tools it asks for)."""
        provider = self.services.provider(turn.provider_name)
        if turn.mcp_payload is not None:
            turn.payload = provider.messages_from_mcp(turn.mcp_payload)
        settings = turn.settings or resolve_settings(provider.settings, turn.provider_kwargs)
        # The payload list itself: each tool round's messages join the next request.
        request = ModelRequest(
            model=turn.model,
            messages=turn.payload,
            settings=settings,
            tools=list(turn.tools),
            output_schema=turn.output.schema if turn.output is not None else None,
            output_name=turn.output.name if turn.output is not None else "output",
            stream=turn.stream,
            foreign_reasoning=context_setting(
                turn, self.services.config.context_management, "foreign_reasoning"
            ),
        )
        turn.request = request
        turn.provider_called = True
        try:
            first = await provider.stream(request) if turn.stream else None
            if first is None:
                await self._complete(turn, provider, request)
        except ConfigError:
            turn.provider_called = False  # no key, no SDK: nothing was sent
            raise
        except InvalidRequestError:
            # Refused before sending (content or an option the provider cannot
            # take): nothing reached the model, unless an earlier tool round did.
            if not turn.state.get("tool_rounds"):
                turn.provider_called = False
            raise
        finally:
            self._notes(turn, request)
        if first is not None:
            await turn.deliver(_Chunks(self._stream(turn, provider, request, first), first))

    @staticmethod
    def _notes(turn: Turn, request: ModelRequest) -> None:
        """What the provider changed or ignored to send the request, once each."""
        done = {n for t in turn.trace if t.name == CallProvider.name for n in t.notes}
        for note in request.notes:
            if note not in done:
                done.add(note)
                turn.note(note)

    async def _complete(self, turn: Turn, provider: BaseProvider, request: ModelRequest) -> None:
        while True:
            reply = await provider.respond(request)
            self._notes(turn, request)
            _estimate_usage(provider, request, reply)
            self._take(turn, reply)
            if not await self._run_tools(turn, reply) and self._output_done(
                turn, provider, request, reply
            ):
                break
        turn.response.complete = True

    def _rounds(self, turn: Turn) -> int:
        if turn.max_tool_rounds is not None:
            return turn.max_tool_rounds
        return self.services.config.llmcore.max_tool_rounds

    @staticmethod
    def _take(turn: Turn, reply: ModelResponse) -> None:
        """The latest round's reply is the turn's; usage adds up over the rounds."""
        response = turn.response
        response.parts = reply.parts
        response.usage = _add(response.usage, reply.usage)
        response.finish_reason = reply.finish_reason
        response.model = reply.model
        response.provider = reply.provider
        response.details = reply.details

    async def _run_tools(self, turn: Turn, reply: ModelResponse) -> bool:
        """Run the calls and extend the payload; False when the turn is done."""
        calls = reply.tool_calls
        if not calls or not turn.tools:
            return False
        turn.state["tool_rounds"] = rounds = turn.state.get("tool_rounds", 0) + 1
        sid = turn.session_id or ""
        limit = self._rounds(turn)
        # The assistant message keeps all of the reply: reasoning, text and calls.
        asking = Message(role=Role.ASSISTANT, parts=list(reply.parts), session_id=sid)
        if rounds > limit:
            self._refuse(turn, asking, calls, limit)
        by_name = {t.name: t for t in turn.tools}
        results = await run_tool_calls(calls, by_name)
        messages = [asking, *(tool_message(c, r, sid) for c, r in zip(calls, results, strict=True))]
        turn.payload.extend(messages)
        turn.new_messages.extend(messages)
        turn.note(f"round {rounds}: ran {', '.join(c.name for c in calls)}")
        turn.response.parts = []
        return True

    def _output_done(
        self, turn: Turn, provider: BaseProvider, request: ModelRequest, reply: ModelResponse
    ) -> bool:
        """Whether the final reply is the turn's answer: it matches ``output_type`` (or
        there is none). If not, the errors go back to the model (a repair round,
        sent but never stored) and False; with no rounds left, raise.
        """
        spec = turn.output
        if spec is None:
            return True
        refusal = reply.details.get("refusal")
        try:
            if refusal:
                raise ValueError(f"the model refused: {refusal}")
            turn.response.output = spec.read(reply.text)
            return True
        except ValueError as exc:
            error = str(exc)
        turn.state["output_repairs"] = repairs = turn.state.get("output_repairs", 0) + 1
        allowed = self._repairs(turn)
        if refusal or repairs > allowed:
            turn.response.complete = True  # whole, if invalid: stored as the model said it
            turn.response.details["output_error"] = error
            turn.note(f"output does not match {spec.name}: {error}")
            kept = " It is kept in the session." if turn.session_id and turn.save_session else ""
            raise OutputValidationError(
                f"The reply does not match output_type {spec.name} after {repairs} "
                f"attempt(s): {error}.{kept} Raise output_retries (now {allowed}; "
                "llmcore.output_retries in a config file), describe the fields in the message "
                "or the type's docstrings, or use a model with a native JSON-schema mode.",
                raw_text=refusal or reply.text,
                errors=[error],
                attempts=repairs,
            )
        turn.note(f"repair round {repairs}: the reply did not match {spec.name}: {error}")
        sid = turn.session_id or ""
        fix = (
            f"Your reply did not match the required JSON schema: {error}. Reply again with "
            "only the corrected JSON."
        )
        if provider.output_mode(request) == "tool":
            name = output_tool_name(request.tools)
            fix = f"Call {name} again with corrected arguments: {error}."
        # Sent with the next request only: the session keeps the answer that validates.
        request.messages.append(
            Message(role=Role.ASSISTANT, parts=list(reply.parts), session_id=sid)
        )
        request.messages.append(Message(role=Role.USER, content=fix, session_id=sid))
        turn.response.parts = []
        return False

    def _repairs(self, turn: Turn) -> int:
        if turn.output_retries is not None:
            return turn.output_retries
        return self.services.config.llmcore.output_retries

    @staticmethod
    def _refuse(turn: Turn, asking: Message, calls: list[ToolCall], limit: int) -> None:
        """Stop at the tool-round limit: keep the calls, answered as not run, and raise.

        The calls are stored with an error result each, so the session stays
        a valid conversation for every provider (a call without its result
        is refused by OpenAI and Anthropic) and shows what happened.
        """
        names = ", ".join(c.name for c in calls)
        note = f"Not run: the tool-round limit (max_tool_rounds = {limit}) was reached."
        sid = turn.session_id or ""
        turn.new_messages.append(asking)
        turn.new_messages += [tool_message(c, ToolResult(note, is_error=True), sid) for c in calls]
        turn.response.parts = []
        turn.note(f"stopped: {names} not run (max_tool_rounds = {limit})")
        raise ToolRoundsError(
            f"The model asked for more tool calls ({names}) after {limit} tool round(s), the "
            f"limit for this turn. They were not run; the conversation so far is kept. Pass "
            f"max_tool_rounds=N (or set llmcore.max_tool_rounds) to allow more rounds.",
            rounds=limit,
            calls=[c.name for c in calls],
        )

    async def _stream(
        self,
        turn: Turn,
        provider: BaseProvider,
        request: ModelRequest,
        stream: ResponseStream,
    ) -> AsyncGenerator[StreamEvent, None]:
        while True:
            try:
                async for event in stream:
                    if type(event) is not UsageEvent and type(event) is not ResponseInfo:
                        yield event  # text, reasoning and tool-call pieces, for the caller
            finally:
                # What arrived is the turn's reply, even if the stream broke.
                reply = stream.response
                _estimate_usage(provider, request, reply)
                self._take(turn, reply)
                await stream.aclose()
            if not await self._run_tools(turn, reply) and self._output_done(
                turn, provider, request, reply
            ):
                break
            stream = await provider.stream(request)
            self._notes(turn, request)
        turn.response.complete = True


class _Chunks:
    """The reply's events; closing them closes the provider's stream even if never read."""

    def __init__(self, chunks: AsyncGenerator[StreamEvent, None], stream: ResponseStream):
        self._chunks = chunks
        self._stream = stream

    def __aiter__(self) -> _Chunks:
        return self

    def __anext__(self) -> Awaitable[StreamEvent]:
        return self._chunks.__anext__()

    async def aclose(self) -> None:
        try:
            await self._chunks.aclose()
        finally:
            # A generator closed before its first step never ran its finally.
            await self._stream.aclose()


def _estimate_usage(provider: BaseProvider, request: ModelRequest, reply: ModelResponse) -> None:
    """A server that reports no usage: llmcore's own count, marked ``estimated``.

    The request's messages were counted by the context stages already (the
    counts are cached on them), so this costs the reply's text only.
    """
    if reply.usage is not None:
        return
    counter = MessageCounter(provider, request.model)
    reply.usage = Usage(
        input_tokens=counter.total(request.messages) + provider.request_overhead(request.model),
        output_tokens=provider.count_tokens(reply.text, request.model),
        estimated=True,
    )


def _add(total: Usage | None, more: Usage | None) -> Usage | None:
    """Usage summed over the rounds of a turn (estimated if any round's was)."""
    if more is None:
        return total
    if total is None:
        return Usage(
            input_tokens=more.input_tokens,
            output_tokens=more.output_tokens,
            reasoning_tokens=more.reasoning_tokens,
            estimated=more.estimated,
        )
    return Usage(
        input_tokens=total.input_tokens + more.input_tokens,
        output_tokens=total.output_tokens + more.output_tokens,
        reasoning_tokens=total.reasoning_tokens + more.reasoning_tokens,
        estimated=total.estimated or more.estimated,
    )
