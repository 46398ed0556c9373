"""The generated configuration reference is current, complete and names working variables."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from llmcore.config.envkeys import all_keys, resolve
from llmcore.config.loader import load_config

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "reference" / "configuration.md"
ROW = re.compile(r"^\| `(?P<key>\w+)` \|.*\| `LLMCORE_(?P<var>\w+)` \| (?P<doc>.*) \|$")


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    path = ROOT / "docs" / "gen_config_reference.py"
    spec = importlib.util.spec_from_file_location("gen_config_reference", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def key_rows() -> list[re.Match[str]]:
    rows = [ROW.match(line) for line in PAGE.read_text("utf-8").splitlines()]
    return [row for row in rows if row]


def test_committed_page_is_up_to_date(gen: ModuleType) -> None:
    assert PAGE.read_text("utf-8") == gen.render(), (
        "docs/reference/configuration.md is out of date: run python docs/gen_config_reference.py"
    )


def test_every_schema_key_has_a_described_row() -> None:
    named = {"demo": {}}
    keys = set(all_keys({"providers": named, "embedding": named, "mcp": {"servers": named}}))
    rows = key_rows()
    documented = {row["var"].lower().replace("_name_", "_demo_") for row in rows}
    assert keys == documented
    assert [row["key"] for row in rows if not row["doc"].strip()] == []


def test_documented_variables_resolve_to_their_keys() -> None:
    for row in key_rows():
        name = row["var"].replace("_NAME_", "_GROQ_")
        resolved = resolve(name, {})
        assert resolved is not None, f"LLMCORE_{row['var']} names no key"
        assert resolved[0][-1] == row["key"]
        assert "_".join(resolved[0]) == name.lower()


def test_documented_variables_really_configure() -> None:
    environ = {
        "LLMCORE_PROVIDERS_GROQ_TYPE": "openai",
        "LLMCORE_PROVIDERS_GROQ_TIMEOUT": "12.5",
        "LLMCORE_CONTEXT_MANAGEMENT_RESERVED_RESPONSE_TOKENS": "77",
        "LLMCORE_MCP_SERVERS_NOTES_ARGS": '["-m", "notes"]',
    }
    config = load_config(environ=environ, dotenv_path=None).config
    assert config.providers["groq"].timeout == 12.5
    assert config.context_management.reserved_response_tokens == 77
    assert config.mcp.servers["notes"].args == ["-m", "notes"]
