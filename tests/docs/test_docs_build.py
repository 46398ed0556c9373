"""The documentation site builds with ``mkdocs build --strict`` (no broken links, no warnings)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_site_builds_strictly(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The generated pages are there: the config reference and the API from docstrings.
    reference = (site / "reference" / "configuration" / "index.html").read_text()
    assert "LLMCORE_PROVIDERS_NAME_API_KEY" in reference
    api = (site / "reference" / "api" / "api" / "index.html").read_text()
    assert "chat_turn" in api and "One async API over many LLM providers" in api
    # The examples page includes the example files themselves.
    examples = (site / "examples" / "index.html").read_text()
    assert "add_documents_to_vector_store" in examples
    # No web fonts: the site reads offline and the build fetches nothing.
    assert "fonts.googleapis.com" not in (site / "index.html").read_text()
