"""Configuration: five layers in order, schema-resolved env keys, clear errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from llmcore import ConfigError, LLMCore
from llmcore.config import load_config


def write(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path


def test_defaults_cover_every_section() -> None:
    config = load_config(env_prefix=None).config
    assert config.llmcore.default_provider == "openai"
    assert set(config.providers) >= {"openai", "anthropic", "gemini", "ollama"}
    assert config.storage.session.type == "sqlite"
    assert config.storage.vector.type == "chromadb"
    assert set(config.embedding) >= {"openai", "google", "fastembed"}
    assert config.context_management.reserved_response_tokens == 500
    assert config.pipelines.default == "default"
    assert config.mcp.servers == {}


def test_precedence_across_all_layers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config_file = write(
        tmp_path / "config.toml",
        """
        [providers.openai]
        timeout = 11
        default_model = "from-file"
        max_retries = 5
        [context_management]
        rag_retrieval_k = 7
        """,
    )
    write(
        tmp_path / ".env",
        "LLMCORE_PROVIDERS_OPENAI_TIMEOUT=22\nLLMCORE_PROVIDERS_OPENAI_DEFAULT_MODEL=from-dotenv\n",
    )
    environ = {
        "LLMCORE_PROVIDERS_OPENAI_TIMEOUT": "33",
        "OPENAI_API_KEY": "sk-sdk-fallback",
    }
    resolved = load_config(
        file_path=config_file,
        environ=environ,
        overrides={"providers.openai.timeout": 44},
    )
    openai = resolved.config.providers["openai"]
    assert openai.timeout == 44  # overrides beat the environment
    assert openai.default_model == "from-dotenv"  # .env beats the file
    assert openai.max_retries == 5  # the file beats the defaults
    assert resolved.config.context_management.rag_retrieval_k == 7
    assert openai.api_key == "sk-sdk-fallback"  # the SDK's variable as a fallback
    assert resolved.sources["providers.openai.timeout"] == "overrides"
    assert resolved.sources["providers.openai.default_model"].startswith(".env file")
    assert resolved.sources["providers.openai.max_retries"] == str(config_file)
    assert resolved.sources["providers.openai.api_key"] == "environment variable OPENAI_API_KEY"
    assert resolved.sources["providers.anthropic.max_tokens"] == "defaults"

    # The environment beats .env and the file when no override is given.
    resolved = load_config(file_path=config_file, environ=environ)
    assert resolved.config.providers["openai"].timeout == 33
    assert resolved.sources["providers.openai.timeout"] == (
        "environment variable LLMCORE_PROVIDERS_OPENAI_TIMEOUT"
    )


def test_llmcore_key_beats_sdk_fallback() -> None:
    config = load_config(
        environ={"OPENAI_API_KEY": "sk-sdk", "LLMCORE_PROVIDERS_OPENAI_API_KEY": "sk-llmcore"}
    ).config
    assert config.providers["openai"].api_key == "sk-llmcore"


def test_env_keys_resolve_against_the_schema() -> None:
    config = load_config(
        environ={
            "LLMCORE_PROVIDERS_OPENAI_API_KEY": "123",  # a string field keeps its raw text
            "LLMCORE_PROVIDERS__ANTHROPIC__MAX_TOKENS": "77",
            "LLMCORE_STORAGE_SESSION_PATH": "/tmp/x.db",
            "LLMCORE_CONTEXT_MANAGEMENT_RESERVED_RESPONSE_TOKENS": "250",
            "LLMCORE_PROVIDERS_GROQ_TYPE": "openai",  # a provider that exists only in env
            "LLMCORE_PROVIDERS_GROQ_BASE_URL": "https://api.groq.com/openai/v1",
            "LLMCORE_PROVIDERS_OPENAI_CONTEXT_LENGTHS": '{"my-model": 4096}',
            "LLMCORE_PIPELINES_PATHS": '["/a", "/b"]',
            "LLMCORE_LLMCORE_ENABLE_MCP": "true",
        }
    ).config
    assert config.providers["openai"].api_key == "123"
    assert config.providers["anthropic"].max_tokens == 77
    assert config.storage.session.path == "/tmp/x.db"
    assert config.context_management.reserved_response_tokens == 250
    assert config.providers["groq"].type == "openai"
    assert config.providers["groq"].base_url == "https://api.groq.com/openai/v1"
    assert config.providers["openai"].context_lengths == {"my-model": 4096}
    assert config.pipelines.paths == ["/a", "/b"]
    assert config.llmcore.enable_mcp is True


def test_custom_prefix_and_disabled_env() -> None:
    environ = {"MYAPP_PROVIDERS_OPENAI_TIMEOUT": "9", "LLMCORE_PROVIDERS_OPENAI_TIMEOUT": "8"}
    assert load_config(env_prefix="MYAPP", environ=environ).config.providers["openai"].timeout == 9
    assert load_config(env_prefix=None, environ=environ).config.providers["openai"].timeout == 60


def test_unrelated_prefixed_variable_is_ignored_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="llmcore.config"):
        load_config(environ={"LLMCORE_PROVIDERS_OPENAI_TIMOUT": "3"})
    assert "LLMCORE_PROVIDERS_OPENAI_TIMOUT" in caplog.text
    assert "providers_openai_timeout" in caplog.text  # the nearest valid key


def test_json_config_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.json", json.dumps({"llmcore": {"default_provider": "ollama"}}))
    assert load_config(file_path=path, env_prefix=None).config.llmcore.default_provider == "ollama"


@pytest.mark.parametrize(
    ("overrides", "key", "fragment"),
    [
        ({"providers.openai.timout": 3}, "providers.openai.timout", "Did you mean 'timeout'?"),
        ({"storag.session.type": "x"}, "storag", "Did you mean 'storage'?"),
        ({"providers.openai.timeout": "soon"}, "providers.openai.timeout", "Expected `float`"),
        ({"providers.openai.max_retries": -1}, "providers.openai.max_retries", ">= 0"),
        ({"storage.session.type": "mongo"}, "storage.session.type", "'sqlite', 'json'"),
        ({"llmcore.log_level": "LOUD"}, "llmcore.log_level", "'DEBUG'"),
    ],
)
def test_bad_values_name_key_and_source(
    overrides: dict[str, object], key: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(overrides=overrides, env_prefix=None)
    assert info.value.key == key
    assert info.value.source == "overrides"
    assert key in str(info.value)
    assert fragment in str(info.value)


def test_bad_value_from_environment_names_the_variable() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(environ={"LLMCORE_PROVIDERS_OPENAI_MAX_RETRIES": "many"})
    assert info.value.source == "environment variable LLMCORE_PROVIDERS_OPENAI_MAX_RETRIES"


def test_unknown_key_in_file_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", "[providers.openai]\napi_kee = 'x'\n")
    with pytest.raises(ConfigError) as info:
        load_config(file_path=path, env_prefix=None)
    assert info.value.source == str(path)
    assert "Did you mean 'api_key'?" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(file_path=tmp_path / "nope.toml", env_prefix=None)


def test_malformed_toml(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", "[providers.openai\ntimeout = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(file_path=path, env_prefix=None)


def test_malformed_json(tmp_path: Path) -> None:
    path = write(tmp_path / "c.json", '{"llmcore": ')
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(file_path=path, env_prefix=None)


def test_latin1_toml_names_the_file_line_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes('[providers.openai]\ndefault_model = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_config(file_path=path, env_prefix=None)
    message = str(info.value)
    assert repr(str(path)) in message and "not UTF-8" in message
    assert "it has byte 0xe9 at line 2, column 21 (byte offset 39)" in message
    assert "Save the file as UTF-8" in message
    assert info.value.source == str(path)


def test_utf16_json_says_utf16(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_bytes('{"llmcore": {"log_level": "DEBUG"}}'.encode("utf-16"))
    with pytest.raises(ConfigError, match=r"not UTF-8: it is UTF-16 text at line 1, column 1 "):
        load_config(file_path=path, env_prefix=None)


def test_latin1_dotenv_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes(b"LLMCORE_PROVIDERS_OPENAI_DEFAULT_MODEL=caf\xe9\n")
    with pytest.raises(
        ConfigError, match=r"\.env file '.*' is not UTF-8: it has byte 0xe9 at line 1"
    ):
        load_config(dotenv_path=path, environ={})


def test_utf8_with_byte_order_mark_is_read(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_bytes(b"\xef\xbb\xbf[providers.openai]\ntimeout = 7\n")
    js = tmp_path / "c.json"
    js.write_bytes(b'\xef\xbb\xbf{"providers": {"openai": {"timeout": 8}}}')
    assert load_config(file_path=toml, env_prefix=None).config.providers["openai"].timeout == 7
    assert load_config(file_path=js, env_prefix=None).config.providers["openai"].timeout == 8


def test_llmchat_reports_a_non_utf8_file_in_one_line(tmp_path: Path) -> None:
    from cli._llmchat import llmchat_env, run_llmchat

    path = tmp_path / "c.toml"
    path.write_bytes(b'[providers.openai]\ndefault_model = "caf\xe9"\n')
    result = run_llmchat(
        ["--config", str(path), "config", "show"], llmchat_env(tmp_path, None), tmp_path
    )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"Error: Config file {str(path)!r} is not UTF-8: it has byte 0xe9")
    assert lines[1].startswith("Hint: ") and len(lines) == 2
    assert "Traceback" not in result.stderr


def test_config_is_read_only_and_redacts_secrets() -> None:
    llm = LLMCore(
        config_overrides={
            "providers.openai.api_key": "sk-very-secret",
            "storage.session.db_url": "postgresql://me:hunter2@db/x",
        },
        env_prefix=None,
    )
    text = repr(llm.config)
    assert "sk-very-secret" not in text
    assert "hunter2" not in text
    assert "postgresql://me:***@db/x" in text
    with pytest.raises(AttributeError):
        llm.config.llmcore.default_provider = "x"  # type: ignore[misc]
    assert llm.config.providers["openai"].api_key == "sk-very-secret"


def test_unknown_provider_is_a_config_error() -> None:
    llm = LLMCore(env_prefix=None)
    with pytest.raises(ConfigError, match="Did you mean 'openai'"):
        llm.services.provider("opnai")
