"""Who may use ``llmchat mcp serve`` over HTTP.

Two checks guard every request:

- a **bearer token** (:class:`BearerTokenMiddleware`): required to listen on
  any address but loopback, and enforced on loopback too when one is set.
  It is compared in constant time; a missing or wrong token gets a 401 with
  ``WWW-Authenticate: Bearer``. The token is never logged or printed.
- the **Host and Origin allow-lists** (DNS-rebinding protection), done by the
  MCP SDK's transport (``TransportSecuritySettings``), always on: loopback
  names, the listening address when it is a specific one, and whatever is
  added with ``--allow-host`` / ``--allow-origin`` or ``[mcp.serve]``. A
  request without an ``Origin`` (not from a browser) passes that check.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmcore.exceptions import ConfigError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from llmcore.config.schema import MCPServeSettings

__all__ = [
    "BearerTokenMiddleware",
    "HTTPServeOptions",
    "http_app",
    "http_options",
    "is_loopback",
    "transport_security",
]

#: Host headers always accepted: loopback names on any port.
LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*")
#: Origins always accepted: pages served from loopback.
LOOPBACK_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")
#: Addresses that mean "every interface": not a name a client would use.
_WILDCARDS = frozenset({"", "0.0.0.0", "::", "[::]"})


@dataclass(frozen=True, slots=True)
class HTTPServeOptions:
    """Where to listen, and who may come in (see :func:`http_options`)."""

    host: str
    port: int
    token: str | None
    allowed_hosts: tuple[str, ...]
    allowed_origins: tuple[str, ...]

    def __repr__(self) -> str:  # never show the token
        token = "'***'" if self.token else "None"
        return (
            f"HTTPServeOptions(host={self.host!r}, port={self.port}, token={token}, "
            f"allowed_hosts={self.allowed_hosts!r}, allowed_origins={self.allowed_origins!r})"
        )

    @property
    def url(self) -> str:
        """The endpoint's URL, as a client on this machine would write it."""
        host = self.host if self.host not in _WILDCARDS else "127.0.0.1"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}/mcp"


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def http_options(
    settings: MCPServeSettings,
    *,
    host: str | None = None,
    port: int | None = None,
    token: str | None = None,
    allow_hosts: Sequence[str] = (),
    allow_origins: Sequence[str] = (),
) -> HTTPServeOptions:
    """Merge the command's options over ``[mcp.serve]``, and refuse an open server.

    Given options win over the config's; the allow-lists add up.

    Raises:
        ConfigError: a non-loopback address without a token.
    """
    host = settings.host if host is None else host
    chosen = (settings.token if token is None else token) or ""
    if not chosen.strip() and not is_loopback(host):
        raise ConfigError(
            f"llmchat mcp serve will not listen on {host or 'every address'!r} without a "
            "bearer token, or anyone who can reach it could read and write sessions and "
            "spend the API keys. Pass --token, or set [mcp.serve] token (or the "
            "environment variable LLMCORE_MCP_SERVE_TOKEN); or listen on 127.0.0.1.",
            key="mcp.serve.token",
        )
    return HTTPServeOptions(
        host=host,
        port=settings.port if port is None else port,
        token=chosen.strip() or None,
        allowed_hosts=(*settings.allowed_hosts, *allow_hosts),
        allowed_origins=(*settings.allowed_origins, *allow_origins),
    )


def transport_security(options: HTTPServeOptions) -> Any:
    """The SDK's DNS-rebinding protection, on, with the allow-lists.

    A host given without a port is accepted on any port.
    """
    from mcp.server.transport_security import TransportSecuritySettings

    hosts = list(LOOPBACK_HOSTS)
    if options.host not in _WILDCARDS and not is_loopback(options.host):
        hosts += _host_patterns(options.host)
    for host in options.allowed_hosts:
        hosts += _host_patterns(host)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosts,
        allowed_origins=[*LOOPBACK_ORIGINS, *options.allowed_origins],
    )


def _host_patterns(host: str) -> list[str]:
    """``name:port`` as given; a bare name on any port, or none (a default port)."""
    has_port = "]:" in host if host.startswith("[") else host.count(":") == 1
    if has_port:
        return [host]
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # a bare IPv6 address
    return [f"{host}:*", host]


class BearerTokenMiddleware:
    """Let through only HTTP requests carrying ``Authorization: Bearer TOKEN``."""

    def __init__(self, app: ASGIApp, token: str):
        if not token:
            raise ValueError("BearerTokenMiddleware needs a non-empty token.")
        self.app = app
        self._expected = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass an authorized HTTP request (or any non-HTTP scope) on; answer 401 otherwise."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value
        scheme, _, credentials = header.partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(credentials.strip(), self._expected):
            await self.app(scope, receive, send)
            return
        await _unauthorized(send, wrong=bool(header))


async def _unauthorized(send: Send, *, wrong: bool) -> None:
    # RFC 6750: name the error only when credentials were given.
    challenge = 'Bearer realm="llmcore"' + (', error="invalid_token"' if wrong else "")
    what = "a wrong bearer token" if wrong else "no bearer token"
    body = json.dumps(
        {"error": f"Unauthorized: {what}. Send the header Authorization: Bearer <token>."}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", challenge.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def http_app(server: Any, options: HTTPServeOptions) -> ASGIApp:
    """The streamable-HTTP ASGI app of ``server`` (an ``MCPServer``), guarded."""
    app: ASGIApp = server.streamable_http_app(
        transport_security=transport_security(options), host=options.host
    )
    if options.token:
        app = BearerTokenMiddleware(app, options.token)
    return app
