"""Connections to MCP servers, shared across turns.

Each configured server (``[mcp.servers.NAME]``: a stdio ``command`` or a
streamable HTTP ``url``) gets one MCP ``Client`` session, opened on first
use and reused by every turn until :meth:`MCPManager.aclose`.

The sessions live on an event loop of their own, in a background thread
(an anyio blocking portal). An MCP session is a set of tasks tied to the
task that opened it; hosting them there means a session opened by one turn
can serve any later turn, under asyncio or trio, and be closed by whichever
task calls ``LLMCore.close()``.

A call that fails because the server died is retried once on a fresh
connection; a second failure raises :class:`~llmcore.exceptions.MCPError`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread

from llmcore.config.schema import MCPServerSettings, MCPSettings
from llmcore.config.suggest import did_you_mean
from llmcore.exceptions import MCPError

if TYPE_CHECKING:
    from anyio.abc import TaskStatus
    from anyio.from_thread import BlockingPortal

__all__ = ["MCPManager"]

logger = logging.getLogger("llmcore.mcp")

T = TypeVar("T")


@dataclass(slots=True)
class _Connection:
    client: Any  # mcp.Client
    stop: anyio.Event
    done: Future[Any]
    tools: list[Any] | None = None


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
        self, server: str, what: str, fn: Callable[[Any], Awaitable[T]], *, retry: bool = True
    ) -> T:
        """Run ``fn(client)`` on the server's session, in the portal, with its timeout.

        Reconnects once if the session fails; the second failure is an MCPError.
        """
        self.check(server)
        for attempt in (1, 2):
            connection = await self._connection(server, what)
            try:
                return await self._in_portal(self._with_timeout, server, fn, connection.client)
            except MCPError:
                raise
            except Exception as exc:
                if attempt == 2 or not retry:
                    raise MCPError(
                        f"MCP server {server!r} failed during {what}: {type(exc).__name__}: {exc}",
                        server=server,
                        call=what,
                    ) from exc
                logger.warning(
                    "MCP server %r failed during %s (%r); reconnecting", server, what, exc
                )
                await self._disconnect(server)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _with_timeout(self, server: str, fn: Callable[[Any], Awaitable[T]], client: Any) -> T:
        with anyio.fail_after(self._timeouts[server]):
            return await fn(client)

    async def list_tools(self, server: str) -> list[Any]:
        """The server's tools (``mcp.types.Tool``), cached until it reconnects."""
        connection = await self._connection(server, "tools/list")
        if connection.tools is None:
            result = await self.call(server, "tools/list", lambda c: c.list_tools())
            connection = await self._connection(server, "tools/list")
            connection.tools = list(result.tools)
        return connection.tools

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
            portal = await self._get_portal()
            target = self._client_target(server)
            try:
                done, (client, stop) = await anyio.to_thread.run_sync(
                    lambda: portal.start_task(_hold_session, target, self._timeouts[server])
                )
            except Exception as exc:
                where = _describe(self._targets[server])
                raise MCPError(
                    f"Cannot connect to MCP server {server!r} ({where}): {type(exc).__name__}: "
                    f"{exc}. Check its command/url in [mcp.servers.{server}].",
                    server=server,
                    call=what,
                ) from exc
            connection = self._connections[server] = _Connection(client, stop, done)
            return connection

    def _client_target(self, server: str) -> Any:
        target = self._targets[server]
        if not isinstance(target, MCPServerSettings):
            return target
        if target.url:
            return target.url
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


async def _hold_session(
    target: Any, read_timeout: float, *, task_status: TaskStatus[tuple[Any, anyio.Event]]
) -> None:
    """Open a client session and keep it open until asked to stop (runs in the portal)."""
    from mcp import Client

    stop = anyio.Event()
    async with Client(target, read_timeout_seconds=read_timeout) as client:
        task_status.started((client, stop))
        await stop.wait()


def _describe(target: Any) -> str:
    if isinstance(target, MCPServerSettings):
        return target.url or " ".join([target.command or "", *target.args]).strip()
    return type(target).__name__
