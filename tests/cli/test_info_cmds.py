"""llmchat models, providers, pipeline and config (in-process)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from fakes.openai_server import FakeOpenAIServer

Invoke = Callable[..., Result]


def test_models_lists_the_providers_models(invoke: Invoke, openai_server: FakeOpenAIServer) -> None:
    openai_server.models = ["gpt-4o-mini", "gpt-x"]
    result = invoke("models")
    assert result.exit_code == 0
    assert result.output.splitlines() == ["gpt-4o-mini (default)", "gpt-x"]
    data = json.loads(invoke("models", "openai", "--json").output)
    assert data == {
        "provider": "openai",
        "default_model": "gpt-4o-mini",
        "models": ["gpt-4o-mini", "gpt-x"],
    }


def test_models_of_an_unknown_provider(invoke: Invoke) -> None:
    from llmcore.exceptions import ConfigError

    result = invoke("models", "opneai", catch_exceptions=True)
    assert isinstance(result.exception, ConfigError)
    assert "Did you mean 'openai'?" in str(result.exception)


def test_providers_never_show_keys(invoke: Invoke, cli_env: dict[str, str]) -> None:
    result = invoke("providers")
    assert result.exit_code == 0
    assert "sk-cli" not in result.output
    row = next(line for line in result.output.splitlines() if line.startswith("openai"))
    assert row.split()[:4] == ["openai", "(default)", "openai", "gpt-4o-mini"]
    assert row.split()[-1] == "set"
    data = {p["name"]: p for p in json.loads(invoke("providers", "--json").output)}
    assert data["openai"]["api_key_set"] is True
    assert data["openai"]["base_url"] == cli_env["LLMCORE_PROVIDERS_OPENAI_BASE_URL"]
    assert data["ollama"]["api_key_set"] is False
    assert "sk-cli" not in json.dumps(data)


@pytest.fixture
def custom_pipeline(tmp_path: Path, cli_env: dict[str, str]) -> Path:
    folder = tmp_path / "pipelines"
    folder.mkdir()
    (folder / "terse.toml").write_text(
        'description = "Fewer messages."\nextends = "default"\nremove = ["format_mcp"]\n'
        '[options.select_history]\nstrategy = "last_n_messages"\n'
    )
    (folder / "broken.toml").write_text('extends = "default"\nremove = ["nope"]\n')
    config = tmp_path / "llmchat.toml"
    config.write_text(f'[pipelines]\npaths = ["{folder}"]\n')
    return config


def test_pipeline_list(invoke: Invoke, custom_pipeline: Path) -> None:
    rows = json.loads(invoke("--config", str(custom_pipeline), "pipeline", "list", "--json").output)
    by_name = {r["name"]: r for r in rows}
    assert set(by_name) == {"default", "terse", "broken"}
    assert by_name["default"]["default"] is True
    assert by_name["terse"]["description"] == "Fewer messages."
    assert "format_mcp" not in by_name["terse"]["stages"]
    assert "cannot remove 'nope'" in by_name["broken"]["error"]
    table = invoke("--config", str(custom_pipeline), "pipeline", "list").output
    assert "default (default)" in table and "invalid" in table


def test_pipeline_show_options_and_their_sources(invoke: Invoke, custom_pipeline: Path) -> None:
    result = invoke("--config", str(custom_pipeline), "pipeline", "show", "terse", "--json")
    data = json.loads(result.output)
    assert data["extends"] == "default"
    names = [s["name"] for s in data["stages"]]
    assert names == [
        "load_session", "persist", "embed_query", "retrieve", "select_history", "truncate",
        "call_provider",
    ]  # fmt: skip
    assert [s["name"] for s in data["stages"] if s["wraps"]] == ["persist"]
    history = data["stages"][4]
    options = {o["name"]: (o["value"], o["source"]) for o in history["options"]}
    assert options["strategy"] == (
        "last_n_messages",
        str(custom_pipeline.parent / "pipelines" / "terse.toml"),
    )
    assert options["page_size"] == (64, "stage default")
    assert history["origin"].endswith("terse.toml")
    assert data["stages"][0]["origin"].endswith("default.toml")
    table = invoke("--config", str(custom_pipeline), "pipeline", "show", "terse").output
    assert "strategy = 'last_n_messages' (terse.toml)" in table
    assert "page_size = 64 (stage default)" in table
    assert "persist (wraps the stages after it)" in table


def test_pipeline_show_unknown(invoke: Invoke) -> None:
    from llmcore.exceptions import PipelineError

    result = invoke("pipeline", "show", "nope", catch_exceptions=True)
    assert isinstance(result.exception, PipelineError)


def test_config_show_sources_and_redaction(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[providers.openai]\ntimeout = 5\n[storage.session]\ntype = "postgres"\n'
        'db_url = "postgresql://me:hunter2@db/x"\n'
        '[mcp.servers.files]\ncommand = "x"\nenv = { GITHUB_TOKEN = "ghp-secret" }\n'
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-sdk-var")
    result = invoke("--config", str(config), "config", "show", "--json")
    rows = {r["key"]: r for r in json.loads(result.output)}
    assert "hunter2" not in result.output and "sk-cli" not in result.output
    assert "ghp-secret" not in result.output
    assert rows["providers.openai.api_key"]["value"] == "***"
    assert rows["providers.openai.api_key"]["source"] == (
        "environment variable LLMCORE_PROVIDERS_OPENAI_API_KEY"
    )
    assert rows["providers.openai.timeout"] == {
        "key": "providers.openai.timeout",
        "value": 5.0,
        "source": str(config),
    }
    assert rows["providers.anthropic.default_model"]["source"] == "defaults"
    assert rows["providers.openai.context_length"]["source"] == "built-in default"
    assert rows["storage.session.db_url"]["value"] == "postgresql://me:***@db/x"
    assert rows["mcp.servers.files.env.GITHUB_TOKEN"]["value"] == "***"
    table = invoke("--config", str(config), "config", "show", "providers.openai").output
    assert all(line.startswith(("Key", "providers.openai.")) for line in table.splitlines())
    assert "hunter2" not in table


def test_config_show_unknown_prefix_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("config", "show", "provders", catch_exceptions=True)
    assert result.exit_code == 2


def test_config_path(invoke: Invoke, tmp_path: Path) -> None:
    default = tmp_path / ".config" / "llmcore" / "config.toml"
    assert invoke("config", "path").stdout == f"{default}\n"
    default.parent.mkdir(parents=True)
    default.write_text("[providers.openai]\ntimeout = 7\n")
    data = json.loads(invoke("config", "path", "--json").output)
    assert data["path"] == str(default) and data["exists"] is True
    # The default file is read when --config is not given.
    rows = json.loads(invoke("config", "show", "providers.openai.timeout", "--json").output)
    assert rows == [{"key": "providers.openai.timeout", "value": 7.0, "source": str(default)}]
    other = tmp_path / "other.toml"
    assert invoke("--config", str(other), "config", "path").stdout == f"{other}\n"
