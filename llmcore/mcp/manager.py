"""Connections to MCP servers, shared across turns.

Each configured server (``[mcp.servers.NAME]``: a stdio ``command`` or a
streamable HTTP ``url``) gets one MCP ``Client`` session, opened on first
use and reused by every turn until :meth:`MCPManager.aclose`.

The sessions live on an event loop of their own, in a background thread
(an anyio blocking portal). An MCP session is a set of tasks tied to the
task that opened it; hosting them there means a session opened by one turn
can serve any later turn, under asyncio or trio, and be closed by whichever
task calls ``LLMCore.close()``. What a server asks during a call
(elicitation, sampling) is answered in the caller's own loop, through the
call's :class:`~llmcore.mcp.requests.CallScope`; the call's timeout stops
meanwhile. A server reached by URL may use OAuth (:mod:`llmcore.mcp.oauth`).
Tool lists are cached per connection (:meth:`MCPManager.list_tools`).

Every failure is an :class:`~llmcore.exceptions.MCPError` of one line that
names the server (its config name, and its command's name or URL without
credentials) and the cause, within the server's ``timeout``: a server that
does not start, exits, writes garbage on stdout or hangs. A call that fails
because the server died is retried once on a fresh connection; a call that
timed out or that the server answered with an error is not.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread

from llmcore.config.schema import MCPServerSettings, MCPSettings
from llmcore.config.suggest import did_you_mean
from llmcore.exceptions import MCPError
from llmcore.mcp.connection import HTTPTarget, Opening, SessionOptions, hold_session
from llmcore.mcp.failures import answered as failure_answered
from llmcore.mcp.failures import describe_target, failure_cause
from llmcore.mcp.requests import CallScope, Routes

if TYPE_CHECKING:
    from anyio.from_thread import BlockingPortal

__all__ = ["MCPManager"]

logger = logging.getLogger("llmcore.mcp")

T = TypeVar("T")

#: How much longer than its timeout a caller waits for a session to open (the
#: opening itself is bounded by the timeout, on the portal, which starts a moment later).
_OPEN_MARGIN = 0.1
#: Most pages of a tool list read (a server whose cursor never ends cannot hang a turn).
_MAX_PAGES = 100


@dataclass(slots=True)
class _Connection:
    client: Any  # mcp.Client
    stop: anyio.Event
    done: Future[Any]
    opening: Opening  # its faults and HTTP errors, for the causes of failed calls
    routes: Routes  # the calls in progress, for the server's own requests
    seen_http_errors: int = 0
    tools: list[Any] | None = None
    tools_expire: float = math.inf  # time.monotonic() after which the list is stale
    tools_seen: int = 0  # the server's tool-list changes the list includes


class MCPManager:
    """Opens, shares and closes the MCP client sessions of one LLMCore."""

    def __init__(self, settings: MCPSettings):
        self._targets: dict[str, Any] = {}
        self._timeouts: dict[str, float] = {}
        for name, server in settings.servers.items():
            if server.enabled:
                self._targets[name] = server
                self._timeouts[name] = server.timeout
        self._connections: dict[str, _Connection] = {}
        self._portal: BlockingPortal | None = None
        self._portal_cm: Any = None
        self._lock = anyio.Lock()

    # -- servers ----------------------------------------------------------

    @property
    def server_names(self) -> list[str]:
        """The servers that can be used (configured and enabled, or added)."""
        return sorted(self._targets)

    def add_server(self, name: str, server: Any, *, timeout: float = 30.0) -> None:
        """Register a server: an ``MCPServer`` (in-process), a URL, or stdio parameters."""
        if name in self._targets:
            raise MCPError(f"An MCP server named {name!r} is already registered.", server=name)
        self._targets[name] = server
        self._timeouts[name] = timeout

    def check(self, name: str) -> None:
        """Raise MCPError when no server has that name."""
        if name not in self._targets:
            known = ", ".join(self.server_names) or "none"
            hint = did_you_mean(name, self._targets)
            raise MCPError(
                f"No MCP server named {name!r} (servers: {known}).{hint} "
                f"Add an [mcp.servers.{name}] section with a command or a url.",
                server=name,
            )

    # -- calls ------------------------------------------------------------

    async def call(
        self,
        server: str,
        what: str,
        fn: Callable[[Any], Awaitable[T]],
        *,
        retry: bool = True,
        scope: CallScope | None = None,
    ) -> T:
        """Run ``fn(client)`` on the server's session, in the portal, with its timeout.

        Reconnects once if the connection broke; the second failure, a
        timeout or an error answer from the server is an MCPError. The
        server's requests during the call (elicitation, sampling) are
        answered through ``scope``; while they are, the timeout is paused.
        """
        self.check(server)
        scope = scope or CallScope(server)
        target = self._targets[server]
        sampling = isinstance(target, MCPServerSettings) and target.sampling
        if not scope.needs_caller(sampling):
            return await self._call(server, what, fn, retry, scope)
        from anyio.from_thread import BlockingPortal

        # The server's requests are answered in this (the caller's) event loop. The
        # outcome leaves the portal's task group as it is, not in an exception group.
        failure: Exception | None = None
        async with BlockingPortal() as caller:
            scope.caller = caller
            try:
                result = await self._call(server, what, fn, retry, scope)
            except Exception as exc:
                failure = exc
            finally:
                scope.caller = None
                # A question still open (its server died mid-answer) is not waited for.
                await caller.stop(cancel_remaining=True)
        if failure is not None:
            raise failure
        return result

    async def _call(
        self,
        server: str,
        what: str,
        fn: Callable[[Any], Awaitable[T]],
        retry: bool,
        scope: CallScope,
    ) -> T:
        for attempt in (1, 2):
            connection = await self._connection(server, what)
            try:
                return await self._in_portal(self._run_scoped, server, fn, connection, scope)
            except MCPError:
                raise
            except Exception as exc:
                answered = failure_answered(exc)
                if attempt == 2 or not retry or answered:
                    cause = failure_cause(
                        exc,
                        target=self._targets[server],
                        timeout=self._timeouts[server],
                        faults=connection.opening.faults,
                        http_errors=connection.opening.http_errors[connection.seen_http_errors :],
                        auth_errors=connection.opening.auth_errors,
                    )
                    verb = "refused" if answered == "error" else "failed during"
                    raise MCPError(
                        f"MCP server {server!r} {verb} {what}: {cause}.", server=server, call=what
                    ) from exc
                logger.warning(
                    "MCP server %r failed during %s (%s); reconnecting",
                    server,
                    what,
                    type(exc).__name__,
                )
                await self._disconnect(server)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _run_scoped(
        self,
        server: str,
        fn: Callable[[Any], Awaitable[T]],
        connection: _Connection,
        scope: CallScope,
    ) -> T:
        """On the portal: the call, reachable by the server's requests, within its timeout."""
        with connection.routes.running(scope), scope.timeout(self._timeouts[server]):
            return await fn(connection.client)

    async def list_tools(self, server: str) -> list[Any]:
        """The server's tools (``mcp.types.Tool``), reused while fresh.

        A list is reused no longer than until the server says its tools
        changed, and for the ttl the server gives it (2026-07-28). A ttl of
        0 from a server that announces its changes (the SDK's default when
        the server's author set none) and no ttl at all (older servers)
        leave it to the server's ``tools_ttl``, else to the next change or
        reconnection; a server that announces nothing and says 0 is asked
        every time.
        """
        connection = await self._connection(server, "tools/list")
        if not _fresh(connection):
            seen = connection.opening.tool_changes
            tools, ttl, announces = await self.call(server, "tools/list", _list_tools)
            connection = await self._connection(server, "tools/list")  # it may have reconnected
            if ttl is None or (ttl <= 0 and announces):
                target = self._targets[server]
                ttl = target.tools_ttl if isinstance(target, MCPServerSettings) else None
            connection.tools, connection.tools_seen = tools, seen
            connection.tools_expire = math.inf if ttl is None else time.monotonic() + ttl
        return list(connection.tools or ())

    # -- plumbing ---------------------------------------------------------

    async def _in_portal(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        portal = await self._get_portal()
        return await anyio.to_thread.run_sync(lambda: portal.call(fn, *args))

    async def _get_portal(self) -> BlockingPortal:
        if self._portal is None:
            from anyio.from_thread import start_blocking_portal

            def start() -> tuple[Any, BlockingPortal]:
                cm = start_blocking_portal(backend="asyncio")
                return cm, cm.__enter__()

            self._portal_cm, portal = await anyio.to_thread.run_sync(start)
            self._portal = portal
            return portal
        return self._portal

    async def _connection(self, server: str, what: str) -> _Connection:
        existing = self._connections.get(server)
        if existing is not None:
            return existing
        async with self._lock:
            existing = self._connections.get(server)
            if existing is not None:
                return existing
            connection = self._connections[server] = await self._open(server, what)
            return connection

    async def _open(self, server: str, what: str) -> _Connection:
        """Open the server's session on the portal, waiting at most its timeout."""
        portal = await self._get_portal()
        target = self._client_target(server)
        timeout = self._timeouts[server]
        settings = self._targets[server]
        settings = settings if isinstance(settings, MCPServerSettings) else None
        routes = Routes(server, settings)
        options = SessionOptions(
            mode=settings.protocol if settings else "auto",
            routes=routes,
            sampling=bool(settings and settings.sampling),
        )
        opening = Opening()
        opening.on_auth_error = routes.abort_all
        done = await anyio.to_thread.run_sync(
            lambda: portal.start_task_soon(hold_session, target, timeout, opening, options)
        )
        try:
            client, stop = await anyio.to_thread.run_sync(
                opening.wait, timeout + _OPEN_MARGIN, abandon_on_cancel=True
            )
        except BaseException as exc:
            # Given up: the portal task then stops opening the session or closes it.
            if opening.ready.cancel() or not _opened(opening.ready):
                if not isinstance(exc, Exception):
                    raise
                cause = failure_cause(
                    exc,
                    target=target,
                    timeout=timeout,
                    faults=opening.faults,
                    http_errors=opening.http_errors,
                    auth_errors=opening.auth_errors,
                )
                where = describe_target(self._targets[server])
                raise MCPError(
                    f"Cannot connect to MCP server {server!r} ({where}): {cause}. "
                    f"Check [mcp.servers.{server}].",
                    server=server,
                    call=what,
                ) from exc
            # It opened just as we gave up.
            client, stop = opening.ready.result()
            if not isinstance(exc, Exception):  # our caller is cancelled: close it
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(portal.call, stop.set)
                raise
        return _Connection(client, stop, done, opening, routes, len(opening.http_errors))

    def _client_target(self, server: str) -> Any:
        target = self._targets[server]
        if not isinstance(target, MCPServerSettings):
            return target
        if target.url:
            auth = None
            if target.auth == "oauth":
                from llmcore.mcp.oauth import server_auth

                auth = functools.partial(server_auth, server, target)
            return HTTPTarget(target.url, dict(target.headers), auth)
        if target.command:
            from mcp import StdioServerParameters

            return StdioServerParameters(
                command=target.command, args=list(target.args), env=dict(target.env) or None
            )
        raise MCPError(
            f"MCP server {server!r} has neither a command nor a url: set one in "
            f"[mcp.servers.{server}].",
            server=server,
        )

    async def _disconnect(self, server: str) -> None:
        connection = self._connections.pop(server, None)
        if connection is None or self._portal is None:
            return
        portal = self._portal

        def stop() -> None:
            portal.call(connection.stop.set)
            try:
                connection.done.result(timeout=10)
            except Exception as exc:  # a dead server fails on the way out too
                logger.debug("Closing MCP server %r: %r", server, exc)

        await anyio.to_thread.run_sync(stop)

    async def aclose(self) -> None:
        """Close every session and stop the background loop."""
        with anyio.CancelScope(shield=True):
            for server in list(self._connections):
                await self._disconnect(server)
            if self._portal_cm is not None:
                cm, self._portal_cm, self._portal = self._portal_cm, None, None
                await anyio.to_thread.run_sync(lambda: cm.__exit__(None, None, None))


def _fresh(connection: _Connection) -> bool:
    return (
        connection.tools is not None
        and connection.tools_seen == connection.opening.tool_changes
        and time.monotonic() < connection.tools_expire
    )


async def _list_tools(client: Any) -> tuple[list[Any], float | None, bool]:
    """Every page of the server's tools, from the server itself; the ttl it gave (s);
    whether it announces changes to them."""
    from mcp_types.version import MODERN_PROTOCOL_VERSIONS

    tools: list[Any] = []
    ttl: float | None = None
    cursor: str | None = None
    for page_number in range(_MAX_PAGES):
        # "refresh": the SDK's own cache would hand back what ours just let go stale.
        page = await client.list_tools(cursor=cursor, cache_mode="refresh")
        modern = client.protocol_version in MODERN_PROTOCOL_VERSIONS
        if page_number == 0 and modern and "ttl_ms" in page.model_fields_set:
            ttl = page.ttl_ms / 1000
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    capability = client.server_capabilities.tools
    return tools, ttl, bool(capability and capability.list_changed)


def _opened(future: Future[Any]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None
