"""The one redaction rule (llmcore/_util/redact.py), field kind by field kind."""

from __future__ import annotations

import logging

import pytest

from llmcore import LLMCore
from llmcore._util.redact import (
    is_secret_name,
    redact,
    redact_args,
    redact_text,
    redact_url,
    register_secrets,
)
from llmcore.config import MCPServerSettings, ProviderSettings
from llmcore.exceptions import LLMCoreError, ProviderError


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "apiKey",
        "APIKey",
        "X-Api-Key",
        "Authorization",
        "Proxy-Authorization",
        "Cookie",
        "Set-Cookie",
        "X-Auth-Token",
        "access_token",
        "AWS_SESSION_TOKEN",
        "access_key",
        "client_secret",
        "password",
        "sslpassword",
        "--token",
        "--api-key",
        "sig",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    ["max_tokens", "tokenizer", "default_headers", "User-Agent", "model", "db_url", "timeout"],
)
def test_names_that_are_not_secret(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://me:hunter2@db/x", "postgresql://me:***@db/x"),
        ("postgresql://:hunter2@db:5432/x", "postgresql://:***@db:5432/x"),
        ("postgresql://me:p@ss@db/x", "postgresql://me:***@db/x"),
        ("postgresql://me@db/x", "postgresql://me@db/x"),
        ("https://api.example.com:8443/v1", "https://api.example.com:8443/v1"),
        (
            "https://h/x?sslmode=require&password=pw&access_key=ak&key=k",
            "https://h/x?sslmode=require&password=***&access_key=***&key=***",
        ),
        ("host=db user=me password=pw dbname=x", "host=db user=me password=*** dbname=x"),
        ("host=db password = 'a b\\'c' dbname=x", "host=db password = '***' dbname=x"),
        ('host=db sslpassword=k password="q"', 'host=db sslpassword=*** password="***"'),
    ],
)
def test_urls_and_conninfo(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact(url, "db_url") == shown


def test_args_after_secret_flags() -> None:
    args = [
        "serve",
        "--token",
        "t1",
        "--password",
        "p1",
        "--key=k1",
        "-k",
        "v",
        "--max-tokens",
        "5",
    ]
    assert redact_args(args) == [
        "serve",
        "--token",
        "***",
        "--password",
        "***",
        "--key=***",
        "-k",
        "v",
        "--max-tokens",
        "5",
    ]
    assert redact_args(["API_KEY=abc", "--url", "https://u:pw@h/"]) == [
        "API_KEY=***",
        "--url",
        "https://u:***@h/",
    ]


def test_config_values_by_kind() -> None:
    found: set[str] = set()
    shown = redact(
        {
            "api_key": "k-1",
            "base_url": "http://u:pw-2@h/v1",
            "options": {
                "default_headers": {"Authorization": "Bearer tok-3", "User-Agent": "ua"},
                "max_tokens": 5,
            },
            "env": {"HOME": "/home/me", "DEBUG": "1"},
            "args": ["--token=t-4"],
            "enabled": True,
            "token": None,
        },
        found=found,
    )
    assert shown == {
        "api_key": "***",
        "base_url": "http://u:***@h/v1",
        "options": {
            "default_headers": {"Authorization": "***", "User-Agent": "ua"},
            "max_tokens": 5,
        },
        "env": {"HOME": "***", "DEBUG": "***"},
        "args": ["--token=***"],
        "enabled": True,
        "token": None,
    }
    # The bare credential of an Authorization value is remembered too.
    assert {"k-1", "pw-2", "Bearer tok-3", "tok-3", "/home/me", "1", "t-4"} <= found


def test_section_reprs_use_the_rule() -> None:
    server = MCPServerSettings(
        command="srv",
        args=["--token", "tok-secret-1"],
        env={"GITHUB_TOKEN": "ghp-secret-2"},
        url="http://u:pw-secret-3@h/mcp",
    )
    provider = ProviderSettings(
        api_key="key-secret-4",
        options={"default_headers": {"X-Api-Key": "hdr-secret-5", "User-Agent": "ua-shown"}},
    )
    text = repr(server) + str(provider)
    assert "-secret-" not in text  # the values (a key may be named client_secret)
    assert "ua-shown" in text and "'--token', '***'" in text


def test_free_text_shapes() -> None:
    assert redact_text("Authorization: Bearer abcdefghijkl") == "Authorization: ***"
    assert redact_text("{'X-Api-Key': 'zz', 'model': 'm'}") == "{'X-Api-Key': '***', 'model': 'm'}"
    assert (
        redact_text("node s.js --token abc --max-tokens 5")
        == "node s.js --token *** --max-tokens 5"
    )
    full = "sk-" + "a1B2" * 8
    assert redact_text(f"Incorrect API key provided: {full}.") == (
        "Incorrect API key provided: ***."
    )
    # OpenAI's own partial echo says which key was used without giving it away: kept.
    assert redact_text("Incorrect API key provided: sk-abc***wxyz.") == (
        "Incorrect API key provided: sk-abc***wxyz."
    )
    assert redact_text("max_tokens=5, tokenizer: tiktoken") == "max_tokens=5, tokenizer: tiktoken"


def test_registered_values_leave_errors_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    register_secrets(MCPServerSettings(command="x", env={"PLAIN": "registered-value-0001"}))
    error = ProviderError("the server said registered-value-0001 twice", provider="p")
    assert "registered-value-0001" not in str(error) + repr(error)
    assert str(error) == "the server said *** twice"
    assert "***" in str(LLMCoreError("x registered-value-0001"))

    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("anything.at.all")
    log.debug("value %s in args", "registered-value-0001")
    try:
        raise RuntimeError("in a traceback: registered-value-0001")
    except RuntimeError:
        log.exception("failed")
    assert "registered-value-0001" not in caplog.text
    assert "value *** in args" in caplog.text and "in a traceback: ***" in caplog.text
    # A record with nothing secret keeps its arguments for structured handlers.
    log.info("plain %s", "words")
    assert caplog.records[-1].args == ("words",)


def test_short_values_are_not_searched_in_free_text() -> None:
    register_secrets(MCPServerSettings(command="x", env={"FLAG": "true"}))
    assert str(LLMCoreError("enabled is true")) == "enabled is true"


def test_loading_a_config_registers_its_secrets(caplog: pytest.LogCaptureFixture) -> None:
    LLMCore(
        config_overrides={"providers.openai.api_key": "loaded-key-0001"},
        env_prefix=None,
    )
    caplog.set_level(logging.INFO, logger="httpx")
    logging.getLogger("httpx").info("HTTP Request: GET http://h/?k=loaded-key-0001")
    assert "loaded-key-0001" not in caplog.text


def test_prose_about_tokens_is_not_masked() -> None:
    # An error message that explains a setting must stay readable.
    text = "A non-loopback address needs a bearer token: anyone who can reach it could chat."
    assert redact_text(text) == text
    assert redact_text("token: hello world") == "token: hello world"
    assert redact_text("api_key: Abc123xyz") == "api_key: ***"
