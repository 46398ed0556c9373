"""One MCP client session, held open on the manager's portal, and its failures in one line.

:func:`hold_session` opens a session and keeps it until asked to stop. The
whole opening (starting a stdio server, the HTTP connection, the protocol
handshake) is bounded by the server's ``timeout``; the caller waits on
:class:`Opening` for the same time, so a hung server is reported on time even
while the SDK is still stopping its process.

:func:`failure_cause` turns whatever the SDK raised (often an exception group
from its task groups) into one short cause: "it did not answer within 3 s",
"it exited before answering", "it wrote something that is not JSON-RPC on
stdout". :func:`describe_target` names a server's target without its
arguments, credentials or query string.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, InvalidStateError
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio

if TYPE_CHECKING:
    from llmcore.mcp.requests import Routes

__all__ = [
    "HTTPTarget",
    "Opening",
    "SessionOptions",
    "describe_target",
    "failure_cause",
    "hold_session",
    "leaves",
]

logger = logging.getLogger("llmcore.mcp")

#: Longest excerpt of a server's stray stdout line quoted in an error.
_EXCERPT = 60
#: What the SDK's HTTP transport says in place of an HTTP error status.
_HTTP_STAND_INS = frozenset(
    {"Server returned an error response", "Not Found", "Session terminated"}
)


@dataclass(frozen=True, slots=True)
class HTTPTarget:
    """A streamable-HTTP server: its URL, the headers every request carries, its OAuth."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    #: Makes the requests' httpx2.Auth (llmcore.mcp.oauth), on the portal's loop: the
    #: SDK's OAuth holds an anyio lock, which belongs to the loop it was made in.
    auth: Callable[[], Any] | None = None

    def __repr__(self) -> str:  # the headers may hold a token
        return f"HTTPTarget({_safe_url(self.url)!r})"


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


def describe_target(target: Any) -> str:
    """Name a server's target for an error: the command's name, or the URL without secrets."""
    from llmcore.config.schema import MCPServerSettings

    if isinstance(target, MCPServerSettings):
        if target.url:
            return f"url {_safe_url(target.url)}"
        if target.command:
            return f"command {os.path.basename(target.command)!r}"
        return "no command or url"
    if isinstance(target, HTTPTarget):
        target = target.url
    if isinstance(target, str):
        return f"url {_safe_url(target)}"
    command = getattr(target, "command", None)  # mcp.StdioServerParameters
    if isinstance(command, str):
        return f"command {os.path.basename(command)!r}"
    return f"in-process {type(target).__name__}"


def _safe_url(url: str) -> str:
    """``scheme://host:port/path``: no user, password, query or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unparsable url)"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def leaves(exc: BaseException) -> Iterator[BaseException]:
    """The exceptions inside (nested) exception groups, or ``exc`` itself."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from leaves(inner)
    else:
        yield exc


def failure_cause(
    exc: BaseException,
    *,
    target: Any,
    timeout: float,
    faults: Sequence[Exception] = (),
    http_errors: Sequence[str] = (),
    auth_errors: Sequence[Exception] = (),
) -> str:
    """One short sentence saying why opening or using a session failed."""
    from mcp.shared.exceptions import MCPError as SDKError
    from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

    found = list(leaves(exc))
    oauth = next((e for e in [*found, *auth_errors] if _is_oauth_error(e)), None)
    if oauth is not None:
        return _oauth_cause(oauth)
    stdio = describe_target(target).startswith("command")
    timed_out = any(
        isinstance(e, TimeoutError) or (isinstance(e, SDKError) and e.code == REQUEST_TIMEOUT)
        for e in found
    )
    closed = any(isinstance(e, SDKError) and e.code == CONNECTION_CLOSED for e in found)
    if faults and (timed_out or closed):
        return _garbage_cause(faults)
    if timed_out:
        return f"it did not answer within {timeout:g} s (its timeout)"
    answer = next(
        (e for e in found if isinstance(e, SDKError) and e.code != CONNECTION_CLOSED), None
    )
    if answer is not None:
        if not http_errors:
            return f"it answered with an error: {answer.message}"
        if answer.message in _HTTP_STAND_INS:  # the SDK's words for an HTTP status
            return _http_cause(http_errors[-1])
        return f"it answered with an error: {answer.message} ({http_errors[-1]})"
    if http_errors:
        return _http_cause(http_errors[-1])
    if closed:
        if stdio:
            return (
                "the server exited (or closed its stdout) before answering; "
                "its error output, if any, is above"
            )
        return "the server closed the connection"
    for e in found:
        if isinstance(e, FileNotFoundError) and stdio:
            return "the command was not found (is it installed and on PATH?)"
        if isinstance(e, PermissionError) and stdio:
            return "the command is not executable"
        if type(e).__name__ == "ConnectError":  # httpx2's
            return "nothing answers at that address (is the server running?)"
    first = found[0] if found else exc
    if isinstance(first, OSError) and first.strerror:
        return f"{type(first).__name__}: {first.strerror}"  # without the path or address
    text = str(first).strip()
    return f"{type(first).__name__}: {text}" if text else type(first).__name__


def _is_oauth_error(exc: BaseException) -> bool:
    from mcp.client.auth import OAuthFlowError

    from llmcore.mcp.oauth_store import LoginRequired

    return isinstance(exc, OAuthFlowError | LoginRequired)


def _oauth_cause(exc: BaseException) -> str:
    from llmcore.mcp.oauth_store import LoginRequired

    if isinstance(exc, LoginRequired):
        return str(exc)
    text = str(exc).strip().rstrip(".")
    return f"OAuth did not give a token ({type(exc).__name__}: {text})"


def _http_cause(status: str) -> str:
    hint = {
        "401": "it needs credentials (a bearer token in headers?)",
        "403": "it refuses these credentials, or this Origin",
        "404": "check the path of the url",
        "421": "it does not accept this host name",
    }.get(status.split()[1], "")
    return f"it answered {status}" + (f"; {hint}" if hint else "")


def _garbage_cause(faults: Sequence[Exception]) -> str:
    line = _offending_input(faults[0])
    quoted = f" ({line!r})" if line else ""
    return (
        f"it wrote something that is not JSON-RPC on stdout{quoted}; an MCP stdio "
        "server must keep stdout for the protocol and log to stderr"
    )


def _offending_input(fault: Exception) -> str:
    errors = getattr(fault, "errors", None)  # pydantic ValidationError
    if callable(errors):
        try:
            value = errors()[0].get("input")
        except Exception:
            value = None
        if isinstance(value, str):
            text = value.strip()
            return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"
    return ""
