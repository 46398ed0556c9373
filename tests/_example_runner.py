"""Running an example program as a new user would, and reading what it stored.

The specification's examples (tests/spec) and the project's own (tests/examples)
run the same way: a subprocess with a clean environment (no ``LLMCORE_*`` or
``OPENAI_*`` variables but the ones a test gives, no ``XDG_CONFIG_HOME``),
``HOME`` in a temporary folder, so sessions go to ``~/.llmcore`` there, and the
OpenAI provider pointed at the fake server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio

from llmcore import LLMCore

__all__ = ["example_env", "run_example", "stored"]


def example_env(home: Path, openai_base_url: str, **variables: str) -> dict[str, str]:
    """A clean environment: ``HOME`` at ``home``, the OpenAI provider at the fake server.

    The provider does not retry (a fault shows at once); ``variables``, the
    test's own settings, go on top.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LLMCORE_", "OPENAI_"))}
    clean.pop("XDG_CONFIG_HOME", None)
    return {
        **clean,
        "HOME": str(home),
        "LLMCORE_PROVIDERS_OPENAI_BASE_URL": openai_base_url,
        "LLMCORE_PROVIDERS_OPENAI_MAX_RETRIES": "0",
        "ANONYMIZED_TELEMETRY": "False",  # Chroma's
        "PYTHONWARNINGS": "default",  # a "never awaited" RuntimeWarning would show
        **variables,
    }


def run_example(
    script: Path,
    env: dict[str, str],
    cwd: Path,
    *args: str,
    returncode: int = 0,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``python SCRIPT ARGS...`` in ``cwd``.

    It must exit with ``returncode`` and write no traceback and no un-awaited
    coroutine warning to stderr (an example handles its errors itself).
    """
    done = subprocess.run(
        [sys.executable, str(script), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == returncode, (
        f"{script.name} exited with {done.returncode}, not {returncode}:\n"
        f"{done.stdout}\n{done.stderr}"
    )
    assert "Traceback" not in done.stderr and "never awaited" not in done.stderr, done.stderr
    return done


def stored(home: Path, session_id: str) -> list[tuple[str, str]]:
    """The ``(role, content)`` of each message of a session stored in ``~/.llmcore/sessions.db``."""

    async def read() -> list[tuple[str, str]]:
        path = str(home / ".llmcore" / "sessions.db")
        async with LLMCore({"storage.session.path": path}, env_prefix=None) as llm:
            session = await llm.get_session(session_id)
        assert session is not None, f"session {session_id!r} was not stored"
        return [(m.role.value, m.content) for m in session.messages]

    return anyio.run(read)
