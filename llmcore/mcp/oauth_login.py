"""``llmchat mcp login NAME``: the authorization-code flow with PKCE, through a loopback redirect.

llmcore opens no browser itself: :func:`login` shows the authorization URL
(the caller prints it), listens on ``http://127.0.0.1:PORT/callback`` for the
browser's redirect, exchanges the code (the SDK's OAuth client does the
discovery, the dynamic client registration when no ``client_id`` is
configured, PKCE and the state check), and stores the tokens in the
server's private token file. The loopback port is the configured
``redirect_port``, else the one the stored registration names, else any
free port (then the client registers again).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import anyio
import anyio.to_thread

from llmcore.exceptions import MCPError

if TYPE_CHECKING:
    from llmcore.config.schema import MCPServerSettings

__all__ = ["Loopback", "login"]

_PAGE = (
    "<!doctype html><meta charset=utf-8><title>llmcore</title>"
    "<p style='font-family:sans-serif'>{}</p>"
)


class Loopback:
    """A one-shot HTTP listener on 127.0.0.1 for the authorization redirect.

    Args:
        port: the port to listen on (0: any free port).

    Raises:
        OSError: the port is taken.
    """

    def __init__(self, port: int = 0):
        self._result: dict[str, str] | None = None
        self._done = threading.Event()
        loopback = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/callback":
                    self.send_error(404)
                    return
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if "error" in query:
                    text = "The authorization server refused: you can close this tab."
                else:
                    text = "llmcore is logged in: you can close this tab."
                body = _PAGE.format(text).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                loopback._result = query
                loopback._done.set()

            def log_message(self, format: str, *args: Any) -> None:  # the URL holds the code
                pass

        self._server = HTTPServer(("127.0.0.1", port), Handler)
        self._server.timeout = 0.2
        self.port: int = self._server.server_address[1]

    @property
    def redirect_uri(self) -> str:
        """The URL the authorization server sends the browser back to."""
        return f"http://127.0.0.1:{self.port}/callback"

    async def wait(self) -> Any:
        """The redirect's code, state and issuer (the SDK's ``callback_handler``).

        Raises:
            OAuthFlowError: the authorization server sent an error instead of a code.
        """
        from mcp.client.auth import OAuthFlowError
        from mcp.shared.auth import AuthorizationCodeResult

        await anyio.to_thread.run_sync(self._serve_until_redirect, abandon_on_cancel=True)
        query = self._result or {}
        if "error" in query:
            reason = query.get("error_description") or query["error"]
            raise OAuthFlowError(f"the authorization server refused: {reason}")
        return AuthorizationCodeResult(
            code=query.get("code", ""), state=query.get("state"), iss=query.get("iss")
        )

    def _serve_until_redirect(self) -> None:
        while not self._done.is_set():
            self._server.handle_request()

    def close(self) -> None:
        """Stop listening."""
        self._done.set()
        self._server.server_close()

    def __enter__(self) -> Loopback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def login(
    name: str,
    settings: MCPServerSettings,
    *,
    show_url: Callable[[str, str], None],
    time_limit: float = 300.0,
) -> Path:
    """Log in to an authorization-code server; return the token file written.

    Args:
        name: the server's ``[mcp.servers.NAME]``.
        settings: that section (``auth = "oauth"``, no ``client_secret``).
        show_url: called with the authorization URL and the redirect URI; it
            shows them to the person (llmcore opens no browser).
        time_limit: seconds to wait for the whole login, the person included.

    Raises:
        MCPError: the server cannot be logged in to this way, or the login failed.
    """
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    from llmcore.mcp.connection import client_info
    from llmcore.mcp.failures import failure_cause
    from llmcore.mcp.oauth import AuthCodeOAuth, ReportingAuth, client_metadata
    from llmcore.mcp.oauth_store import TokenFile

    _check_loginable(name, settings)
    url = str(settings.url)
    storage = TokenFile(name, url)
    with await _listen(settings, storage) as loopback:
        await _prepare_registration(settings, storage, loopback.redirect_uri)
        await storage.clear_tokens()  # a login always asks the person again

        async def redirect(authorization_url: str) -> None:
            show_url(authorization_url, loopback.redirect_uri)

        failures: list[Exception] = []
        provider = AuthCodeOAuth(
            name,
            url,
            client_metadata(settings, loopback.redirect_uri),
            storage,
            redirect_handler=redirect,
            callback_handler=loopback.wait,
        )
        try:
            with anyio.CancelScope() as scope:

                def report(exc: Exception) -> None:
                    failures.append(exc)
                    scope.cancel()

                with anyio.fail_after(time_limit):
                    auth = ReportingAuth(provider, report)
                    async with httpx2.AsyncClient(
                        auth=auth, headers=dict(settings.headers), timeout=30.0
                    ) as http:
                        transport = streamable_http_client(url, http_client=http)
                        async with Client(
                            transport, mode=settings.protocol, client_info=client_info()
                        ):
                            pass
        except TimeoutError:
            raise MCPError(
                f"Logging in to MCP server {name!r} took longer than {time_limit:g} s: open the "
                f"URL shown and finish the login there (the browser must reach "
                f"{loopback.redirect_uri}), or pass a longer --timeout.",
                server=name,
            ) from None
        except Exception as exc:
            failures.insert(0, exc)
        if failures or not await storage.has_tokens():
            cause = failure_cause(
                failures[0] if failures else RuntimeError("no token was issued"),
                target=settings,
                timeout=time_limit,
                auth_errors=failures,
            )
            raise MCPError(f"Logging in to MCP server {name!r} failed: {cause}.", server=name)
    return storage.path


def _check_loginable(name: str, settings: MCPServerSettings) -> None:
    if settings.auth != "oauth" or not settings.url:
        raise MCPError(
            f'MCP server {name!r} does not use OAuth: set its auth to "oauth" (and its url) in '
            f"[mcp.servers.{name}] to log in to it.",
            server=name,
        )
    if settings.oauth.client_secret:
        raise MCPError(
            f"MCP server {name!r} uses the client credentials grant (oauth.client_secret is "
            "set): llmcore gets its tokens itself, no login is needed.",
            server=name,
        )


async def _listen(settings: MCPServerSettings, storage: Any) -> Loopback:
    """The loopback listener, on the configured port, else the registered one, else any."""
    port = settings.oauth.redirect_port
    if port:
        try:
            return Loopback(port)
        except OSError as exc:
            raise MCPError(
                f"Cannot listen on 127.0.0.1:{port} for the login's redirect ({exc.strerror}): "
                "free that port or change oauth.redirect_port."
            ) from None
    info = await storage.get_client_info()
    for uri in (info.redirect_uris or []) if info is not None else []:
        registered = urlsplit(str(uri))
        if registered.hostname == "127.0.0.1" and registered.port:
            try:
                return Loopback(registered.port)
            except OSError:
                break  # taken: another port, and a new registration
    return Loopback(0)


async def _prepare_registration(
    settings: MCPServerSettings, storage: Any, redirect_uri: str
) -> None:
    """Use the configured client id, or keep a registration only if it names this redirect."""
    from mcp.shared.auth import OAuthClientInformationFull

    info = await storage.get_client_info()
    if settings.oauth.client_id:
        await storage.set_client_info(
            OAuthClientInformationFull(
                client_id=settings.oauth.client_id,
                redirect_uris=[redirect_uri],  # type: ignore[list-item]
                grant_types=["authorization_code", "refresh_token"],
                token_endpoint_auth_method="none",
                scope=settings.oauth.scope,
            )
        )
    elif info is not None and redirect_uri not in [str(u) for u in info.redirect_uris or ()]:
        await storage.forget_client_info()  # registered for another port: register again
