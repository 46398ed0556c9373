"""Who may use llmchat mcp serve over HTTP: the bearer token and the Host/Origin checks.

The servers are real ``llmchat`` subprocesses; the clients are the real MCP
SDK client (through ``httpx2``, the SDK's HTTP stack, to set headers) and
plain HTTP requests for what the SDK client would not send.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import pytest
from fakes.openai_server import FakeOpenAIServer
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from llmcore.config.schema import MCPServeSettings
from llmcore.exceptions import ConfigError
from llmcore.mcp.serve_http import http_options, is_loopback, transport_security

from ._serve import LLMCHAT, Served, free_port, http_server, listening_addresses, serve_env

TOKEN = "tok-3f9a1c7e5b2d4a60"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "probe", "version": "1"},
    },
}
MCP_HEADERS = {"accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("secure-home")


@pytest.fixture(scope="module")
def open_server(home: Path, _openai_server: FakeOpenAIServer) -> Iterator[Served]:
    """On every address, the token from the environment, one extra Host and Origin."""
    env = serve_env(home, _openai_server.base_url, LLMCORE_MCP_SERVE_TOKEN=TOKEN)
    args = [
        "--host",
        "0.0.0.0",
        "--allow-host",
        "llm.example",
        "--allow-origin",
        "https://app.example",
    ]
    with http_server(args, env, free_port()) as served:
        yield served


@pytest.fixture(scope="module")
def local_token_server(home: Path, _openai_server: FakeOpenAIServer) -> Iterator[Served]:
    """On loopback, with --token: the token is enforced there too."""
    env = serve_env(home, _openai_server.base_url)
    with http_server(["--token", TOKEN], env, free_port()) as served:
        yield served


def sdk_client(url: str, **headers: str) -> tuple[httpx2.AsyncClient, Client]:
    http = httpx2.AsyncClient(headers=headers)
    return http, Client(streamable_http_client(url, http_client=http), read_timeout_seconds=30)


async def post(url: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(url, json=INITIALIZE, headers={**MCP_HEADERS, **headers})


def test_a_non_loopback_address_without_a_token_refuses_to_start(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    env = serve_env(tmp_path, openai_server.base_url)
    by_option = [LLMCHAT, "mcp", "serve", "--transport", "http", "--host", "0.0.0.0"]
    by_config = [LLMCHAT, "mcp", "serve", "--transport", "http"]
    config_env = {**env, "LLMCORE_MCP_SERVE_HOST": "192.0.2.10"}
    for command, environment in ((by_option, env), (by_config, config_env)):
        done = subprocess.run(
            command, env=environment, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 1
        first = done.stderr.splitlines()[0]
        assert first.startswith("Error: llmchat mcp serve will not listen on ")
        assert "without a bearer token" in first and "--token" in first
        assert "LLMCORE_MCP_SERVE_TOKEN" in first
        assert "Traceback" not in done.stderr


async def test_requests_need_the_token(
    open_server: Served, openai_server: FakeOpenAIServer
) -> None:
    assert listening_addresses(open_server.port) == {"0.0.0.0"}
    missing = await post(open_server.url)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="llmcore"'
    for wrong in (f"Bearer {TOKEN[:-1]}x", f"Bearer {TOKEN}extra", f"Basic {TOKEN}", TOKEN):
        refused = await post(open_server.url, authorization=wrong)
        assert refused.status_code == 401, wrong
        assert refused.headers["www-authenticate"].startswith("Bearer ")
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    # The SDK client without the token cannot even start a session...
    http, client = sdk_client(open_server.url)
    async with http:
        with pytest.raises(Exception):  # noqa: B017 - the SDK's own error for a 401
            async with client:
                pass
    # ...and with it, everything works.
    http, client = sdk_client(open_server.url, authorization=f"Bearer {TOKEN}")
    async with http, client:
        result = await client.call_tool("chat", {"message": "with the token"})
    assert not result.is_error and result.content[0].text == "echo: with the token"
    assert TOKEN not in open_server.log()


async def test_a_token_on_loopback_is_enforced(local_token_server: Served) -> None:
    assert (await post(local_token_server.url)).status_code == 401
    good = await post(local_token_server.url, authorization=f"Bearer {TOKEN}")
    assert good.status_code == 200


async def test_host_and_origin_checks_stay_on_with_every_address(
    open_server: Served, openai_server: FakeOpenAIServer
) -> None:
    auth = f"Bearer {TOKEN}"
    port = open_server.port
    rebound = await post(open_server.url, authorization=auth, host=f"evil.example:{port}")
    assert rebound.status_code == 421
    cross_site = await post(open_server.url, authorization=auth, origin="https://evil.example")
    assert cross_site.status_code == 403
    # What the allow-lists name passes, through the real SDK client.
    allowed = {"host": f"llm.example:{port}", "origin": "https://app.example"}
    http, client = sdk_client(open_server.url, authorization=auth, **allowed)
    async with http, client:
        result = await client.call_tool("chat", {"message": "from an allowed name"})
    assert result.content[0].text == "echo: from an allowed name"


def test_allow_lists_and_loopback_rules() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("myhost") and not is_loopback("10.0.0.2")
    settings = MCPServeSettings(allowed_hosts=["from-config"], token="  ")
    with pytest.raises(ConfigError, match="without a bearer token") as info:
        http_options(settings, host="10.0.0.2")  # a blank token is no token
    assert info.value.key == "mcp.serve.token"
    options = http_options(
        settings, host="10.0.0.2", token="t0k", allow_hosts=["llm.example", "h.example:8080"]
    )
    assert "t0k" not in repr(options) and options.url == "http://10.0.0.2:8000/mcp"
    security = transport_security(options)
    assert security.enable_dns_rebinding_protection
    assert security.allowed_hosts == [
        "127.0.0.1:*",
        "localhost:*",
        "[::1]:*",
        "10.0.0.2:*",
        "10.0.0.2",
        "from-config:*",
        "from-config",
        "llm.example:*",
        "llm.example",
        "h.example:8080",
    ]
    assert http_options(MCPServeSettings()).token is None  # loopback: no token needed
