"""The specification's default TOML (section 4.1) as a user's file, and the user file layer.

``spec_config.toml`` beside this file is the TOML of SPEC.md section 4.1,
copied byte for byte (items 3, 4, 6 and 7 of issue 14).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from llmcore import ConfigError, LLMCore
from llmcore.config.loader import load_config
from llmcore.config.user_file import user_config_path

SPEC_TOML = Path(__file__).with_name("spec_config.toml")


def uncommented(text: str) -> str:
    """The spec's TOML with every commented-out key written in.

    ``# key = value  # note`` lines become ``key = value``. The one value that
    is not TOML as printed, ``safety_settings = { ..., ... }``, loses its
    ``, ...`` placeholder.
    """
    out = []
    for line in text.splitlines():
        match = re.fullmatch(r"(\s*)# ([a-z_]+ = .*?)(\s+# .*)?", line)
        out.append(match.group(1) + match.group(2) if match else line)
    return "\n".join(out).replace(", ... }", " }") + "\n"


@pytest.fixture
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$XDG_CONFIG_HOME/llmcore``, empty."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    folder = tmp_path / "xdg" / "llmcore"
    folder.mkdir(parents=True)
    return folder


def test_the_spec_toml_loads_verbatim_as_the_user_file(user_dir: Path) -> None:
    (user_dir / "config.toml").write_bytes(SPEC_TOML.read_bytes())
    resolved = load_config(env_prefix=None)
    config = resolved.config
    assert resolved.sources["llmcore.default_provider"] == str(user_dir / "config.toml")
    assert config.llmcore.default_embedding_model == "all-MiniLM-L6-v2"
    assert config.providers["openai"].default_model == "gpt-4-turbo"
    assert config.providers["anthropic"].default_model == "claude-3-opus-20240229"
    assert config.providers["ollama"].base_url == "http://localhost:11434/api"
    assert config.providers["gemini"].default_model == "gemini-1.5-pro-latest"
    assert config.storage.session.type == "sqlite"
    assert config.storage.vector.default_collection == "llmcore_default_rag"
    assert config.context_management.reserved_response_tokens == 500
    # api_key = "" is "not set" (item 6).
    assert all(config.providers[p].api_key is None for p in ("openai", "anthropic", "gemini"))


def test_the_spec_toml_loads_with_every_commented_key_written_in(
    user_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = uncommented(SPEC_TOML.read_text("utf-8"))
    for key in ("use_mcp = false", 'tokenizer = "tiktoken_cl100k_base"', "safety_settings = {"):
        assert key in text
    (user_dir / "config.toml").write_text(text, "utf-8")
    with caplog.at_level(logging.WARNING, logger="llmcore.config"):
        config = load_config(env_prefix=None).config
    assert config.providers["openai"].use_mcp is False
    assert config.providers["ollama"].tokenizer == "tiktoken_cl100k_base"
    assert config.providers["gemini"].safety_settings == {
        "HARM_CATEGORY_SEXUALLY_EXPLICIT": "BLOCK_NONE"
    }
    assert config.storage.session.db_url == "postgresql://user:pass@host:port/dbname"
    # table_name is the old name of table_prefix (item 7), said once per key.
    assert config.storage.session.table_prefix == "llmcore_sessions"
    assert config.storage.vector.table_prefix == "llmcore_vectors"
    warned = [r.getMessage() for r in caplog.records if "table_name" in r.getMessage()]
    assert len(warned) == 2 and "table_prefix = 'llmcore_sessions'" in warned[0]
    # default_model is embedding.NAME.model (item 4).
    assert config.embedding["openai"].model == "text-embedding-ada-002"
    assert config.embedding["google"].model == "models/embedding-001"
    assert config.embedding["openai"].api_key is None
    assert config.context_management.mcp_version == "v1"


def test_llmcore_reads_the_user_file_by_default(user_dir: Path, tmp_path: Path) -> None:
    (user_dir / "config.toml").write_text(
        '[providers.openai]\ndefault_model = "from-user-file"\ntimeout = 7\n', "utf-8"
    )
    # env_prefix=None turns off the environment, not the user's file.
    llm = LLMCore(env_prefix=None)
    assert llm.config.providers["openai"].default_model == "from-user-file"
    assert llm.config_sources["providers.openai.timeout"] == str(user_dir / "config.toml")
    # An explicit file sits above it: its keys win, the others stay.
    app = tmp_path / "app.toml"
    app.write_text('[providers.openai]\ndefault_model = "from-app"\n', "utf-8")
    both = LLMCore(config_file_path=app, env_prefix=None).config.providers["openai"]
    assert (both.default_model, both.timeout) == ("from-app", 7)
    # The documented opt-out.
    own = LLMCore(config_file_path=app, env_prefix=None, user_config=False)
    assert own.config.providers["openai"].timeout == 60


def test_xdg_config_home_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user_dir: Path
) -> None:
    assert user_config_path() == user_dir / "config.toml"
    (user_dir / "config.json").write_text('{"llmcore": {"default_provider": "ollama"}}')
    assert user_config_path() == user_dir / "config.json"
    assert load_config(env_prefix=None).config.llmcore.default_provider == "ollama"
    # Unset, empty or relative (invalid by the XDG rule): ~/.config.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for value in (None, "", "relative/dir"):
        if value is None:
            monkeypatch.delenv("XDG_CONFIG_HOME")
        else:
            monkeypatch.setenv("XDG_CONFIG_HOME", value)
        assert user_config_path() == tmp_path / "home" / ".config" / "llmcore" / "config.toml"


def test_a_broken_user_file_is_a_config_error_naming_it(user_dir: Path) -> None:
    (user_dir / "config.toml").write_text("[llmcore\n", "utf-8")
    with pytest.raises(ConfigError, match=re.escape(str(user_dir / "config.toml"))):
        LLMCore(env_prefix=None)
    assert LLMCore(env_prefix=None, user_config=False).config.llmcore.default_provider


def test_empty_api_key_in_a_file_lets_the_sdk_variable_through(
    user_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (user_dir / "config.toml").write_bytes(SPEC_TOML.read_bytes())
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-sdk-variable")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
    resolved = load_config(environ={**__import__("os").environ})
    assert resolved.config.providers["openai"].api_key == "sk-from-the-sdk-variable"
    assert resolved.sources["providers.openai.api_key"] == "environment variable OPENAI_API_KEY"
    assert resolved.config.providers["anthropic"].api_key == "sk-ant-from-env"
    # An empty LLMCORE_ variable or override is "not set" too; a real value still wins.
    resolved = load_config(
        overrides={"providers.openai.api_key": ""},
        environ={"OPENAI_API_KEY": "sk-sdk", "LLMCORE_PROVIDERS_OPENAI_API_KEY": ""},
    )
    assert resolved.config.providers["openai"].api_key == "sk-sdk"
    resolved = load_config(overrides={"providers.openai.api_key": "sk-x"}, environ={})
    assert resolved.config.providers["openai"].api_key == "sk-x"


def test_embedding_default_model_is_an_alias_of_model(user_dir: Path) -> None:
    (user_dir / "config.toml").write_text(
        '[embedding.openai]\ndefault_model = "text-embedding-ada-002"\n', "utf-8"
    )
    config = load_config(env_prefix=None).config
    assert config.embedding["openai"].model == "text-embedding-ada-002"
    # A higher layer's model still wins over it, and the alias works in overrides.
    over = load_config(env_prefix=None, overrides={"embedding.openai.model": "m2"}).config
    assert over.embedding["openai"].model == "m2"
    alias = load_config(env_prefix=None, overrides={"embedding.google.default_model": "g"})
    assert alias.config.embedding["google"].model == "g"
    (user_dir / "config.toml").write_text(
        '[embedding.openai]\ndefault_model = "a"\nmodel = "b"\n', "utf-8"
    )
    with pytest.raises(ConfigError, match="same setting") as info:
        load_config(env_prefix=None)
    assert info.value.key == "embedding.openai.model"


def test_mcp_version_is_validated() -> None:
    assert load_config(env_prefix=None).config.context_management.mcp_version == "v1"
    ok = load_config(env_prefix=None, overrides={"context_management.mcp_version": "v1"})
    assert ok.config.context_management.mcp_version == "v1"
    with pytest.raises(ConfigError, match=r"mcp_version.*expected one of 'v1'"):
        load_config(env_prefix=None, overrides={"context_management.mcp_version": "v2"})


def test_table_name_and_table_prefix_together_must_agree(user_dir: Path) -> None:
    (user_dir / "config.toml").write_text(
        '[storage.session]\ntable_name = "a"\ntable_prefix = "b"\n', "utf-8"
    )
    with pytest.raises(ConfigError, match="table_prefix = 'b' and table_name = 'a'"):
        load_config(env_prefix=None)


async def test_table_name_from_the_spec_names_the_postgres_tables_prefix(
    pg_db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import psycopg

    config = tmp_path / "pg.toml"
    config.write_text(
        f'[storage.session]\ntype = "postgres"\ndb_url = "{pg_db_url}"\n'
        'table_name = "spec_sessions"\n',
        "utf-8",
    )
    overrides = {"providers.openai.api_key": "sk-x", "providers.openai.base_url": "http://x"}
    with caplog.at_level(logging.WARNING, logger="llmcore.config"):
        llm = LLMCore(overrides, config_file_path=config, env_prefix=None)
    assert "table_prefix = 'spec_sessions'" in caplog.text
    async with llm:
        store = await llm.services.session_store()
        from llmcore import Message, Role

        await store.append_messages("s", [Message(role=Role.USER, content="hi")])

    def list_tables() -> list[str]:
        with psycopg.connect(pg_db_url) as conn:
            query = "select tablename from pg_tables where tablename like 'spec_sessions%'"
            return [row[0] for row in conn.execute(query).fetchall()]

    tables = await anyio.to_thread.run_sync(list_tables)
    assert "spec_sessions_sessions" in tables and "spec_sessions_messages" in tables
