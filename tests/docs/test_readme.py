"""The README runs as written: its shell and Python blocks, top to bottom, offline.

This is a new user's first hour after the fresh-machine command: the venv
here has ``.[test]``, which includes ``local``, so that command's install
steps are the only part not run again. The test command block is the one
``.ci/run`` runs (this test is part of that run); blocks marked
``# needs a real API key`` are skipped, as the README says. Consecutive
Python blocks share one process (one load of the local model), and the
local model's replies are cut short (``max_tokens``) to keep this quick.
"""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest
from blocks import API_KEY_MARKER, ROOT, Block, blocks, clean_env, run_programs

README = ROOT / "README.md"
INSTALL_STEPS = ("python3 -m venv ", ". .venv/bin/activate", "pip install ")


def ci_command() -> str:
    lines = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    return lines[-1].strip()


def without_install(command: str) -> str:
    """The command after its install steps (the venv running this test has them)."""
    steps = [step.strip() for step in command.split(" && ")]
    while steps and steps[0].startswith(INSTALL_STEPS):
        steps.pop(0)
    return " && ".join(steps)


# The whole README as a new user runs it: init, chats, RAG ingest, each a fresh process
# that loads the local model (about 2 minutes on 2 busy cores; the suite's 180 s is per test).
@pytest.mark.timeout(900)
def test_the_readme_runs_top_to_bottom(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    env["LLMCORE_PROVIDERS_LOCAL_MAX_TOKENS"] = "40"
    all_blocks = blocks(README)
    shell = [b for b in all_blocks if b.language in ("bash", "sh")]
    assert without_install(shell[0].text.strip()).startswith("llmchat init"), "fresh machine first"
    assert ci_command() in {b.text.strip() for b in shell}, ".ci/run runs the README's test command"
    skipped = [b.where for b in all_blocks if b.marked(API_KEY_MARKER)]
    assert len(skipped) <= 2, f"only blocks that need a real key are skipped: {skipped}"
    ran = 0
    pending: list[Block] = []
    for block in all_blocks:
        if block.marked(API_KEY_MARKER):
            continue
        if block.language == "python":
            pending.append(block)
            continue
        if pending:
            run_programs(pending, tmp_path, env)
            ran, pending = ran + len(pending), []
        if block.language == "toml":
            tomllib.loads(block.text)  # configuration examples: valid TOML at least
        elif block.language in ("bash", "sh") and block.text.strip() != ci_command():
            _run_shell(block, env)
            ran += 1
    if pending:
        run_programs(pending, tmp_path, env)
        ran += len(pending)
    assert ran >= 5
    # What the blocks did is there: the session of the Quickstart, the collection of rag add.
    sessions = subprocess.run(
        ["llmchat", "sessions", "list", "--json"], env=env, capture_output=True, text=True
    )
    assert '"tutor-1"' in sessions.stdout
    collections = subprocess.run(
        ["llmchat", "rag", "collections", "--json"], env=env, capture_output=True, text=True
    )
    assert '"product_docs"' in collections.stdout and '"docs"' in collections.stdout


def _run_shell(block: Block, env: dict[str, str]) -> None:
    script = "\n".join(without_install(line) for line in block.text.splitlines())
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,  # a clone of the repository: README.md and docs/ are there
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (
        f"{block.where} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    )
    assert done.stdout.strip(), f"{block.where} printed nothing"
