"""What llmchat says is what happened: one real-llmchat test per small lie of issue 15.

The REPL runs in a pseudo-terminal (pexpect); where the question is what a
person sees, the bytes it wrote are rendered by a terminal emulator (pyte).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pyte
import pytest
from _llmchat import LLMCHAT, llmchat_env, run_llmchat
from fakes.openai_server import FakeOpenAIServer, Reply

from llmcore.cli.repl import PROMPT


@pytest.fixture
def children() -> Iterator[list[pexpect.spawn]]:
    spawned: list[pexpect.spawn] = []
    yield spawned
    for child in spawned:
        child.close(force=True)


def spawn(
    env: dict[str, str], cwd: Path, args: list[str], spawned: list[pexpect.spawn]
) -> pexpect.spawn:
    env = {**env, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
    child = pexpect.spawn(
        LLMCHAT, args, env=env, cwd=str(cwd), encoding="utf-8", timeout=30, dimensions=(30, 100)
    )
    spawned.append(child)
    return child


def stored(home: Path) -> list[tuple[str, str, str]]:
    db = home / ".llmcore" / "sessions.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT session_id, role, content FROM messages ORDER BY seq")
        return [(str(s), str(r), str(c)) for s, r, c in rows.fetchall()]


def test_a_turn_that_never_reached_the_model_stores_nothing(
    tmp_path: Path, children: list[pexpect.spawn]
) -> None:
    env = llmchat_env(tmp_path, None)  # no API key anywhere
    one_shot = run_llmchat(["chat", "-s", "nokey", "Hello"], env, tmp_path)
    assert one_shot.returncode == 1
    assert "No API key is configured for provider 'openai'" in one_shot.stderr
    # The local provider is installed here: the hint says how to chat with it.
    assert 'llmchat chat -p local "Hello"' in one_shot.stderr
    assert "LLMCORE_DEFAULT_PROVIDER=local" in one_shot.stderr
    child = spawn(env, tmp_path, ["chat", "-s", "nokey"], children)
    child.expect_exact(PROMPT)
    child.sendline("Hello again")
    child.expect_exact("No API key is configured")
    child.expect_exact(PROMPT)
    child.sendline("/exit")
    child.expect_exact("Session nokey has no messages; nothing was saved.")
    child.expect(pexpect.EOF)
    assert stored(tmp_path) == []


def test_exit_after_clear_does_not_claim_a_save(
    tmp_path: Path, openai_server: FakeOpenAIServer, children: list[pexpect.spawn]
) -> None:
    child = spawn(llmchat_env(tmp_path, openai_server), tmp_path, ["chat", "-s", "kept"], children)
    child.expect_exact(PROMPT)
    child.sendline("Hello")
    child.expect_exact("echo: Hello")
    child.expect_exact(PROMPT)
    child.sendline("/clear")
    child.expect(r"New session (chat-\S+) \(the previous one, kept, is kept\)")
    fresh = child.match.group(1)
    child.expect_exact(PROMPT)
    child.sendline("/exit")
    child.expect_exact(f"Session {fresh} has no messages; nothing was saved.")
    child.expect(pexpect.EOF)
    assert [s for s, _, _ in stored(tmp_path)] == ["kept", "kept"]


def test_ctrl_c_during_a_reply_shows_the_partial_reply_once(
    tmp_path: Path, openai_server: FakeOpenAIServer, children: list[pexpect.spawn]
) -> None:
    child = spawn(llmchat_env(tmp_path, openai_server), tmp_path, ["chat", "-s", "cut"], children)
    screen = pyte.Screen(100, 30)
    stream = pyte.Stream(screen)
    child.expect_exact(PROMPT)
    stream.feed(child.before + child.after)
    openai_server.enqueue(
        Reply(
            chunks=["First line of the reply.\n\n", "Second line", " and", " more", " words"],
            chunk_delay=0.7,
        )
    )
    child.sendline("Tell me")
    child.expect_exact("Second line")
    stream.feed(child.before + child.after)
    child.sendintr()
    child.expect_exact("the partial reply is saved")
    child.expect_exact(PROMPT)
    stream.feed(child.before + child.after)
    shown = [line.rstrip() for line in screen.display]
    assert sum("First line of the reply." in line for line in shown) == 1, "\n".join(shown)
    assert any(line.startswith("Second line") for line in shown), "\n".join(shown)
    assert not any("^C" in line for line in shown)
    child.sendeof()
    child.expect(pexpect.EOF)


def test_a_missing_collection_tells_a_shell_user_about_rag_add(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    env = llmchat_env(tmp_path, openai_server)
    result = run_llmchat(["chat", "--rag", "--collection", "manuals", "Reset?"], env, tmp_path)
    assert result.returncode == 1
    assert "Collection 'manuals' does not exist" in result.stderr
    assert "llmchat rag add PATH -c manuals" in result.stderr


def test_sessions_show_piped_is_not_padded(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    env = llmchat_env(tmp_path, openai_server)
    openai_server.enqueue(Reply(text="# Answer\n\nShort **reply** with `code`."))
    assert run_llmchat(["chat", "-s", "wide", "Hi"], env, tmp_path).returncode == 0
    shown = run_llmchat(["sessions", "show", "wide"], env, tmp_path)
    assert shown.returncode == 0
    lines = shown.stdout.splitlines()
    assert "# Answer" in lines  # the exact text, not a rendering
    assert all(line == line.rstrip() for line in lines), [len(line) for line in lines]
    assert max(map(len, lines)) < 80


def test_rag_add_counts_files_and_chunks(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("Alpha. " * 400)  # several chunks
    (docs / "b.md").write_text("Beta is short.")
    result = run_llmchat(
        ["rag", "add", "docs", "-c", "counted"], llmchat_env(tmp_path, None), tmp_path
    )
    assert result.returncode == 0, result.stderr
    found = re.fullmatch(
        r"Added (\d+) chunks from 2 files to counted in [\d.]+ s "
        r"\([\d.]+ files/s, [\d.]+ chunks/s\)\.\n",
        result.stdout,
    )
    assert found and int(found.group(1)) > 2, result.stdout


def test_ctrl_c_in_rag_add_says_what_was_added_and_how_to_resume(
    tmp_path: Path, children: list[pexpect.spawn]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(300):
        (docs / f"note{i:03}.md").write_text(f"Note {i}: " + "words to embed " * 40)
    env = llmchat_env(tmp_path, None)
    args = ["rag", "add", "docs", "-c", "big", "--batch-size", "2"]
    child = spawn(env, tmp_path, args, children)
    child.expect(r"\b([1-9]\d*)/300\b")  # the progress bar: files are being added
    child.sendintr()
    child.expect(r"Stopped: at least (\d+) chunks from (\d+) of 300 files were added to big\.")
    added = int(child.match.group(1))
    child.expect_exact("Run the same command again to add the rest")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert 0 < added < 300
    again = run_llmchat(args, env, tmp_path)
    assert again.returncode == 0, again.stderr
    listed = run_llmchat(["rag", "collections", "--json"], env, tmp_path)
    (info,) = json.loads(listed.stdout)
    assert info["count"] == 300  # resumed: every note once, none doubled


def test_a_provider_option_at_the_wrong_level_says_where_it_goes(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[providers.local]\ntemperature = 0.2\n")
    result = run_llmchat(
        ["--config", str(config), "chat", "-p", "local", "Hi"],
        llmchat_env(tmp_path, None),
        tmp_path,
    )
    assert result.returncode == 1
    assert "Unknown configuration key 'providers.local.temperature'" in result.stderr
    assert "[providers.local.options] temperature = 0.2" in result.stderr


def test_hints_fit_the_failure(tmp_path: Path) -> None:
    env = llmchat_env(tmp_path, None)
    env["LLMCORE_PROVIDERS_LOCAL_MODEL_PATH"] = str(tmp_path / "missing.gguf")
    gguf = run_llmchat(["chat", "-p", "local", "Hi"], env, tmp_path)
    assert gguf.returncode == 1
    assert "missing.gguf' does not exist" in gguf.stderr
    assert "config show" not in gguf.stderr
    assert "must name a .gguf file on this machine" in gguf.stderr
    # A package that is not installed: hidden the way a machine without it lacks it.
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['anthropic'] = None\n")
    env = {**llmchat_env(tmp_path, None), "PYTHONPATH": str(hide), "ANTHROPIC_API_KEY": "sk-x"}
    package = run_llmchat(["chat", "-p", "anthropic", "Hi"], env, tmp_path)
    assert package.returncode == 1
    assert "needs the 'anthropic' package" in package.stderr
    assert "config show" not in package.stderr
    assert "-m pip install 'llmcore[anthropic]'" in package.stderr
