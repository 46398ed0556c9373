"""OAuth for streamable-HTTP MCP servers (``[mcp.servers.NAME] auth = "oauth"``), with the SDK.

Two grants, both the MCP SDK's OAuth client (an ``httpx2.Auth`` that
discovers the server's authorization server from its 401 answer):

- **client credentials** (``oauth.client_id`` and ``oauth.client_secret``):
  tokens come without anyone's help, whenever one is needed;
- **authorization code with PKCE** (no secret): ``llmchat mcp login NAME``
  (:func:`llmcore.mcp.oauth_login.login`) prints the authorization URL and
  waits on a loopback redirect; afterwards the stored tokens are used and
  refreshed, and when no token can be had the error says to log in again.

Tokens live in a private file (:mod:`llmcore.mcp.oauth_store`) and are
refreshed shortly before they expire (a tenth of their life early, at most a
minute), also in a later process: the file keeps when they expire, which the
SDK alone forgets on a restart.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx2
from mcp.client.auth import OAuthClientProvider
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.auth.oauth2 import OAuthContext
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

from llmcore.mcp.oauth_store import LoginRequired, TokenFile

if TYPE_CHECKING:
    from llmcore.config.schema import MCPServerSettings

__all__ = [
    "AuthCodeOAuth",
    "ClientCredentialsOAuth",
    "ReportingAuth",
    "client_metadata",
    "server_auth",
]

#: The longest a token is refreshed before it expires, in seconds.
REFRESH_MARGIN = 60.0
#: The redirect URI when none was registered yet (refreshing needs none).
_NO_REDIRECT = "http://127.0.0.1/callback"


@dataclasses.dataclass
class _EarlyContext(OAuthContext):
    """The SDK's OAuth context, taking a token for expired a little before it is."""

    def update_token_expiry(self, token: Any) -> None:
        super().update_token_expiry(token)
        if self.token_expiry_time is not None and token.expires_in:
            self.token_expiry_time -= min(REFRESH_MARGIN, int(token.expires_in) / 10)


class _EarlyRefresh:
    """Refresh before expiry, and know the expiry of tokens read back from the file."""

    context: OAuthContext

    def _early_context(self) -> None:
        old = self.context
        self.context = _EarlyContext(
            **{f.name: getattr(old, f.name) for f in dataclasses.fields(old) if f.init}
        )

    async def _initialize(self) -> None:
        await super()._initialize()  # type: ignore[misc]
        tokens = self.context.current_tokens
        if tokens is not None and tokens.expires_in is not None:
            self.context.update_token_expiry(tokens)  # expires_in counts from now (TokenFile)


class ClientCredentialsOAuth(_EarlyRefresh, ClientCredentialsOAuthProvider):
    """The client-credentials grant (the SDK's provider, refreshing early)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._early_context()


class AuthCodeOAuth(_EarlyRefresh, OAuthClientProvider):
    """The authorization-code grant with PKCE (the SDK's provider, refreshing early).

    Without ``redirect_handler`` (every use but ``llmchat mcp login``) it
    never starts an authorization: with no stored token, or none it can
    refresh, it raises :class:`~llmcore.mcp.oauth_store.LoginRequired`.
    """

    def __init__(
        self,
        server: str,
        url: str,
        metadata: OAuthClientMetadata,
        storage: TokenFile,
        redirect_handler: Callable[[str], Awaitable[None]] | None = None,
        callback_handler: Callable[[], Awaitable[AuthorizationCodeResult]] | None = None,
    ):
        self._server = server
        self._interactive = redirect_handler is not None
        super().__init__(
            url,
            metadata,
            storage,
            redirect_handler=redirect_handler or self._refuse,
            callback_handler=callback_handler or self._refuse_callback,
        )
        self._early_context()

    async def _initialize(self) -> None:
        await super()._initialize()
        if not self._interactive and self.context.current_tokens is None:
            raise LoginRequired(self._server)

    async def _refuse(self, url: str) -> None:
        raise LoginRequired(self._server)

    async def _refuse_callback(self) -> AuthorizationCodeResult:  # pragma: no cover - never reached
        raise LoginRequired(self._server)


def client_metadata(settings: MCPServerSettings, redirect_uri: str) -> OAuthClientMetadata:
    """What llmcore registers as (a public client: PKCE, no secret)."""
    return OAuthClientMetadata(
        client_name="llmcore",
        redirect_uris=[redirect_uri],  # type: ignore[list-item]
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
        scope=settings.oauth.scope,
    )


def server_auth(server: str, settings: MCPServerSettings) -> httpx2.Auth:
    """The auth of a server's HTTP requests, from its ``[mcp.servers.NAME.oauth]``."""
    url = str(settings.url)
    oauth = settings.oauth
    storage = TokenFile(server, url)
    if oauth.client_secret:
        return ClientCredentialsOAuth(
            server_url=url,
            storage=storage,
            client_id=str(oauth.client_id),
            client_secret=oauth.client_secret,
            scope=oauth.scope,
            issuer=oauth.issuer,
        )
    return AuthCodeOAuth(server, url, client_metadata(settings, _NO_REDIRECT), storage)


class ReportingAuth(httpx2.Auth):
    """An auth flow whose failure is reported: the SDK's transport only logs it.

    Without the report a refused token would leave the request waiting
    until the server's timeout.
    """

    requires_response_body = True

    def __init__(self, inner: httpx2.Auth, report: Callable[[Exception], None]):
        self.inner = inner
        self.report = report

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        """The inner flow, step by step; its failure is reported, then raised."""
        flow = self.inner.async_auth_flow(request)
        try:
            outgoing = await flow.__anext__()
            while True:
                response = yield outgoing
                outgoing = await flow.asend(response)
        except StopAsyncIteration:
            return
        except Exception as exc:
            self.report(exc)
            raise
        finally:
            await flow.aclose()
