"""llmchat chat: one-shot use against the fake server, and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from _llmchat import llmchat_env, run_llmchat
from click.testing import CliRunner
from fakes.openai_server import FakeOpenAIServer

from llmcore.cli import cli, main


def test_one_shot_chat_streams_the_reply(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    result = run_llmchat(
        ["chat", "What is the capital of France?"], llmchat_env(tmp_path, openai_server), tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "echo: What is the capital of France?\n"
    assert openai_server.last_request.json["stream"] is True


def test_options_and_sessions(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    env = llmchat_env(tmp_path, openai_server)
    first = run_llmchat(
        [
            "chat",
            "--session",
            "cli-1",
            "--system",
            "Be terse.",
            "--model",
            "gpt-4o",
            "--no-stream",
            "Hi",
        ],
        env,
        tmp_path,
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout == "echo: Hi\n"
    second = run_llmchat(["chat", "-s", "cli-1", "-p", "openai", "Again"], env, tmp_path)
    assert second.returncode == 0, second.stderr
    body = openai_server.last_request.json
    assert [m["content"] for m in body["messages"]] == ["Be terse.", "Hi", "echo: Hi", "Again"]
    assert body["model"] == "gpt-4o-mini"
    assert (tmp_path / ".llmcore" / "sessions.db").is_file()


def test_piped_stdin_is_the_message(tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    result = run_llmchat(
        ["chat", "summarise"], llmchat_env(tmp_path, openai_server), tmp_path, stdin="my notes"
    )
    assert result.returncode == 0, result.stderr
    assert openai_server.last_request.json["messages"][-1]["content"] == "summarise\n\nmy notes"


def test_missing_api_key_is_one_clear_line(tmp_path: Path) -> None:
    result = run_llmchat(["chat", "hello"], llmchat_env(tmp_path, None), tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "providers.openai.api_key" in result.stderr
    assert "LLMCORE_PROVIDERS_OPENAI_API_KEY" in result.stderr
    assert result.stdout == ""


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = run_llmchat(["--debug", "chat", "hello"], llmchat_env(tmp_path, None), tmp_path)
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "ConfigError" in result.stderr


def test_unknown_provider_suggests_the_nearest(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    result = run_llmchat(
        ["chat", "-p", "opneai", "hello"], llmchat_env(tmp_path, openai_server), tmp_path
    )
    assert result.returncode == 1
    assert "Did you mean 'openai'?" in result.stderr


def test_bad_config_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[providers.openai]\ntimout = 3\n")
    result = run_llmchat(
        ["--config", str(bad), "chat", "hello"], llmchat_env(tmp_path, None), tmp_path
    )
    assert result.returncode == 1
    assert "Did you mean 'timeout'?" in result.stderr


def test_usage_errors_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(cli, ["chat"], input="")
    assert result.exit_code == 2
    assert "Give a message" in result.output
    with pytest.raises(SystemExit) as info:
        main(["chat", "--no-such-option"])
    assert info.value.code == 2


def test_help_lists_the_chat_options() -> None:
    result = CliRunner().invoke(cli, ["chat", "--help"])
    assert result.exit_code == 0
    for option in ("--provider", "--model", "--session", "--system", "--no-stream"):
        assert option in result.output
