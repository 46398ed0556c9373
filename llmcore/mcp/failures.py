"""Why an MCP session failed, in one short sentence; and what to call a server in it.

:func:`failure_cause` turns whatever the SDK raised (often an exception group
from its task groups) into one short cause: "it did not answer within 3 s",
"it exited before answering", "it wrote something that is not JSON-RPC on
stdout", "it needs you to log in first". :func:`describe_target` names a
server's target without its arguments, credentials or query string;
:func:`answered` tells a server that answered (with an error, or too late)
from a connection that broke.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

__all__ = ["answered", "describe_target", "failure_cause", "leaves", "safe_url"]

#: Longest excerpt of a server's stray stdout line quoted in an error.
_EXCERPT = 60
#: What the SDK's HTTP transport says in place of an HTTP error status.
_HTTP_STAND_INS = frozenset(
    {"Server returned an error response", "Not Found", "Session terminated"}
)


def describe_target(target: Any) -> str:
    """Name a server's target for an error: the command's name, or the URL without secrets."""
    from llmcore.config.schema import MCPServerSettings

    if isinstance(target, MCPServerSettings):
        if target.url:
            return f"url {safe_url(target.url)}"
        if target.command:
            return f"command {os.path.basename(target.command)!r}"
        return "no command or url"
    url = target if isinstance(target, str) else getattr(target, "url", None)
    if isinstance(url, str):  # a URL, or an HTTPTarget
        return f"url {safe_url(url)}"
    command = getattr(target, "command", None)  # mcp.StdioServerParameters
    if isinstance(command, str):
        return f"command {os.path.basename(command)!r}"
    return f"in-process {type(target).__name__}"


def safe_url(url: str) -> str:
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


def answered(exc: BaseException) -> str | None:
    """Whether the server is alive and answered: "timeout" (too slow), "error", or None."""
    from mcp.client import InputRequiredRoundsExceededError
    from mcp.shared.exceptions import MCPError as SDKError
    from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

    for e in leaves(exc):
        if isinstance(e, InputRequiredRoundsExceededError):
            return "error"  # it kept asking for input: a reconnection would not help
        if isinstance(e, TimeoutError):
            return "timeout"
        if isinstance(e, SDKError) and e.code == REQUEST_TIMEOUT:
            return "timeout"
        if isinstance(e, SDKError) and e.code != CONNECTION_CLOSED:
            return "error"
    return None
