"""No secret anywhere: a distinct secret in every setting that can hold one, every error
path that can show it, and a search of reprs, errors, DEBUG logs, ``llmchat config show``
and the stored session data for any of them.

The providers are the real SDKs against the fakes, scripted to answer 401 with a body
that echoes the key they were sent; the stores and MCP servers are real ones that
cannot be reached or started.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from cli._llmchat import llmchat_env, run_llmchat
from fakes import _server
from fakes.anthropic_server import FakeAnthropicServer
from fakes.gemini_server import FakeGeminiServer
from fakes.ollama_server import FakeOllamaServer
from fakes.openai_server import FakeOpenAIServer
from fakes.openai_server import Reply as OpenAIReply

from llmcore import LLMCore, LLMCoreError, MCPError, ProviderError
from llmcore.exceptions import SessionStorageError, VectorStorageError

#: One distinct secret per setting; every one contains MARK, so a fragment is found too.
MARK = "SeCrEt"
S = {
    "openai_key": f"sk-openai-{MARK}-0001",
    "anthropic_key": f"sk-ant-{MARK}-0002",
    "gemini_key": f"gemini-{MARK}-0003",
    "ollama_key": f"ollama-{MARK}-0004",
    "header": f"hdr-{MARK}-0005",
    "header_key": f"xkey-{MARK}-0006",
    "base_url_password": f"urlpw-{MARK}-0007",
    "compat_key": f"sk-compat-{MARK}-0018",
    "mcp_header": f"mcphdr-{MARK}-0019",
    "mcp_serve_token": f"serve-{MARK}-0020",
    "unreachable_key": f"sk-down-{MARK}-0008",
    "unreachable_password": f"downpw-{MARK}-0009",
    "pg_conninfo_password": f"pg pw-{MARK}-0010",
    "pg_url_password": f"pgurl-{MARK}-0011",
    "vector_query_password": f"vecpw-{MARK}-0012",
    "embedding_key": f"emb-{MARK}-0013",
    "mcp_env": f"mcpenv-{MARK}-0014",
    "mcp_token": f"mcptok-{MARK}-0015",
    "mcp_token_equals": f"mcptok2-{MARK}-0016",
    "mcp_url_password": f"mcpurl-{MARK}-0017",
}
NETWORK = ("openai", "anthropic", "gemini", "ollama")


def with_userinfo(url: str, user: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}:{password}@{rest}"


def assert_no_secret(where: str, text: str) -> None:
    for name, value in S.items():
        assert value not in text, f"{name} appears in {where}: {text!r}"
    # Every secret contains MARK: any piece of one left behind shows up here.
    assert MARK not in text, f"a piece of a secret appears in {where}: {text!r}"


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, Any]]:
    with (
        FakeOpenAIServer() as openai,
        FakeAnthropicServer() as anthropic,
        FakeGeminiServer() as gemini,
        FakeOllamaServer() as ollama,
    ):
        yield {"openai": openai, "anthropic": anthropic, "gemini": gemini, "ollama": ollama}


def secret_config(fakes: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """A config holding every secret, each in the setting it names."""
    fast = {"max_retries": 0, "timeout": 5}
    return {
        "llmcore": {"log_level": "DEBUG"},
        "providers": {
            "openai": {"api_key": S["openai_key"], "base_url": fakes["openai"].base_url, **fast},
            # httpx sends a URL's userinfo as Basic auth, in place of the key.
            "compat": {
                "type": "openai",
                "api_key": S["compat_key"],
                "base_url": with_userinfo(
                    fakes["openai"].base_url, "alice", S["base_url_password"]
                ),
                "default_model": "gpt-4o-mini",
                **fast,
            },
            "anthropic": {
                "api_key": S["anthropic_key"],
                "base_url": fakes["anthropic"].url,
                **fast,
            },
            "gemini": {"api_key": S["gemini_key"], "base_url": fakes["gemini"].url, **fast},
            "ollama": {"api_key": S["ollama_key"], "base_url": fakes["ollama"].url, **fast},
            "down": {
                "type": "openai",
                "api_key": S["unreachable_key"],
                "base_url": f"http://bob:{S['unreachable_password']}@127.0.0.1:1/v1",
                "default_model": "gpt-4o-mini",
                **fast,
            },
            "proxy": {
                "type": "openai",
                "options": {
                    "default_headers": {
                        "Authorization": f"Bearer {S['header']}",
                        "X-Api-Key": S["header_key"],
                        "User-Agent": "shown-user-agent",
                    }
                },
            },
        },
        "storage": {
            "session": {
                "path": str(tmp_path / "data" / "sessions.db"),
                "db_url": (
                    f"host=127.0.0.1 port=1 user=me password='{S['pg_conninfo_password']}' "
                    "dbname=app"
                ),
                "busy_timeout": 0.5,
            },
            "vector": {
                "path": str(tmp_path / "data" / "chroma"),
                "db_url": (
                    "postgresql://me@127.0.0.1:1/app?sslmode=disable"
                    f"&password={S['vector_query_password']}"
                ),
            },
        },
        "embedding": {"openai": {"api_key": S["embedding_key"]}},
        "mcp": {
            "serve": {"token": S["mcp_serve_token"]},
            "servers": {
                "tool": {
                    "command": str(tmp_path / "no-such-mcp-server"),
                    "args": ["--token", S["mcp_token"], f"--api-key={S['mcp_token_equals']}"],
                    "env": {"SERVICE_TOKEN": S["mcp_env"]},
                    "timeout": 3,
                },
                "web": {
                    "url": f"http://carol:{S['mcp_url_password']}@127.0.0.1:1/mcp",
                    "headers": {"Authorization": f"Bearer {S['mcp_header']}"},
                    "timeout": 3,
                },
            },
        },
    }


def echo_401(provider: str, key: str) -> Any:
    """A 401 whose body quotes the key it was sent, the way each API words it."""
    if provider == "openai":
        body = {
            "error": {
                "message": f"Incorrect API key provided: {key}.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        }
        return OpenAIReply(status=401, error_body=body)
    body = {
        "anthropic": {
            "type": "error",
            "error": {"type": "authentication_error", "message": f"invalid x-api-key: {key}"},
        },
        "gemini": {
            "error": {
                "code": 401,
                "message": f"API key not valid: {key}.",
                "status": "UNAUTHENTICATED",
            }
        },
        "ollama": {"error": f"unauthorized: bearer {key} is not valid"},
    }[provider]
    return _server.Reply(status=401, error_body=body)


def key_sent(server: Any) -> str:
    """The headers of the fake's last request (the SDK puts the key in one of them)."""
    return " ".join(server.requests[-1].headers.values())


class Errors:
    """The errors the paths raised, each checked for its type."""

    def __init__(self) -> None:
        self.raised: list[BaseException] = []

    async def expect(self, kind: type[BaseException], call: Any) -> BaseException:
        with pytest.raises(kind) as info:
            await call()
        self.raised.append(info.value)
        return info.value


async def provider_and_mcp_errors(errors: Errors, config_file: Path, fakes: dict[str, Any]) -> str:
    """Each provider's 401 echoing its key, an unreachable base_url, two MCP servers."""
    async with LLMCore(config_file_path=config_file, env_prefix=None) as llm:
        for provider in NETWORK:
            fakes[provider].enqueue(echo_401(provider, S[f"{provider}_key"]))
            error = await errors.expect(
                ProviderError,
                lambda p=provider: llm.chat(
                    "hello", session_id=f"s-{p}", provider_name=p, mcp_servers=[]
                ),
            )
            assert S[f"{provider}_key"] in key_sent(fakes[provider])
            assert "***" in str(error), "the reply echoed the key: masked"
        fakes["openai"].enqueue(OpenAIReply(status=401))
        for provider in ("compat", "down"):
            await errors.expect(
                ProviderError,
                lambda p=provider: llm.chat("hello", provider_name=p, mcp_servers=[]),
            )
        await errors.expect(MCPError, lambda: llm.list_mcp_resources("tool"))
        await errors.expect(MCPError, lambda: llm.list_mcp_resources("web"))
        config_repr = repr(llm.config) + str(llm.config)
        assert "shown-user-agent" in config_repr  # only the secret headers are hidden
    return config_repr


async def storage_errors(errors: Errors, config_file: Path) -> None:
    """PostgreSQL session stores (conninfo and URL forms) that cannot be reached."""
    url = f"postgresql://me:{S['pg_url_password']}@127.0.0.1:1/app"
    for overrides in (
        {"storage.session.type": "postgres"},
        {"storage.session.type": "postgres", "storage.session.db_url": url},
    ):
        async with LLMCore(overrides, config_file, env_prefix=None) as llm:
            await errors.expect(SessionStorageError, llm.list_sessions)


async def vector_store_error(errors: Errors, config_file: Path) -> None:
    """A pgvector store whose password is a query parameter, unreachable."""
    async with LLMCore({"storage.vector.type": "pgvector"}, config_file, env_prefix=None) as llm:
        await errors.expect(VectorStorageError, llm.list_collections)


async def errors_of_every_path(
    config_file: Path, fakes: dict[str, Any]
) -> tuple[list[BaseException], str]:
    """Trigger each error path; return the errors and repr(llm.config)."""
    errors = Errors()
    async with anyio.create_task_group() as group:
        # pgvector waits its 10 s connect timeout: the other paths run meanwhile.
        group.start_soon(vector_store_error, errors, config_file)
        config_repr = await provider_and_mcp_errors(errors, config_file, fakes)
        await storage_errors(errors, config_file)
    assert len(errors.raised) == 11
    return errors.raised, config_repr


def stored_bytes(folder: Path) -> Iterator[tuple[Path, bytes]]:
    for path in folder.rglob("*"):
        if path.is_file():
            yield path, path.read_bytes()


async def test_no_secret_anywhere(
    fakes: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for server in fakes.values():
        server.reset()
    config_file = tmp_path / "secrets.json"
    config_file.write_text(json.dumps(secret_config(fakes, tmp_path)))
    caplog.set_level(logging.DEBUG)
    for name in ("llmcore", "httpx", "httpx2", "httpcore", "mcp"):
        caplog.set_level(logging.DEBUG, logger=name)

    errors, config_repr = await errors_of_every_path(config_file, fakes)

    assert_no_secret("repr(llm.config)", config_repr)
    for error in errors:
        assert isinstance(error, LLMCoreError)
        text = str(error) + repr(error) + "".join(traceback.format_exception_only(error))
        assert_no_secret(f"the {type(error).__name__}", text)
    # The URL with a password was logged by httpx: the records are there, masked.
    assert "alice:***@127.0.0.1" in caplog.text
    assert_no_secret("the DEBUG logs", caplog.text)
    for record in caplog.records:
        assert_no_secret(f"the log record {record.name}", record.getMessage())

    env = llmchat_env(tmp_path, None)
    cli = tmp_path / "cli"
    cli.mkdir()
    for args in (["config", "show"], ["config", "show", "--json"]):
        result = await anyio.to_thread.run_sync(
            lambda a=args: run_llmchat(["--config", str(config_file), *a], env, cli)
        )
        assert result.returncode == 0, result.stderr
        assert_no_secret(f"llmchat {' '.join(args)}", result.stdout + result.stderr)
    rows = {row["key"]: row["value"] for row in json.loads(result.stdout)}
    assert rows["mcp.servers.tool.env.SERVICE_TOKEN"] == "***"
    assert rows["mcp.servers.tool.args"] == ["--token", "***", "--api-key=***"]
    assert rows["providers.proxy.options.default_headers.User-Agent"] == "shown-user-agent"
    assert rows["mcp.serve.token"] == rows["mcp.servers.web.headers.Authorization"] == "***"

    fakes["openai"].enqueue(echo_401("openai", S["openai_key"]))
    # The MCP servers cannot start; leave them out so the chat reaches the provider.
    no_mcp = {f"LLMCORE_MCP_SERVERS_{n}_ENABLED": "false" for n in ("TOOL", "WEB")}
    chat = await anyio.to_thread.run_sync(
        lambda: run_llmchat(
            ["--config", str(config_file), "chat", "-p", "openai", "hi"], {**env, **no_mcp}, cli
        )
    )
    assert chat.returncode == 1 and chat.stderr.startswith("Error: ")
    assert S["openai_key"] in key_sent(fakes["openai"])
    assert_no_secret("llmchat chat's error", chat.stdout + chat.stderr)

    # Everything written under tmp_path but the config file itself: sessions, chat history.
    stored = [(p, data) for p, data in stored_bytes(tmp_path) if p != config_file]
    assert any(p.name == "sessions.db" for p, _ in stored)
    for path, data in stored:
        for name, value in S.items():
            assert value.encode() not in data, f"{name} is stored in {path}"
