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
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, InvalidStateError
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio

__all__ = ["HTTPTarget", "Opening", "describe_target", "failure_cause", "hold_session", "leaves"]

#: Longest excerpt of a server's stray stdout line quoted in an error.
_EXCERPT = 60
#: What the SDK's HTTP transport says in place of an HTTP error status.
_HTTP_STAND_INS = frozenset(
    {"Server returned an error response", "Not Found", "Session terminated"}
)


@dataclass(frozen=True, slots=True)
class HTTPTarget:
    """A streamable-HTTP server: its URL and the headers every request carries."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)

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

    async def message_handler(self, message: Any) -> None:
        """The SDK client's message handler: keep transport faults, ignore the rest."""
        if isinstance(message, Exception):
            self.faults.append(message)

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


async def hold_session(target: Any, time_limit: float, opening: Opening) -> None:
    """Open a client session, hand it over through ``opening``, keep it until stopped.

    Runs as a task of the manager's portal. Opening takes at most
    ``time_limit`` seconds (the server's ``timeout``); each request has the
    same read timeout.
    """
    from mcp import Client

    _quiet_parse_failures()
    stop = anyio.Event()
    try:
        # The deadline covers the opening only; the scope spans the session's life
        # because the client's task groups must close inside the scope they opened in.
        with anyio.CancelScope(deadline=anyio.current_time() + time_limit) as scope:
            async with AsyncExitStack() as stack:
                if isinstance(target, str):
                    target = HTTPTarget(target)
                if isinstance(target, HTTPTarget):  # our HTTP client, to see its statuses
                    target = await _http_transport(stack, target.url, target.headers, opening)
                client = await stack.enter_async_context(
                    Client(
                        target,
                        read_timeout_seconds=time_limit,
                        message_handler=opening.message_handler,
                    )
                )
                scope.deadline = math.inf
                if _settle(opening.ready, (client, stop)):
                    await stop.wait()
                # else the caller gave up waiting: nobody will use this session
        if scope.cancelled_caught:
            raise TimeoutError(f"the MCP session did not open within {time_limit:g} s")
    except BaseException as exc:
        failure = exc if isinstance(exc, Exception) else RuntimeError("MCP portal stopped")
        _settle(opening.ready, failure)
        raise


async def _http_transport(
    stack: AsyncExitStack, url: str, headers: dict[str, str], opening: Opening
) -> Any:
    import httpx2  # the MCP SDK's HTTP client
    from mcp.client.streamable_http import streamable_http_client

    # The SDK's default timeouts: 30 s, and 300 s to read (a server may hold a stream open).
    http = httpx2.AsyncClient(
        headers=headers,
        timeout=httpx2.Timeout(30.0, read=300.0),
        event_hooks={"response": [opening.response_hook]},
    )
    await stack.enter_async_context(http)
    return streamable_http_client(url, http_client=http)


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
) -> str:
    """One short sentence saying why opening or using a session failed."""
    from mcp.shared.exceptions import MCPError as SDKError
    from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

    found = list(leaves(exc))
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
