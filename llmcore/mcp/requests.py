"""Requests MCP servers send to llmcore mid-call: elicitation and sampling.

A server asks for input or for a model reply while llmcore is calling it
(a tool call, mostly). The SDK hands the request to a callback on the MCP
sessions' background loop; the answer, though, belongs to the caller: its
``on_elicit`` handler, its providers (whose clients live in the caller's
event loop, asyncio or trio), its Turn. So each call carries a
:class:`CallScope`, and the callbacks reach the caller's loop through a
blocking portal the scope opened there.

Which call a request belongs to: on 2026-07-28 connections the requests
arrive inside the call itself (an input-required result the SDK resolves in
the calling task), so a context variable names the scope. Older servers
send standalone requests that say nothing of the call that caused them;
those go to the newest call in progress on that connection.

While a person answers (or a model replies), the call's timeout is paused:
it measures the server, not the person.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from llmcore.mcp.handlers import (
    Elicitation,
    ElicitationAnswer,
    ElicitationRecord,
    MCPHandlers,
    MCPRequestRecord,
    ask,
    check_answer,
)

if TYPE_CHECKING:
    from anyio.from_thread import BlockingPortal

    from llmcore.config.schema import MCPServerSettings
    from llmcore.providers.base import BaseProvider

__all__ = ["CallScope", "MCPContext", "Routes", "current_scope"]

logger = logging.getLogger("llmcore.mcp")

T = TypeVar("T")

#: The scope of the call running in this task (on the MCP portal).
current_scope: ContextVar[CallScope | None] = ContextVar("llmcore_mcp_call", default=None)


@dataclass(slots=True)
class MCPContext:
    """What calls into MCP servers may need to answer the servers' own requests.

    Attributes:
        handlers: the application's handlers (``on_elicit``).
        provider: finds a provider by name (``None``: the default one), to
            answer sampling requests; without it they are refused.
        records: where requests are recorded (``turn.mcp_requests``).
    """

    handlers: MCPHandlers = field(default_factory=MCPHandlers)
    provider: Callable[[str | None], BaseProvider] | None = None
    records: list[MCPRequestRecord] | None = None


class CallScope:
    """One call into a server, as seen by the requests the server sends during it.

    Args:
        server: the server's name.
        context: the caller's handlers, providers and records (None: none).
        tool: the tool being called, if it is a tool call.
    """

    def __init__(self, server: str, context: MCPContext | None = None, tool: str | None = None):
        self.server = server
        self.context = context or MCPContext()
        self.tool = tool
        #: The question the server asked when nobody could answer it.
        self.unanswered: Elicitation | None = None
        #: Why llmcore could not answer a request (a handler's failure, a bad answer).
        self.failure: str | None = None
        self.caller: BlockingPortal | None = None  # the caller's loop, while the call runs
        #: What ended the call early (an OAuth failure), raised instead of its outcome.
        self.error: Exception | None = None
        self._scope: anyio.CancelScope | None = None
        self._paused = 0
        self._left = 0.0

    def needs_caller(self, sampling: bool) -> bool:
        """Whether answering may need the caller's loop: a handler, or providers to sample."""
        if self.context.handlers.on_elicit is not None:
            return True
        return sampling and self.context.provider is not None

    # -- the call's timeout, paused while llmcore answers ------------------

    @contextmanager
    def timeout(self, seconds: float) -> Iterator[None]:
        """Run the block with a timeout that stops while a request is answered.

        Raises:
            TimeoutError: the server used up ``seconds``.
        """
        with anyio.CancelScope(deadline=anyio.current_time() + seconds) as scope:
            self._scope = scope
            try:
                yield
            finally:
                self._scope = None
        if scope.cancelled_caught:
            if self.error is not None:
                raise self.error
            raise TimeoutError(f"no answer within {seconds:g} s")

    def abort(self, exc: Exception) -> None:
        """End the call now with ``exc`` (the connection can no longer answer it)."""
        self.error = exc
        if self._scope is not None:
            self._scope.cancel()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The call's clock stops inside this block (nested and concurrent uses count)."""
        scope = self._scope
        if scope is not None and not self._paused:
            self._left = scope.deadline - anyio.current_time()
            scope.deadline = math.inf
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1
            if scope is not None and not self._paused and self._scope is scope:
                scope.deadline = anyio.current_time() + self._left

    async def on_caller(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``fn(*args)`` in the caller's event loop, from the MCP portal, clock paused."""
        caller = self.caller
        if caller is None:  # pragma: no cover - needs_caller() decided there is one
            raise RuntimeError("no caller loop for this MCP call")
        with self.paused():
            return await anyio.to_thread.run_sync(
                lambda: caller.call(fn, *args), abandon_on_cancel=True
            )

    # -- elicitation -------------------------------------------------------

    async def elicit(self, params: Any) -> Any:
        """Answer an ``elicitation/create`` (or an input-required elicitation)."""
        import mcp_types as types

        request = Elicitation(
            server=self.server,
            message=str(params.message),
            schema=dict(getattr(params, "requested_schema", None) or {}),
            tool=self.tool,
            url=getattr(params, "url", None),
        )
        handler = self.context.handlers.on_elicit
        if handler is None:
            self.unanswered = request
            self._record(ElicitationRecord(self.server, request.message, self.tool, "unanswered"))
            return types.ErrorData(
                code=types.INVALID_REQUEST,
                message="The client cannot ask its user: it has no elicitation handler.",
            )
        try:
            answer = await self.on_caller(self._ask_caller, handler, request)
        except Exception as exc:
            self.failure = f"the on_elicit handler failed: {type(exc).__name__}: {exc}"
            logger.warning("MCP server %r: %s", self.server, self.failure)
            return types.ErrorData(code=types.INTERNAL_ERROR, message="The client failed to ask.")
        if isinstance(answer, str):  # the answer did not fit the schema
            self.failure = answer
            return types.ErrorData(code=types.INVALID_PARAMS, message=answer)
        return types.ElicitResult(action=answer.action, content=answer.content)

    async def _ask_caller(self, handler: Any, request: Elicitation) -> ElicitationAnswer | str:
        """In the caller's loop: ask, check the answer, record it."""
        answer = await ask(handler, request)
        problem = check_answer(request, answer)
        action = answer.action if problem is None else "invalid"
        self._record(ElicitationRecord(self.server, request.message, self.tool, action))
        if problem is not None:
            logger.warning(
                "MCP server %r: the on_elicit answer does not fit: %s", self.server, problem
            )
            return f"the on_elicit answer does not fit the server's schema ({problem})"
        return answer

    # -- sampling ----------------------------------------------------------

    async def sample(self, settings: MCPServerSettings, params: Any) -> Any:
        """Answer a ``sampling/createMessage`` with llmcore's providers."""
        import mcp_types as types

        if self.context.provider is None:
            return types.ErrorData(
                code=types.INVALID_REQUEST, message="The client has no model to sample from now."
            )
        from llmcore.mcp.sampling import answer_sampling

        try:
            result, record = await self.on_caller(
                answer_sampling, self.context.provider, settings, params, self.server, self.tool
            )
        except Exception as exc:
            logger.warning("MCP server %r: sampling failed: %s", self.server, exc)
            # The server learns that it failed, not llmcore's configuration.
            reason = f"Sampling failed ({type(exc).__name__})"
            return types.ErrorData(code=types.INTERNAL_ERROR, message=reason)
        self._record(record)
        return result

    def _record(self, record: MCPRequestRecord) -> None:
        if self.context.records is not None:
            self.context.records.append(record)


class Routes:
    """The calls in progress on one connection, and the SDK callbacks that reach them."""

    def __init__(self, server: str, settings: MCPServerSettings | None):
        self.server = server
        self.settings = settings
        self._active: list[CallScope] = []

    @contextmanager
    def running(self, scope: CallScope) -> Iterator[None]:
        """Make ``scope`` the call that requests reach while the block runs (portal side)."""
        token = current_scope.set(scope)
        self._active.append(scope)
        try:
            yield
        finally:
            self._active.remove(scope)
            current_scope.reset(token)

    def abort_all(self, exc: Exception) -> None:
        """End every call in progress with ``exc``."""
        for scope in list(self._active):
            scope.abort(exc)

    def scope(self) -> CallScope | None:
        """The call a request belongs to: this task's, else the newest on the connection."""
        own = current_scope.get()
        if own is not None:
            return own
        return self._active[-1] if self._active else None

    async def on_elicit(self, context: Any, params: Any) -> Any:
        """The SDK's ``elicitation_callback``."""
        import mcp_types as types

        scope = self.scope()
        if scope is None:
            return types.ErrorData(
                code=types.INVALID_REQUEST, message="No call in progress to ask for."
            )
        return await scope.elicit(params)

    async def on_sample(self, context: Any, params: Any) -> Any:
        """The SDK's ``sampling_callback`` (installed only with ``sampling = true``)."""
        import mcp_types as types

        scope = self.scope()
        if scope is None or self.settings is None:
            return types.ErrorData(
                code=types.INVALID_REQUEST, message="No call in progress to sample for."
            )
        return await scope.sample(self.settings, params)
