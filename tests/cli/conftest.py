"""llmchat test helpers: a clean environment pointing at the fake server, and runners.

Commands run in-process through Click's runner (``invoke``) or as the real
``llmchat`` script in a subprocess (``run_llmchat``), always with HOME set
to a temporary folder so sessions, history and config never touch the
user's own.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _llmchat import llmchat_env
from click.testing import CliRunner, Result
from fakes.openai_server import FakeOpenAIServer

from llmcore.cli import cli


@pytest.fixture
def cli_env(
    tmp_path: Path, openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """This process's environment set up for in-process runs against the fake server."""
    env = llmchat_env(tmp_path, openai_server)
    for key in list(os.environ):
        if key not in env:
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    return env


@pytest.fixture
def invoke(cli_env: dict[str, str]) -> Callable[..., Result]:
    """``invoke("sessions", "list", input=...)``: run llmchat in-process."""

    def run(*args: str, **kwargs: Any) -> Result:
        kwargs.setdefault("catch_exceptions", False)
        return CliRunner().invoke(cli, list(args), **kwargs)

    return run
