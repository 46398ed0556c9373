"""A real MCP server protected by the SDK's OAuth support, served over streamable HTTP.

``python oauth_server.py PORT code [TOKEN_SECONDS]``: the SDK's authorization
server (dynamic client registration, authorization code with PKCE, refresh
tokens) in front of the MCP endpoint. Its ``/authorize`` approves at once
(the person's consent is not what is tested), redirecting to the client's
redirect URI with the code.

``python oauth_server.py PORT client_credentials [TOKEN_SECONDS]``: the SDK's
resource-server support (protected-resource metadata, bearer checks through
a token verifier) and a small authorization server of the test's own for the
client credentials grant, which the SDK's does not implement. The client is
``llmcore-test`` / ``s3cret-client-credential``.

Tools: ``echo(text)``, and ``grants()``: the grant types the token endpoint
served, in order.
"""

from __future__ import annotations

import base64
import secrets
import sys
import time
from typing import Any

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    construct_redirect_uri,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthMetadata, OAuthToken
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

CLIENT_ID = "llmcore-test"
CLIENT_SECRET = "s3cret-client-credential"

grants: list[str] = []
access_tokens: dict[str, AccessToken] = {}


def _issue(client_id: str, scopes: list[str], lifetime: int) -> str:
    token = "at-" + secrets.token_urlsafe(24)
    access_tokens[token] = AccessToken(
        token=token, client_id=client_id, scopes=scopes, expires_at=int(time.time()) + lifetime
    )
    return token


class MemoryAuthorizationServer:
    """The SDK's OAuthAuthorizationServerProvider, in memory, approving every request."""

    def __init__(self, lifetime: int):
        self.lifetime = lifetime
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        self.clients[str(client_info.client_id)] = client_info

    async def authorize(
        self, client: OAuthClientInformationFull, params: AuthorizationParams
    ) -> str:
        code = "code-" + secrets.token_urlsafe(16)
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or [],
            expires_at=time.time() + 300,
            client_id=str(client.client_id),
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        return self.codes.get(authorization_code)

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        grants.append("authorization_code")
        del self.codes[authorization_code.code]
        return self._tokens(str(client.client_id), authorization_code.scopes)

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> RefreshToken | None:
        return self.refresh_tokens.get(refresh_token)

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        grants.append("refresh_token")
        del self.refresh_tokens[refresh_token.token]
        return self._tokens(str(client.client_id), scopes or refresh_token.scopes)

    async def load_access_token(self, token: str) -> AccessToken | None:
        return access_tokens.get(token)

    async def revoke_token(self, token: Any) -> None:
        access_tokens.pop(token.token, None)

    def _tokens(self, client_id: str, scopes: list[str]) -> OAuthToken:
        refresh = "rt-" + secrets.token_urlsafe(24)
        self.refresh_tokens[refresh] = RefreshToken(
            token=refresh, client_id=client_id, scopes=scopes
        )
        return OAuthToken(
            access_token=_issue(client_id, scopes, self.lifetime),
            expires_in=self.lifetime,
            refresh_token=refresh,
            scope=" ".join(scopes) or None,
        )


class MemoryVerifier:
    """The SDK's TokenVerifier over the tokens this process issued."""

    async def verify_token(self, token: str) -> AccessToken | None:
        return access_tokens.get(token)


def make_server(port: int, grant: str, lifetime: int) -> MCPServer:
    base = f"http://127.0.0.1:{port}"
    settings = AuthSettings(
        issuer_url=base,  # type: ignore[arg-type]
        resource_server_url=f"{base}/mcp",  # type: ignore[arg-type]
        client_registration_options=ClientRegistrationOptions(enabled=True),
        validate_token_resource=False,
    )
    if grant == "code":
        server = MCPServer(
            "guarded", auth_server_provider=MemoryAuthorizationServer(lifetime), auth=settings
        )
    else:
        server = MCPServer("guarded", token_verifier=MemoryVerifier(), auth=settings)
        _client_credentials_server(server, base, lifetime)

    @server.tool()
    def echo(text: str) -> str:
        """Say it back."""
        return text

    @server.tool(name="grants")
    def grants_tool() -> list[str]:
        """The grant types the token endpoint served, in order."""
        return list(grants)

    return server


def _client_credentials_server(server: MCPServer, base: str, lifetime: int) -> None:
    metadata = OAuthMetadata(
        issuer=base,  # type: ignore[arg-type]
        authorization_endpoint=f"{base}/authorize",  # type: ignore[arg-type]
        token_endpoint=f"{base}/token",  # type: ignore[arg-type]
        grant_types_supported=["client_credentials"],
        token_endpoint_auth_methods_supported=["client_secret_basic"],
    )

    @server.custom_route("/.well-known/oauth-authorization-server", methods=["GET"])
    async def authorization_server_metadata(request: Request) -> Response:
        return JSONResponse(metadata.model_dump(mode="json", exclude_none=True))

    @server.custom_route("/token", methods=["POST"])
    async def token(request: Request) -> Response:
        form = await request.form()
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        client_id, _, secret = base64.b64decode(encoded or "").decode().partition(":")
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if scheme != "Basic" or (client_id, secret) != (CLIENT_ID, CLIENT_SECRET):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grants.append("client_credentials")
        body = {
            "access_token": _issue(client_id, [], lifetime),
            "token_type": "Bearer",
            "expires_in": lifetime,
        }
        return JSONResponse(body)


if __name__ == "__main__":
    import uvicorn

    port, grant = int(sys.argv[1]), sys.argv[2]
    lifetime = int(sys.argv[3]) if len(sys.argv) > 3 else 3600
    app = make_server(port, grant, lifetime).streamable_http_app()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error")
