"""llmchat chat: one-shot use against the fake server, and its errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from _llmchat import llmchat_env, run_llmchat
from click.testing import CliRunner, Result
from fakes.openai_server import FakeOpenAIServer, Reply

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


def test_provider_options_are_json_where_they_parse(
    invoke: Callable[..., Result], openai_server: FakeOpenAIServer
) -> None:
    result = invoke(
        "chat",
        "-o",
        "temperature=0.25",
        "-o",
        'stop=["END"]',
        "-o",
        "user=alex",
        "--no-stream",
        "Hi",
    )
    assert result.exit_code == 0, result.output
    assert result.output == "echo: Hi\n"
    body = openai_server.last_request.json
    assert (body["temperature"], body["stop"], body["user"]) == (0.25, ["END"], "alex")


def test_bad_provider_options_are_usage_errors(invoke: Callable[..., Result]) -> None:
    no_equals = invoke("chat", "-o", "temperature", "Hi")
    assert no_equals.exit_code == 2 and "is not key=value" in no_equals.output


def test_provider_options_never_collide_with_llmcores_own(
    invoke: Callable[..., Result], openai_server: FakeOpenAIServer
) -> None:
    # -o goes to the provider as it is, even under a name llmcore uses itself.
    tools = '[{"type": "function", "function": {"name": "f", "parameters": {}}}]'
    result = invoke("chat", "-o", f"tools={tools}", "-o", "seed=7", "--no-stream", "Hi")
    assert result.exit_code == 0, result.output
    body = openai_server.last_request.json
    assert body["tools"] == json.loads(tools) and body["seed"] == 7


def test_pipeline_and_config_options(
    invoke: Callable[..., Result], openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    (tmp_path / "no_history.toml").write_text(
        'extends = "default"\n[options.select_history]\nstrategy = "last_n_messages"\n'
    )
    config = tmp_path / "app.toml"
    config.write_text('[providers.openai]\ndefault_model = "gpt-4o"\n')
    pipeline = str(tmp_path / "no_history.toml")
    result = invoke("chat", "--config", str(config), "--pipeline", pipeline, "-s", "p", "Hi")
    assert result.exit_code == 0, result.output
    assert openai_server.last_request.json["model"] == "gpt-4o"
    from llmcore.exceptions import PipelineError

    bad = invoke("chat", "--pipeline", "nope", "Hi", catch_exceptions=True)
    assert isinstance(bad.exception, PipelineError)


def test_help_is_fast_because_heavy_modules_load_lazily() -> None:
    code = (
        "import sys, llmcore.cli; "
        "print(sorted(m for m in ('rich', 'prompt_toolkit', 'llmcore.api', 'openai', 'anyio') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_command_has_help() -> None:
    runner = CliRunner()
    top = runner.invoke(cli, ["--help"])
    for command in ("chat", "sessions", "models", "providers", "rag", "pipeline", "config"):
        assert command in top.output
    for args in (["sessions", "list"], ["rag", "add"], ["pipeline", "show"], ["config", "show"]):
        result = runner.invoke(cli, [*args, "--help"])
        assert result.exit_code == 0 and "--json" in result.output, args


@pytest.mark.parametrize(
    ("reply", "hint"),
    [
        (Reply(status=429, headers={"retry-after": "0"}), "Wait a little and retry"),
        (Reply(status=401), "Check providers.openai.api_key"),
        (Reply(status=404), "List the models with: llmchat models openai"),
    ],
)
def test_provider_errors_get_a_hint_and_exit_1(
    cli_env: dict[str, str],
    openai_server: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    reply: Reply,
    hint: str,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # nothing piped
    openai_server.enqueue(reply)
    with pytest.raises(SystemExit) as info:
        main(["chat", "-s", "errs", "Hi"])
    assert info.value.code == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and err[0].startswith("Error: ")
    assert err[1].startswith(f"Hint: {hint}")
