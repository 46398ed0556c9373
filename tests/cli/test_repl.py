"""The interactive chat, driven for real through a pseudo-terminal with pexpect."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from _llmchat import LLMCHAT, llmchat_env
from fakes.openai_server import FakeOpenAIServer, Reply

from llmcore.cli.repl import PROMPT


@pytest.fixture
def repl_env(tmp_path: Path, openai_server: FakeOpenAIServer) -> dict[str, str]:
    env = llmchat_env(tmp_path, openai_server)
    # A real terminal answers cursor-position requests; pexpect's pty does not.
    env.update(TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1", COLUMNS="250", LINES="40")
    return env


def spawn(env: dict[str, str], cwd: Path, *args: str) -> pexpect.spawn:
    child = pexpect.spawn(
        LLMCHAT,
        ["chat", *args],
        env=env,
        cwd=str(cwd),
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 250),
    )
    child.expect_exact(PROMPT)
    return child


@pytest.fixture
def children() -> Iterator[list[pexpect.spawn]]:
    spawned: list[pexpect.spawn] = []
    yield spawned
    for child in spawned:
        child.close(force=True)


def stored(tmp_path: Path, session_id: str) -> list[tuple[str, str]]:
    with sqlite3.connect(tmp_path / ".llmcore" / "sessions.db") as db:
        rows = db.execute(
            "SELECT role, content FROM messages WHERE session_id = ? ORDER BY seq", (session_id,)
        ).fetchall()
    return [(str(r), str(c)) for r, c in rows]


def test_chat_stream_and_slash_commands(
    tmp_path: Path,
    openai_server: FakeOpenAIServer,
    repl_env: dict[str, str],
    children: list[pexpect.spawn],
) -> None:
    child = spawn(repl_env, tmp_path, "--session", "repl-1")
    children.append(child)
    child.sendline("Hello there")
    child.expect_exact("echo: Hello there")
    child.expect_exact(PROMPT)
    assert openai_server.last_request.json["stream"] is True
    assert openai_server.last_request.json["model"] == "gpt-4o-mini"

    child.sendline("/model gpt-4o")
    child.expect_exact("Model: openai/gpt-4o.")
    child.sendline("/system Answer in French.")
    child.expect_exact("System message set")
    child.sendline("And again")
    child.expect_exact("echo: And again")
    child.expect_exact(PROMPT)
    body = openai_server.last_request.json
    assert body["model"] == "gpt-4o"
    assert [m["content"] for m in body["messages"]] == [
        "Answer in French.",
        "Hello there",
        "echo: Hello there",
        "And again",
    ]

    child.sendline("/provider opneai")
    child.expect_exact("Did you mean 'openai'?")
    child.sendline("/rag")
    child.expect_exact("RAG is off.")
    child.sendline("/session")
    child.expect_exact("Session repl-1 (5 messages stored).")
    child.sendline("/nope")
    child.expect_exact("Unknown command /nope.")
    child.sendline("/help")
    child.expect_exact("/rag [on [COLLECTION]|off]")
    child.sendline("/exit")
    child.expect_exact("llmchat chat -s repl-1")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert stored(tmp_path, "repl-1")[-1] == ("assistant", "echo: And again")


def test_ctrl_c_stops_the_reply_not_the_chat(
    tmp_path: Path,
    openai_server: FakeOpenAIServer,
    repl_env: dict[str, str],
    children: list[pexpect.spawn],
) -> None:
    child = spawn(repl_env, tmp_path, "-s", "stop-1")
    children.append(child)
    openai_server.enqueue(Reply(text="never shown", delay=5))
    child.sendline("Slow question")
    child.expect_exact("Slow question")
    deadline = time.monotonic() + 20
    while openai_server.last_request is None:  # the model is being asked: now stop it
        assert time.monotonic() < deadline, "the request never reached the server"
        time.sleep(0.05)
    child.sendintr()
    child.expect_exact("Stopped before the reply began.")
    child.expect_exact(PROMPT)
    child.sendline("Next")
    child.expect_exact("echo: Next")
    child.expect_exact(PROMPT)
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    # What was typed before Ctrl-C is kept: the request had reached the model.
    assert stored(tmp_path, "stop-1") == [
        ("user", "Slow question"),
        ("user", "Next"),
        ("assistant", "echo: Next"),
    ]


def test_a_stream_cut_midway_is_one_error_line_and_the_chat_goes_on(
    tmp_path: Path,
    openai_server: FakeOpenAIServer,
    repl_env: dict[str, str],
    children: list[pexpect.spawn],
) -> None:
    child = spawn(repl_env, tmp_path, "-s", "cut-1", "--provider", "openai")
    children.append(child)
    openai_server.enqueue(Reply(chunks=["Partial ", "answer ", "lost"], cut_after=1))
    child.sendline("Tell me")
    child.expect_exact("Error: ")
    child.expect_exact(PROMPT)
    before = child.before
    assert "Traceback" not in before
    child.sendline("/exit")
    child.expect(pexpect.EOF)
    rows = stored(tmp_path, "cut-1")
    assert rows[0] == ("user", "Tell me")  # what was typed is never lost
    with sqlite3.connect(tmp_path / ".llmcore" / "sessions.db") as db:
        (check,) = db.execute("PRAGMA integrity_check").fetchone()
    assert check == "ok"


def test_one_shot_on_a_terminal_renders_markdown(
    tmp_path: Path, openai_server: FakeOpenAIServer, repl_env: dict[str, str]
) -> None:
    openai_server.enqueue(Reply(chunks=["# Title\n\n", "Some **bold** ", "text"]))
    child = pexpect.spawn(
        LLMCHAT,
        ["chat", "Hi"],
        env=repl_env,
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 250),
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    output = child.before
    assert "bold" in output and "**bold**" not in output and "# Title" not in output


def test_ctrl_c_stops_a_one_shot_reply_with_exit_130(
    tmp_path: Path, openai_server: FakeOpenAIServer, repl_env: dict[str, str]
) -> None:
    openai_server.enqueue(Reply(text="too late", delay=5))
    child = pexpect.spawn(
        LLMCHAT, ["chat", "-s", "one", "Slow"], env=repl_env, cwd=str(tmp_path),
        encoding="utf-8", timeout=30,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while openai_server.last_request is None:
        assert time.monotonic() < deadline, "the request never reached the server"
        time.sleep(0.05)
    began = time.monotonic()
    child.sendintr()
    child.expect_exact("Stopped.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert time.monotonic() - began < 4  # it did not wait for the reply
    assert stored(tmp_path, "one") == [("user", "Slow")]  # what was typed is kept
