"""Helpers for the llmchat tests: a clean environment and the real script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fakes.openai_server import FakeOpenAIServer

LLMCHAT = str(Path(sys.executable).with_name("llmchat"))


def llmchat_env(tmp_path: Path, server: FakeOpenAIServer | None) -> dict[str, str]:
    """The process environment minus llmcore/OpenAI settings, HOME in ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMCORE_", "OPENAI_"))}
    env["HOME"] = str(tmp_path)  # sessions go to ~/.llmcore/sessions.db
    env.pop("XDG_CONFIG_HOME", None)
    if server is not None:
        env["LLMCORE_PROVIDERS_OPENAI_API_KEY"] = "sk-cli"
        env["LLMCORE_PROVIDERS_OPENAI_BASE_URL"] = server.base_url
        env["LLMCORE_PROVIDERS_OPENAI_MAX_RETRIES"] = "0"
    return env


def run_llmchat(
    args: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``llmchat`` script and capture its output."""
    return subprocess.run(
        [LLMCHAT, *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
