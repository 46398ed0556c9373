"""llmchat and MCP servers that ask for input: a form in the REPL, a decline without a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from fakes.openai_server import FakeOpenAIServer, Reply

from llmcore.cli.elicit import parse_value
from llmcore.cli.repl import PROMPT

from .test_mcp_client import call

LLMCHAT = str(Path(sys.executable).with_name("llmchat"))
RICH = str(Path(__file__).with_name("rich_server.py"))


def environment(tmp_path: Path, openai_server: FakeOpenAIServer, protocol: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMCORE_", "OPENAI_"))}
    env.pop("XDG_CONFIG_HOME", None)
    config = tmp_path / "llmchat.toml"
    config.write_text(
        f"""
[providers.openai]
api_key = "sk-cli"
base_url = "{openai_server.base_url}"
max_retries = 0

[mcp.servers.rich]
command = "{sys.executable}"
args = ["{RICH}"]
timeout = 20
protocol = "{protocol}"
"""
    )
    env.update(
        HOME=str(tmp_path),
        LLMCORE_CONFIG=str(config),
        TERM="xterm-256color",
        PROMPT_TOOLKIT_NO_CPR="1",
        COLUMNS="200",
        LINES="40",
    )
    return env


def spawn_chat(env: dict[str, str], cwd: Path) -> pexpect.spawn:
    """The interactive ``llmchat chat``, in a pseudo-terminal."""
    config = env.pop("LLMCORE_CONFIG")
    return pexpect.spawn(
        LLMCHAT,
        ["--config", config, "chat"],
        env=env,
        cwd=str(cwd),
        encoding="utf-8",
        timeout=40,
        dimensions=(40, 200),
    )


@pytest.mark.parametrize("protocol", ["auto", "legacy"])
def test_the_repl_asks_the_person_with_a_form_built_from_the_schema(
    tmp_path: Path, openai_server: FakeOpenAIServer, protocol: str
) -> None:
    openai_server.enqueue(
        Reply(tool_calls=[call("rich__book", {"table": "window"})]),
        Reply(text="Your table is booked."),
    )
    child = spawn_chat(environment(tmp_path, openai_server, protocol), tmp_path)
    try:
        child.expect_exact(PROMPT)
        child.sendline("Book the window table")
        child.expect_exact("MCP server rich (for its tool book) asks:")
        child.expect_exact("Which date, and for how many guests?")
        child.expect_exact("Date (text):")
        child.sendline("2026-08-01")
        child.expect_exact("Guests (whole number):")
        child.sendline("many")
        child.expect_exact("Give a whole number.")
        child.expect_exact("Guests (whole number):")
        child.sendline("4")
        child.expect_exact("Your table is booked.")
        child.expect_exact(PROMPT)
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    tool = openai_server.last_request.json["messages"][-1]
    assert tool["role"] == "tool" and tool["content"] == "Booked window on 2026-08-01 for 4."


def test_the_repl_form_can_decline(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    openai_server.enqueue(
        Reply(tool_calls=[call("rich__book", {"table": "window"})]), Reply(text="Not booked then.")
    )
    child = spawn_chat(environment(tmp_path, openai_server, "auto"), tmp_path)
    try:
        child.expect_exact(PROMPT)
        child.sendline("Book")
        child.expect_exact("Date (text):")
        child.sendline("/decline")
        child.expect_exact("Not booked then.")
        child.expect_exact(PROMPT)
    finally:
        child.close(force=True)
    tool = openai_server.last_request.json["messages"][-1]
    assert tool["content"] == "Not booked: the user chose decline."


def test_llmchat_chat_without_a_terminal_declines(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(
        Reply(tool_calls=[call("rich__book", {"table": "window"})]), Reply(text="Not booked.")
    )
    env = environment(tmp_path, openai_server, "legacy")
    config = env.pop("LLMCORE_CONFIG")
    done = subprocess.run(
        [LLMCHAT, "--config", config, "chat", "--no-stream", "Book the window table"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Not booked."
    assert "MCP server 'rich' asked 'Which date, and for how many guests?'; declined" in done.stderr
    tool = openai_server.last_request.json["messages"][-1]
    assert tool["content"] == "Not booked: the user chose decline."


@pytest.mark.parametrize(
    ("text", "schema", "value"),
    [
        ("4", {"type": "integer", "minimum": 1}, 4),
        ("2.5", {"type": "number"}, 2.5),
        ("yes", {"type": "boolean"}, True),
        ("N", {"type": "boolean"}, False),
        ("2", {"type": "string", "enum": ["red", "green"]}, "green"),
        ("red", {"type": "string", "enum": ["red", "green"]}, "red"),
        ("b", {"type": "string", "oneOf": [{"const": "a"}, {"const": "b"}]}, "b"),
        ("ada@example.org", {"type": "string", "maxLength": 40}, "ada@example.org"),
    ],
)
def test_form_values_are_typed_by_their_schema(
    text: str, schema: dict[str, object], value: object
) -> None:
    assert parse_value(text, schema) == value


@pytest.mark.parametrize(
    ("text", "schema", "message"),
    [
        (
            "0",
            {"type": "integer", "minimum": 1},
            "That does not fit: 0 is less than the minimum of 1.",
        ),
        ("x", {"type": "number"}, "Give a number."),
        ("maybe", {"type": "boolean"}, "Answer yes or no."),
        ("blue", {"type": "string", "enum": ["red", "green"]}, "Choose one of: red, green."),
        ("toolong", {"type": "string", "maxLength": 3}, "That does not fit"),
    ],
)
def test_form_values_that_do_not_fit_say_why(
    text: str, schema: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        parse_value(text, schema)
