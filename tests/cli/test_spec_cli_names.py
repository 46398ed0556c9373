"""The CLI names of the specification's section 7 (issue 14, items 8-9)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from _llmchat import run_llmchat
from click.testing import Result
from fakes import mcp_demo_server
from fakes.openai_server import FakeOpenAIServer

from llmcore import SessionNotFoundError

Invoke = Callable[..., Result]


def test_session_lists_or_shows_like_sessions_list_and_show(invoke: Invoke) -> None:
    assert invoke("chat", "-s", "alpha", "Hello").exit_code == 0
    assert invoke("chat", "-s", "beta", "Second").exit_code == 0
    assert invoke("session").output == invoke("sessions", "list").output
    listed = json.loads(invoke("session", "--json").output)
    assert [s["id"] for s in listed] == ["beta", "alpha"]
    assert [s["id"] for s in json.loads(invoke("session", "-n", "1", "--json").output)] == ["beta"]
    shown = invoke("session", "alpha")
    assert shown.exit_code == 0 and shown.output == invoke("sessions", "show", "alpha").output
    assert "echo: Hello" in shown.output
    with pytest.raises(SessionNotFoundError):
        invoke("session", "nope")
    assert invoke("session", "alpha", "-n", "2").exit_code == 2  # -n lists


def test_delete_is_sessions_delete(invoke: Invoke) -> None:
    assert invoke("chat", "-s", "alpha", "Hello").exit_code == 0
    refused = invoke("delete", "alpha")  # no terminal to confirm on: like sessions delete
    assert refused.exit_code == 2 and "--yes" in refused.output
    done = invoke("delete", "alpha", "--yes")
    assert done.exit_code == 0 and done.output == "Deleted session alpha.\n"
    assert json.loads(invoke("session", "--json").output) == []


def test_help_names_them(invoke: Invoke) -> None:
    out = invoke("--help").output
    assert "session " in out and "delete " in out


def _mcp_config(tmp_path: Path) -> Path:
    config = tmp_path / "mcp.toml"
    config.write_text(
        "[mcp.servers.demo]\n"
        f"command = {json.dumps(sys.executable)}\n"
        f"args = [{json.dumps(mcp_demo_server.__file__)}]\n",
        "utf-8",
    )
    return config


def test_chat_mcp_and_no_mcp_choose_the_servers_whose_tools_are_offered(
    invoke: Invoke, tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    config = str(_mcp_config(tmp_path))
    assert invoke("--config", config, "chat", "--no-mcp", "Hi").exit_code == 0
    assert openai_server.last_request is not None
    assert "tools" not in openai_server.last_request.json
    assert invoke("--config", config, "chat", "--mcp", "demo", "--mcp", "demo", "Hi").exit_code == 0
    tools = [t["function"]["name"] for t in openai_server.last_request.json["tools"]]
    assert any(n.endswith("add") for n in tools) and len(tools) == len(set(tools)) == 5
    assert invoke("--config", config, "chat", "Hi").exit_code == 0  # default: every server
    assert "tools" in openai_server.last_request.json


def test_chat_mcp_errors_say_what_to_fix(
    invoke: Invoke, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    config = str(_mcp_config(tmp_path))
    both = invoke("--config", config, "chat", "--mcp", "demo", "--no-mcp", "Hi")
    assert both.exit_code == 2 and "contradict" in both.output
    done = run_llmchat(["--config", config, "chat", "--mcp", "dmeo", "Hi"], cli_env, tmp_path)
    assert done.returncode == 1
    assert "dmeo" in done.stderr and "demo" in done.stderr
