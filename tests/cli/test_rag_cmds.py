"""llmchat rag: add, search, delete, collections, and chat --rag, on embedded Chroma
with the real local MiniLM model (the RAG tests' fixture)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from fakes.openai_server import FakeOpenAIServer
from rag.conftest import embedding_overrides  # noqa: F401  (reused fixture)

Invoke = Callable[..., Result]


@pytest.fixture
def rag_config(tmp_path: Path, embedding_overrides: dict[str, Any], cli_env: dict[str, str]) -> str:  # noqa: F811
    settings = {**embedding_overrides, "storage.vector.path": str(tmp_path / "chroma")}
    nested: dict[str, Any] = {}
    for key, value in settings.items():
        *sections, name = key.split(".")
        node = nested
        for section in sections:
            node = node.setdefault(section, {})
        node[name] = value
    path = tmp_path / "rag.json"
    path.write_text(json.dumps(nested))
    return str(path)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    (folder / "src").mkdir(parents=True)
    (folder / "cats.md").write_text(
        "# Cats\n\nCats are small domesticated felines that purr and chase mice.\n"
    )
    (folder / "paris.txt").write_text("Paris is the capital of France, on the river Seine.\n")
    (folder / "src" / "maths.py").write_text("def add(a, b):\n    return a + b\n")
    (folder / "logo.png").write_bytes(b"\x89PNG")
    return folder


def test_add_search_collections_delete(invoke: Invoke, rag_config: str, docs: Path) -> None:
    def rag(*args: str, **kwargs: Any) -> Result:
        return invoke("--config", rag_config, "rag", *args, **kwargs)

    added = rag("add", str(docs), "-c", "kbase", "--chunk-size", "200", "--chunk-overlap", "20")
    assert added.exit_code == 0, added.output
    assert added.output.startswith("Added 3 chunks from 3 files to kbase in ")
    assert re.search(r"\([\d.]+ files/s, [\d.]+ chunks/s\)\.$", added.output.rstrip())

    report = json.loads(
        rag("add", str(docs / "*.md"), str(docs / "paris.txt"), "-c", "kbase", "--json").output
    )
    assert report["files"] == 2 and report["chunks"] == 2
    assert report["ids"] == [f"{docs / 'cats.md'}#0", f"{docs / 'paris.txt'}#0"]
    infos = json.loads(rag("collections", "--json").output)
    assert [(c["name"], c["count"]) for c in infos] == [("kbase", 3)]  # added again: replaced
    assert "kbase" in rag("collections").output

    hits = json.loads(
        rag("search", "What is the capital of France?", "-c", "kbase", "-k", "2", "--json").output
    )
    assert len(hits) == 2
    assert hits[0]["metadata"]["source"] == str(docs / "paris.txt")
    assert hits[0]["score"] > hits[1]["score"]
    shown = rag("search", "kittens purring", "-c", "kbase", "-k", "1").output
    assert shown.startswith(f"1. {docs / 'cats.md'} score ")

    deleted = rag("delete", f"{docs / 'cats.md'}#0", "-c", "kbase")
    assert deleted.output == "Deleted the documents from kbase.\n"
    assert json.loads(rag("collections", "--json").output)[0]["count"] == 2
    again = rag("delete", f"{docs / 'cats.md'}#0", "-c", "kbase", catch_exceptions=True)
    assert again.exit_code == 1 and "None of those ids" in again.output
    assert (
        rag("delete", "--all", "-c", "kbase", "--yes").output == "Deleted the collection kbase.\n"
    )
    assert json.loads(rag("collections", "--json").output) == []
    assert "No collections yet" in rag("collections").output


def test_chat_with_rag_sends_the_retrieved_documents(
    invoke: Invoke, rag_config: str, docs: Path, openai_server: FakeOpenAIServer
) -> None:
    assert invoke("--config", rag_config, "rag", "add", str(docs), "-c", "kbase").exit_code == 0
    result = invoke(
        "chat", "--config", rag_config, "--collection", "kbase", "-k", "1", "Capital of France?"
    )
    assert result.exit_code == 0, result.output
    system = openai_server.last_request.json["messages"][0]
    assert system["role"] == "system" and "river Seine" in system["content"]


def test_rag_add_usage_errors(invoke: Invoke, rag_config: str, tmp_path: Path) -> None:
    nothing = invoke("--config", rag_config, "rag", "add", str(tmp_path / "none*.md"))
    assert nothing.exit_code == 2 and "matched no text, Markdown or code file" in nothing.output
    overlap = invoke(
        "--config",
        rag_config,
        "rag",
        "add",
        str(tmp_path),
        "--chunk-size",
        "100",
        "--chunk-overlap",
        "100",
    )
    assert overlap.exit_code == 2 and "--chunk-overlap" in overlap.output
    both = invoke("--config", rag_config, "rag", "delete")
    assert both.exit_code == 2


def test_binary_file_named_explicitly_is_skipped(
    invoke: Invoke, rag_config: str, docs: Path
) -> None:
    (docs / "data.bin.txt").write_bytes(b"\xff\xfe\x00 not utf-8")
    result = invoke(
        "--config",
        rag_config,
        "rag",
        "add",
        str(docs / "data.bin.txt"),
        str(docs / "paris.txt"),
        "-c",
        "kbase2",
    )
    assert result.exit_code == 0
    assert "Added 1 chunks from 1 files" in result.output
    assert f"Skipped {docs / 'data.bin.txt'}: not UTF-8 text" in result.output
