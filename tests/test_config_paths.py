"""Config files: relative paths are read from the file's folder, stages are found
next to the config and pipeline files, and [llmcore] keys have a short env form."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli._llmchat import llmchat_env, run_llmchat

from llmcore.config.loader import load_config


def test_relative_paths_come_from_the_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "config.toml").write_text(
        '[storage.session]\npath = "data/sessions.db"\n'
        '[storage.vector]\npath = "~/chroma"\n'
        '[pipelines]\npaths = ["pipelines", "/abs/pipes"]\n'
        '[providers.local]\nmodel_path = "models/m.gguf"\n'
        '[embedding.fastembed]\nmodel_path = "minilm"\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(
        file_path="../project/config.toml", env_prefix=None, user_config=False
    ).config
    assert config.storage.session.path == str(project / "data" / "sessions.db")
    assert config.storage.vector.path == "~/chroma"  # the user's home stays the user's home
    assert config.pipelines.paths == [str(project / "pipelines"), "/abs/pipes"]
    assert config.providers["local"].model_path == str(project / "models" / "m.gguf")
    assert config.embedding["fastembed"].model_path == str(project / "minilm")
    # Paths from the environment or overrides are the caller's: left as given.
    config = load_config(
        overrides={"storage.session.path": "rel.db"}, env_prefix=None, user_config=False
    ).config
    assert config.storage.session.path == "rel.db"


def test_default_provider_short_form() -> None:
    short = load_config(
        environ={"LLMCORE_DEFAULT_PROVIDER": "local"}, dotenv_path=None, user_config=False
    )
    assert short.config.llmcore.default_provider == "local"
    assert (
        short.sources["llmcore.default_provider"] == "environment variable LLMCORE_DEFAULT_PROVIDER"
    )
    both = load_config(
        environ={"LLMCORE_LLMCORE_DEFAULT_PROVIDER": "ollama", "LLMCORE_DEFAULT_PROVIDER": "local"},
        dotenv_path=None,
        user_config=False,
    )
    assert both.config.llmcore.default_provider == "ollama"  # the full name wins
    # Without a prefix, a bare DEFAULT_PROVIDER variable is not a setting.
    none = load_config(
        environ={"DEFAULT_PROVIDER": "local"}, env_prefix="", dotenv_path=None, user_config=False
    )
    assert none.config.llmcore.default_provider == "openai"


STAGE = """
class Audit:
    name = "audit"

    async def __call__(self, turn):
        turn.state["audited"] = True
"""


def test_llmchat_finds_stages_next_to_the_config_file(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "pipelines").mkdir(parents=True)
    (project / "my_app").mkdir()
    (project / "my_app" / "stages.py").write_text(STAGE)
    (project / "config.toml").write_text('[pipelines]\npaths = ["pipelines"]\n')
    (project / "pipelines" / "audited.toml").write_text(
        'extends = "default"\n[[insert]]\nname = "audit"\nstage = "my_app.stages:Audit"\n'
        'after = "call_provider"\n'
    )
    env = llmchat_env(tmp_path, None)
    assert "PYTHONPATH" not in env or str(project) not in env["PYTHONPATH"]
    shown = run_llmchat(
        ["--config", str(project / "config.toml"), "pipeline", "show", "audited"], env, tmp_path
    )
    assert shown.returncode == 0, shown.stderr
    assert "my_app.stages:Audit" in shown.stdout
