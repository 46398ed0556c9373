"""``llmchat chat --trace`` prints each turn's stages; ``llmchat --debug`` prints DEBUG logs.

The real ``llmchat`` script, against the fake server (one-shot runs in a
subprocess, the REPL through a pseudo-terminal).
"""

from __future__ import annotations

import re
from pathlib import Path

import pexpect
from cli._llmchat import LLMCHAT, llmchat_env, run_llmchat
from fakes.openai_server import FakeOpenAIServer

from llmcore.cli.repl import PROMPT

STAGES = [
    "load_session",
    "persist (wraps)",
    "embed_query",
    "retrieve",
    "select_history",
    "truncate",
    "format_mcp",
    "call_provider",
]


def table_rows(text: str) -> dict[str, tuple[float, str]]:
    """The stage table's rows: stage -> (ms, notes)."""
    rows = {}
    for line in text.splitlines():
        match = re.match(r"^(\w+(?: \(wraps\))?)\s+(\d+\.\d)\s*(.*)$", line.strip())
        if match:
            rows[match[1]] = (float(match[2]), match[3].strip())
    return rows


def test_trace_prints_the_stage_table_on_stderr(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    env = llmchat_env(tmp_path, openai_server)
    for stream in ([], ["--no-stream"]):
        done = run_llmchat(["chat", "-s", "t1", "--trace", *stream, "hello"], env, tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout == "echo: hello\n"  # the reply alone: the table is on stderr
        header = done.stderr.splitlines()[0].split()
        assert header == ["stage", "ms", "notes"]
        rows = table_rows(done.stderr)
        assert list(rows) == [*STAGES, "total"]
        assert rows["load_session"][1] in ("new", "exists")
        assert rows["persist (wraps)"][1] == "appended 2 messages"
        assert rows["total"][0] >= max(ms for ms, _ in rows.values() if ms) - 0.05


def test_without_trace_no_table(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    done = run_llmchat(["chat", "hello"], llmchat_env(tmp_path, openai_server), tmp_path)
    assert done.returncode == 0
    assert done.stderr == ""


def test_debug_prints_the_turn_line_and_the_context_decisions(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    env = llmchat_env(tmp_path, openai_server)
    env["LLMCORE_PROVIDERS_OPENAI_CONTEXT_LENGTH"] = "60"
    env["LLMCORE_CONTEXT_MANAGEMENT_RESERVED_RESPONSE_TOKENS"] = "10"
    for i in range(3):
        filler = " ".join(["word"] * 10)
        assert run_llmchat(["chat", "-s", "d", f"{i} {filler}"], env, tmp_path).returncode == 0
    done = run_llmchat(["--debug", "chat", "-s", "d", "last"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "echo: last\n"
    (turn,) = [line for line in done.stderr.splitlines() if line.startswith("DEBUG llmcore.turn:")]
    assert "Turn openai/gpt-4o-mini, session 'd': " in turn
    assert "call_provider" in turn and "select_history" in turn
    assert re.search(
        r"INFO llmcore.context: Session d: sent \d+ of 6 history messages", done.stderr
    )
    assert "sk-cli" not in done.stderr  # the key in the environment is never logged


def test_the_repl_traces_each_turn(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    env = llmchat_env(tmp_path, openai_server)
    env.update(TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1", COLUMNS="250", LINES="40")
    child = pexpect.spawn(
        LLMCHAT,
        ["chat", "--trace", "-s", "r"],
        env=env,
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 250),
    )
    try:
        child.expect_exact(PROMPT)
        child.sendline("Hello there")
        child.expect_exact("echo: Hello there")
        child.expect(r"call_provider\s+\d+\.\d")
        child.expect(r"total\s+\d+\.\d")
        child.expect_exact(PROMPT)
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
