"""Code blocks of Markdown pages, and running them the way a reader would.

A block is a fenced block at the start of a line: its language, its
``title="..."`` if any, its text and its line number. Markers a block may
carry in its first lines (say so to the reader too):

- ``# needs a real API key``: not run (the README's one exception);
- ``# fragment``: deliberately incomplete (it continues the page's example);
  Python fragments are still parsed, top-level ``await`` allowed.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r'^```(\w+)(?: title="([^"]+)")?[^\n]*\n(.*?)^```$', re.MULTILINE | re.DOTALL)
API_KEY_MARKER = "# needs a real API key"
FRAGMENT_MARKER = "# fragment"


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int
    language: str
    title: str | None
    text: str

    @property
    def where(self) -> str:
        """``page.md:LINE`` for failure messages."""
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    def marked(self, marker: str) -> bool:
        """Whether one of the block's first lines is ``marker`` (or starts with it)."""
        return any(line.strip().startswith(marker) for line in self.text.splitlines()[:3])


def blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page``, in order."""
    text = page.read_text()
    return [
        Block(page, text.count("\n", 0, m.start()) + 1, m[1], m[2], m[3])
        for m in FENCE.finditer(text)
    ]


def check_python_parses(block: Block) -> None:
    """Parse a Python block (a fragment may ``await`` at the top level)."""
    try:
        compile(block.text, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    except SyntaxError as exc:
        raise AssertionError(f"{block.where}: not valid Python: {exc}") from None


#: Runs each program given as a file, in order, in one process (one import of
#: llmcore, one load of the local model), as ``python FILE`` would.
RUNNER = """
import json, runpy, sys
for path in json.loads(sys.argv[1]):
    print(f"=== {path}", flush=True)
    runpy.run_path(path, run_name="__main__")
"""


def run_programs(
    programs: list[Block], folder: Path, env: dict[str, str], timeout: float = 300
) -> str:
    """Run the Python blocks one after another in one process; return what they printed."""
    paths = []
    for block in programs:
        path = folder / f"block_{block.page.stem}_{block.line}.py"
        path.write_text(block.text)
        paths.append(str(path))
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(paths)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    where = ", ".join(b.where for b in programs)
    assert done.returncode == 0, f"{where} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def clean_env(home: Path) -> dict[str, str]:
    """The environment of a new user: no llmcore or OpenAI settings, HOME in ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMCORE_", "OPENAI_"))}
    env.pop("XDG_CONFIG_HOME", None)
    env["HOME"] = str(home)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["ANONYMIZED_TELEMETRY"] = "False"  # Chroma's
    return env
