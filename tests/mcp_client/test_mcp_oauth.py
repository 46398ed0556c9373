"""OAuth-protected streamable-HTTP MCP servers: client credentials, login, refresh, secrecy."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fakes.openai_server import FakeOpenAIServer, Reply

from llmcore import LLMCore, MCPError
from llmcore.mcp.oauth_login import login
from llmcore.mcp.oauth_store import token_folder

from .oauth_server import CLIENT_ID, CLIENT_SECRET
from .test_mcp_client import call

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
SERVER = str(Path(__file__).with_name("oauth_server.py"))
LLMCHAT = str(Path(sys.executable).with_name("llmchat"))


@contextmanager
def oauth_server(grant: str, lifetime: int = 3600, port: int = 0) -> Iterator[str]:
    """Run ``oauth_server.py`` (on ``port``, else a free one); yield its base URL."""
    if not port:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, SERVER, str(port), grant, str(lifetime)])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # a client's stream still open: no graceful end
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's config folder (where tokens go), in the test's folder."""
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


def guarded(base: str, **oauth: Any) -> dict[str, Any]:
    section: dict[str, Any] = {"url": f"{base}/mcp", "auth": "oauth", "timeout": 10}
    if oauth:
        section["oauth"] = oauth
    return {"mcp.servers.web": section}


def echo_turn(openai_server: FakeOpenAIServer, text: str = "hi") -> None:
    openai_server.enqueue(Reply(tool_calls=[call("web__echo", {"text": text})]), Reply(text="ok"))


def last_tool_content(openai_server: FakeOpenAIServer) -> str:
    content: str = openai_server.last_request.json["messages"][-1]["content"]
    return content


async def grants(llm: LLMCore) -> list[str]:
    result = await llm.services.mcp.call(
        "web", "tools/call grants", lambda c: c.call_tool("grants")
    )
    return list(result.structured_content["result"])


def token_file(config_home: Path) -> Path:
    (path,) = (config_home / "llmcore" / "mcp-oauth").glob("web-*.json")
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_client_credentials_get_a_token_kept_in_a_private_file(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, config_home: Path
) -> None:
    with oauth_server("client_credentials") as base:
        settings = guarded(base, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, issuer=base)
        async with make_llm(**settings) as llm:
            echo_turn(openai_server, "hello")
            assert await llm.chat("echo hello") == "ok"
            assert last_tool_content(openai_server) == "hello"
            assert await grants(llm) == ["client_credentials"]
    assert token_folder() == config_home / "llmcore" / "mcp-oauth"
    path = token_file(config_home)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert json.loads(path.read_text())["tokens"]["access_token"].startswith("at-")


async def test_a_refused_client_secret_is_one_clear_error_at_once(
    make_llm: MakeLLM, config_home: Path
) -> None:
    with oauth_server("client_credentials") as base:
        settings = guarded(
            base, client_id=CLIENT_ID, client_secret="wrong-secret-value", issuer=base
        )
        async with make_llm(**settings) as llm:
            started = time.monotonic()
            with pytest.raises(MCPError) as info:
                await llm.list_mcp_resources("web")
    assert time.monotonic() - started < 5  # not the 10 s timeout
    message = str(info.value)
    assert "Cannot connect to MCP server 'web'" in message
    assert "OAuth did not give a token" in message and "401" in message
    assert "wrong-secret-value" not in message


async def test_an_unauthenticated_client_hears_it_needs_credentials(make_llm: MakeLLM) -> None:
    with oauth_server("client_credentials") as base:
        settings = {"mcp.servers.web": {"url": f"{base}/mcp", "timeout": 10}}
        async with make_llm(**settings) as llm:
            with pytest.raises(MCPError, match="401"):
                await llm.list_mcp_resources("web")


async def test_an_authorization_code_server_without_a_login_says_to_log_in(
    make_llm: MakeLLM,
) -> None:
    with oauth_server("code") as base:
        async with make_llm(**guarded(base)) as llm:
            started = time.monotonic()
            with pytest.raises(MCPError) as info:
                await llm.chat("hi")
    assert time.monotonic() - started < 5
    assert "it needs you to log in first: run `llmchat mcp login web`" in str(info.value)


def follow_login(url: str) -> None:
    """What the browser does: the authorization server approves and sends it back."""
    approved = httpx.get(url, follow_redirects=False, timeout=10)
    assert approved.status_code in (302, 303, 307), approved.text
    back = httpx.get(approved.headers["location"], timeout=10)
    assert back.status_code == 200 and "logged in" in back.text


def write_config(tmp_path: Path, base: str, openai_server: FakeOpenAIServer) -> Path:
    path = tmp_path / "llmcore.toml"
    path.write_text(
        f"""
[providers.openai]
api_key = "sk-login-test"
base_url = "{openai_server.base_url}"
max_retries = 0

[storage.session]
path = "{tmp_path / "sessions.db"}"

[mcp.servers.web]
url = "{base}/mcp"
auth = "oauth"
timeout = 10
"""
    )
    return path


async def test_llmchat_mcp_login_prints_the_url_and_waits_for_the_redirect(
    tmp_path: Path, openai_server: FakeOpenAIServer, config_home: Path
) -> None:
    with oauth_server("code") as base:
        config = write_config(tmp_path, base, openai_server)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMCORE_", "OPENAI_"))}
        env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(config_home))
        errors = (tmp_path / "stderr.txt").open("w")
        process = subprocess.Popen(
            [LLMCHAT, "--config", str(config), "mcp", "login", "web", "--timeout", "60"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        assert process.stdout is not None
        shown = []
        for line in process.stdout:
            shown.append(line)
            found = re.search(r"(http://\S+/authorize\?\S+)", line)
            if found:
                url = found.group(1)
                break
        else:
            raise AssertionError(f"no URL shown: {''.join(shown)}")
        assert "response_type=code" in url and "code_challenge_method=S256" in url
        await anyio.to_thread.run_sync(follow_login, url)
        out = process.stdout.read()  # the lines after the URL, some already buffered
        assert process.wait(timeout=30) == 0, (tmp_path / "stderr.txt").read_text()
        errors.close()
        assert "Waiting for the browser to come back to http://127.0.0.1:" in out
        assert "Logged in to 'web'" in out and "readable only by you" in out
        path = token_file(config_home)
        assert mode(path) == 0o600
        # The stored tokens serve the library from now on.
        async with LLMCore(config_file_path=config, env_prefix=None, user_config=False) as llm:
            echo_turn(openai_server, "after login")
            assert await llm.chat("echo") == "ok"
            assert last_tool_content(openai_server) == "after login"
            assert await grants(llm) == ["authorization_code"]


async def log_in(base: str, settings: dict[str, Any], make_llm: MakeLLM) -> None:
    """Log in in this process (the browser played by a thread)."""

    def show(url: str, redirect_uri: str) -> None:
        threading.Thread(target=follow_login, args=(url,), daemon=True).start()

    async with make_llm(**settings) as llm:
        section = llm.config.mcp.servers["web"]
    await login("web", section, show_url=show, time_limit=30)


async def test_tokens_are_refreshed_before_they_expire_also_in_a_later_process(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, config_home: Path
) -> None:
    with oauth_server("code", lifetime=4) as base:
        settings = guarded(base)
        await log_in(base, settings, make_llm)
        path = token_file(config_home)
        async with make_llm(**settings) as llm:
            echo_turn(openai_server)
            await llm.chat("echo")
            # Still valid on the server for a moment, but within the refresh margin.
            expires_at = json.loads(path.read_text())["expires_at"]
            await anyio.sleep(max(expires_at - 0.25 - time.time(), 0))
            echo_turn(openai_server, "refreshed")
            await llm.chat("echo")
            assert last_tool_content(openai_server) == "refreshed"
            assert await grants(llm) == ["authorization_code", "refresh_token"]
            # Refreshed ahead: no request was refused for an expired token.
            assert llm.services.mcp._connections["web"].opening.http_errors == []
        # A later process knows when the stored token expires, and refreshes first.
        expires_at = json.loads(path.read_text())["expires_at"]
        await anyio.sleep(max(expires_at + 0.2 - time.time(), 0))
        async with make_llm(**settings) as llm:
            echo_turn(openai_server, "next process")
            await llm.chat("echo")
            assert last_tool_content(openai_server) == "next process"
            assert (await grants(llm))[-1] == "refresh_token"
            assert llm.services.mcp._connections["web"].opening.http_errors == []


async def test_tokens_the_server_no_longer_knows_end_the_call_at_once_saying_log_in(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    settings = guarded(base)
    async with make_llm(**settings) as llm:
        with oauth_server("code", port=port):
            await log_in(base, settings, make_llm)
            echo_turn(openai_server, "first")
            await llm.chat("echo")
            assert last_tool_content(openai_server) == "first"
        # The server restarts and forgets every token and client it issued; the
        # connection open on it gets a 401 in the middle of its session.
        with oauth_server("code", port=port):
            echo_turn(openai_server)
            started = time.monotonic()
            assert await llm.chat("echo") == "ok"
            elapsed = time.monotonic() - started
    assert elapsed < 6  # not the 10 s timeout
    result = last_tool_content(openai_server)
    assert result.startswith("Error: MCPError: Cannot connect to MCP server 'web'")
    assert "it needs you to log in first: run `llmchat mcp login web`" in result


async def test_no_token_shows_in_logs_errors_or_the_stored_session(
    make_llm: MakeLLM,
    openai_server: FakeOpenAIServer,
    config_home: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: llmcore's, the SDK's, httpx2's
    with oauth_server("code", lifetime=4) as base:
        settings = guarded(base)
        await log_in(base, settings, make_llm)
        async with make_llm(**settings) as llm:
            echo_turn(openai_server)
            turn = await llm.chat_turn("echo", session_id="s")
            await anyio.sleep(3.8)  # the next call refreshes
            echo_turn(openai_server)
            await llm.chat("echo", session_id="s")
            session = await llm.get_session("s")
        shown = [caplog.text, repr(turn), repr(session), repr(llm.config)]
    # With the server gone, the error names the server, not the token.
    async with make_llm(**settings) as llm:
        with pytest.raises(MCPError) as info:
            await llm.list_mcp_resources("web")
        shown.append(str(info.value))
    stored = json.loads(token_file(config_home).read_text())
    secrets = [stored["tokens"]["access_token"], stored["tokens"]["refresh_token"]]
    secrets += [s for s in [stored["client_info"].get("client_secret")] if s]
    database = (tmp_path / "sessions.db").read_bytes()
    for secret in secrets:
        assert all(secret not in text for text in shown), secret
        assert secret.encode() not in database
    # The logs searched above saw the token exchanges: login's code, then the refresh.
    exchanges = [
        r
        for r in caplog.records
        if r.name == "httpx2" and r.getMessage().startswith(f"HTTP Request: POST {base}/token ")
    ]
    assert len(exchanges) >= 2, [r.getMessage() for r in caplog.records if r.name == "httpx2"]


async def test_login_refuses_servers_that_do_not_log_in(make_llm: MakeLLM) -> None:
    async with make_llm(
        **{
            "mcp.servers.plain": {"url": "http://127.0.0.1:9/mcp"},
            "mcp.servers.machine": {
                "url": "http://127.0.0.1:9/mcp",
                "auth": "oauth",
                "oauth": {"client_id": "a", "client_secret": "b-secret-value"},
            },
        }
    ) as llm:
        servers = llm.config.mcp.servers
    with pytest.raises(MCPError, match='does not use OAuth: set its auth to "oauth"'):
        await login("plain", servers["plain"], show_url=print)
    with pytest.raises(MCPError, match=r"client credentials grant .* no login is needed"):
        await login("machine", servers["machine"], show_url=print)
