"""One MCP client session, held open on the manager's portal.

:func:`hold_session` opens a session and keeps it until asked to stop. The
whole opening (starting a stdio server, the HTTP connection with its OAuth,
the protocol handshake) is bounded by the server's ``timeout``; the caller
waits on :class:`Opening` for the same time, so a hung server is reported on
time even while the SDK is still stopping its process. ``Opening`` also
gathers what explains a later failure (stray stdout lines, HTTP error
statuses, OAuth failures) and counts the server's tool-list changes; why a
session failed is put in words by :mod:`llmcore.mcp.failures`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from llmcore.mcp.failures import safe_url

if TYPE_CHECKING:
    from llmcore.mcp.requests import Routes

__all__ = ["HTTPTarget", "Opening", "SessionOptions", "client_info", "hold_session"]

logger = logging.getLogger("llmcore.mcp")


@dataclass(frozen=True, slots=True)
class HTTPTarget:
    """A streamable-HTTP server: its URL, the headers every request carries, its OAuth."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    #: Makes the requests' httpx2.Auth (llmcore.mcp.oauth), on the portal's loop: the
    #: SDK's OAuth holds an anyio lock, which belongs to the loop it was made in.
    auth: Callable[[], Any] | None = None

    def __repr__(self) -> str:  # the headers may hold a token
        return f"HTTPTarget({safe_url(self.url)!r})"


class Opening:
    """The handover between a session being opened on the portal and its caller.

    ``ready`` gets ``(client, stop)`` or the opening's exception. ``faults``
    collects what the transport could not parse (stray stdout lines) for the
    whole life of the session: they explain a later timeout or closed connection.
    """

    def __init__(self) -> None:
        self.ready: Future[tuple[Any, anyio.Event]] = Future()
        self.faults: list[Exception] = []
        self.http_errors: list[str] = []
        self.auth_errors: list[Exception] = []
        #: How many times the server said its tool list changed (a cache compares it).
        self.tool_changes = 0
        #: Called with an OAuth failure, to end the calls waiting for an answer.
        self.on_auth_error: Callable[[Exception], None] | None = None
        self.scope: anyio.CancelScope | None = None  # the opening's, while it opens

    async def message_handler(self, message: Any) -> None:
        """The SDK client's message handler: transport faults, tool-list changes."""
        if isinstance(message, Exception):
            self.faults.append(message)
        elif getattr(message, "method", None) == "notifications/tools/list_changed":
            self.tool_changes += 1

    def auth_failed(self, exc: Exception) -> None:
        """OAuth could not get a token: fail the opening (or the calls) now, not at the timeout."""
        self.auth_errors.append(exc)
        if _settle(self.ready, exc):
            if self.scope is not None:  # stop opening: the caller has its answer
                self.scope.cancel()
        elif self.on_auth_error is not None:
            self.on_auth_error(exc)

    async def response_hook(self, response: Any) -> None:
        """An HTTP response hook: keep error statuses (the SDK's error does not say them).

        Only of POSTs, which carry the requests; a GET refused with 405 just
        means the server offers no event stream.
        """
        if response.status_code >= 400 and response.request.method == "POST":
            self.http_errors.append(f"HTTP {response.status_code} {response.reason_phrase}")

    def wait(self, timeout: float) -> tuple[Any, anyio.Event]:
        """Block (in a worker thread) until the session is open; TimeoutError after ``timeout``."""
        return self.ready.result(timeout=timeout)


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """How a session is opened: its protocol era, and who answers the server's requests.

    Attributes:
        mode: the SDK's ``mode``: ``auto`` or ``legacy``.
        routes: the callbacks for elicitation and sampling (None: the SDK's refusals).
        sampling: offer sampling (the server's ``sampling = true``).
    """

    mode: str = "auto"
    routes: Routes | None = None
    sampling: bool = False


async def hold_session(
    target: Any, time_limit: float, opening: Opening, options: SessionOptions | None = None
) -> None:
    """Open a client session, hand it over through ``opening``, keep it until stopped.

    Runs as a task of the manager's portal. Opening takes at most
    ``time_limit`` seconds (the server's ``timeout``); each request has the
    same read timeout. On a 2026-07-28 connection to a server that announces
    tool-list changes, a subscription counts them in ``opening.tool_changes``
    (older servers send the notification unasked).
    """
    from mcp import Client

    _quiet_parse_failures()
    options = options or SessionOptions()
    routes = options.routes
    stop = anyio.Event()
    try:
        # The deadline covers the opening only; the scope spans the session's life
        # because the client's task groups must close inside the scope they opened in.
        with anyio.CancelScope(deadline=anyio.current_time() + time_limit) as scope:
            opening.scope = scope
            async with AsyncExitStack() as stack:
                if isinstance(target, str):
                    target = HTTPTarget(target)
                if isinstance(target, HTTPTarget):  # our HTTP client, to see its statuses
                    target = await _http_transport(stack, target, opening)
                client = await stack.enter_async_context(
                    Client(
                        target,
                        read_timeout_seconds=time_limit,
                        message_handler=opening.message_handler,
                        mode=options.mode,
                        client_info=client_info(),
                        elicitation_callback=routes.on_elicit if routes else None,
                        sampling_callback=routes.on_sample if routes and options.sampling else None,
                    )
                )
                scope.deadline = math.inf
                opening.scope = None
                if _settle(opening.ready, (client, stop)):
                    async with anyio.create_task_group() as group:
                        if _announces_tool_changes(client):
                            group.start_soon(_count_tool_changes, client, opening)
                        await stop.wait()
                        group.cancel_scope.cancel()
                # else the caller gave up waiting: nobody will use this session
        if scope.cancelled_caught:
            raise TimeoutError(f"the MCP session did not open within {time_limit:g} s")
    except BaseException as exc:
        failure = exc if isinstance(exc, Exception) else RuntimeError("MCP portal stopped")
        _settle(opening.ready, failure)
        raise


def client_info() -> Any:
    """How llmcore names itself to servers."""
    from mcp_types import Implementation

    from llmcore import __version__

    return Implementation(name="llmcore", version=__version__)


def _announces_tool_changes(client: Any) -> bool:
    from mcp_types.version import MODERN_PROTOCOL_VERSIONS

    tools = client.server_capabilities.tools
    return bool(tools and tools.list_changed) and client.protocol_version in (
        MODERN_PROTOCOL_VERSIONS
    )


async def _count_tool_changes(client: Any, opening: Opening) -> None:
    """Listen for tool-list changes (2026-07-28): each one makes the cached list stale."""
    try:
        async with client.listen(tools_list_changed=True) as subscription:
            async for _ in subscription:
                opening.tool_changes += 1
    except Exception as exc:  # the server may refuse; the list's ttl still applies
        logger.debug("MCP tool-list subscription ended: %r", exc)


async def _http_transport(stack: AsyncExitStack, target: HTTPTarget, opening: Opening) -> Any:
    import httpx2  # the MCP SDK's HTTP client
    from mcp.client.streamable_http import streamable_http_client

    auth = None
    if target.auth is not None:
        from llmcore.mcp.oauth import ReportingAuth

        auth = ReportingAuth(target.auth(), opening.auth_failed)
    # The SDK's default timeouts: 30 s, and 300 s to read (a server may hold a stream open).
    http = httpx2.AsyncClient(
        headers=target.headers,
        timeout=httpx2.Timeout(30.0, read=300.0),
        event_hooks={"response": [opening.response_hook]},
        auth=auth,
    )
    await stack.enter_async_context(http)
    return streamable_http_client(target.url, http_client=http)


class _ParseFailureToDebug(logging.Filter):
    """Turn the SDK's traceback for a stray stdout line into a DEBUG record.

    The line is quoted in llmcore's MCPError if it breaks the connection; a
    server that prints a banner and then works needs no traceback on stderr.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Failed to parse JSONRPC message"):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            record.exc_info, record.exc_text = None, None
        return True


def _quiet_parse_failures() -> None:
    sdk_logger = logging.getLogger("mcp.client.stdio")
    if not any(isinstance(f, _ParseFailureToDebug) for f in sdk_logger.filters):
        sdk_logger.addFilter(_ParseFailureToDebug())


def _settle(future: Future[Any], outcome: Any) -> bool:
    """Give ``future`` its result (or exception); False if the caller already gave up."""
    try:
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
    except InvalidStateError:
        return False
    return True
