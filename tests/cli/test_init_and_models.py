"""llmchat init writes a config file llmchat then uses; model names are checked
for providers whose models are known (the local one), in one-shot and REPL."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from _llmchat import LLMCHAT, llmchat_env, run_llmchat

from llmcore.cli.repl import PROMPT
from llmcore.config.loader import load_config


def test_init_writes_the_choices_and_llmchat_reads_them(tmp_path: Path) -> None:
    env = llmchat_env(tmp_path, None)
    done = run_llmchat(["init", "--yes"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    path = tmp_path / ".config" / "llmcore" / "config.toml"
    assert (
        f"Wrote {path}: provider local (smollm2-135m-instruct), sessions in sqlite." in done.stdout
    )
    written = tomllib.loads(path.read_text())
    assert written["llmcore"] == {"default_provider": "local"}
    assert written["storage"]["session"] == {"type": "sqlite", "path": "~/.llmcore/sessions.db"}
    shown = run_llmchat(["config", "show", "llmcore.default_provider", "--json"], env, tmp_path)
    assert '"local"' in shown.stdout and str(path) in shown.stdout
    again = run_llmchat(["init", "--yes"], env, tmp_path)
    assert again.returncode == 1
    assert "exists already; edit it, or pass --force" in again.stderr
    assert tomllib.loads(path.read_text()) == written  # never overwritten by accident


def test_init_options_and_a_checked_model(tmp_path: Path) -> None:
    env = llmchat_env(tmp_path, None)
    out = tmp_path / "app.toml"
    args = ["init", "--yes", "-o", str(out), "-p", "openai", "-m", "gpt-4o", "--sessions", "json"]
    done = run_llmchat(args, env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "export OPENAI_API_KEY=..." in done.stdout
    config = load_config(file_path=out, env_prefix=None, user_config=False).config
    assert config.llmcore.default_provider == "openai"
    assert config.providers["openai"].default_model == "gpt-4o"
    assert config.storage.session.type == "json"
    bad = run_llmchat(["init", "--yes", "--force", "-o", str(out), "-m", "gpt-4o"], env, tmp_path)
    assert bad.returncode == 1
    assert "Provider 'local' has no model 'gpt-4o'" in bad.stderr


def test_an_unknown_local_model_is_an_error_not_a_label(tmp_path: Path) -> None:
    env = llmchat_env(tmp_path, None)
    done = run_llmchat(["chat", "-p", "local", "-m", "smollm2-135m-instrct", "Hi"], env, tmp_path)
    assert done.returncode == 1
    assert "Provider 'local' has no model 'smollm2-135m-instrct'." in done.stderr
    assert "Did you mean 'smollm2-135m-instruct'?" in done.stderr


@pytest.fixture
def child(tmp_path: Path) -> Iterator[pexpect.spawn]:
    env = {**llmchat_env(tmp_path, None), "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
    spawned = pexpect.spawn(
        LLMCHAT,
        ["chat", "-p", "local"],
        env=env,
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=30,
        dimensions=(30, 200),
    )
    yield spawned
    spawned.close(force=True)


def test_slash_model_refuses_a_model_the_provider_does_not_have(child: pexpect.spawn) -> None:
    child.expect_exact(PROMPT)
    child.sendline("/model gpt-4o")
    child.expect_exact("Provider 'local' has no model 'gpt-4o'.")
    child.expect_exact(PROMPT)
    child.sendline("/model")
    child.expect_exact("Model: local/smollm2-135m-instruct.")
    child.expect_exact(PROMPT)
    child.sendeof()
    child.expect(pexpect.EOF)


def test_init_force_replaces_a_broken_user_config(tmp_path: Path) -> None:
    env = llmchat_env(tmp_path, None)
    path = tmp_path / ".config" / "llmcore" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text("[llmcore\ndefault_provider = ", "utf-8")  # not TOML at all
    broken = run_llmchat(["config", "show", "llmcore.default_provider"], env, tmp_path)
    assert broken.returncode == 1 and str(path) in broken.stderr
    done = run_llmchat(["init", "--yes", "--force", "-p", "openai"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"Wrote {path}: provider openai (gpt-4o-mini), sessions in sqlite." in done.stdout
    assert tomllib.loads(path.read_text())["llmcore"] == {"default_provider": "openai"}
    shown = run_llmchat(["config", "show", "llmcore.default_provider", "--json"], env, tmp_path)
    assert shown.returncode == 0 and '"openai"' in shown.stdout
