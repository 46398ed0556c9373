"""The chunker behind llmchat rag add: sizes, overlap, boundaries, file discovery."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from llmcore.cli.chunking import chunk_file, chunk_text, find_files, kind_of

PROSE = " ".join(f"Sentence number {i} says something." for i in range(200))


@pytest.mark.parametrize(("size", "overlap"), [(100, 0), (100, 30), (257, 64), (1000, 200)])
def test_chunks_respect_size_cover_the_text_and_overlap(size: int, overlap: int) -> None:
    chunks = chunk_text(PROSE, size, overlap)
    assert all(len(c) <= size for _, c in chunks)
    for offset, content in chunks:
        assert PROSE[offset : offset + len(content)] == content  # offsets point at the text
    # Every word of the text is in some chunk, in order.
    covered = 0
    for offset, content in chunks:
        assert offset <= covered + 1, "a gap between chunks"
        covered = max(covered, offset + len(content))
    assert covered == len(PROSE.rstrip())
    if overlap:
        pairs = itertools.pairwise(chunks)
        assert all(b[0] < a[0] + len(a[1]) for a, b in pairs), "consecutive chunks overlap"
    else:
        assert all(b[0] >= a[0] + len(a[1]) for a, b in itertools.pairwise(chunks))


def test_prose_is_cut_at_sentences_and_chunks_start_on_words() -> None:
    chunks = chunk_text(PROSE, 120, 40)
    assert all(c.endswith(".") for _, c in chunks)
    assert all(PROSE[o - 1] == " " for o, _ in chunks[1:])


def test_markdown_is_cut_before_headings() -> None:
    text = "\n".join(f"# Part {i}\n\n" + "word " * 30 for i in range(6))
    chunks = chunk_text(text, 400, 0, "markdown")
    assert all(c.startswith("# Part") for _, c in chunks)


def test_code_is_cut_at_blank_lines() -> None:
    functions = [f"def f{i}(x):\n    y = x + {i}\n    return y * 2\n" for i in range(30)]
    chunks = chunk_text("\n\n".join(functions), 200, 0, "code")
    assert all(c.startswith("def f") and c.endswith("return y * 2") for _, c in chunks)


def test_a_word_longer_than_a_chunk_is_split_not_lost() -> None:
    text = "x" * 250
    assert [c for _, c in chunk_text(text, 100, 0)] == ["x" * 100, "x" * 100, "x" * 50]


def test_bad_sizes_are_rejected() -> None:
    with pytest.raises(ValueError, match="overlap"):
        chunk_text("abc", 10, 10)
    with pytest.raises(ValueError, match="positive"):
        chunk_text("abc", 0, 0)


def test_find_files_walks_folders_and_globs(tmp_path: Path) -> None:
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / ".git").mkdir()
    (tmp_path / "docs" / "node_modules").mkdir()
    for name in ("a.md", "sub/b.py", "sub/c.txt", "image.png", ".git/x.md", "node_modules/y.js"):
        (tmp_path / "docs" / name).write_text("text")
    explicit = tmp_path / "notes.weird"
    explicit.write_text("anything")
    files, missing = find_files([str(tmp_path / "docs"), str(tmp_path / "*.weird"), "nope/*.md"])
    names = [f.relative_to(tmp_path).as_posix() for f in files]
    assert names == ["docs/a.md", "docs/sub/b.py", "docs/sub/c.txt"]
    assert missing == [str(tmp_path / "*.weird"), "nope/*.md"]  # globs take known kinds only
    files, missing = find_files([str(explicit), str(tmp_path / "docs/**/*.py")])
    assert [f.name for f in files] == ["notes.weird", "b.py"] and not missing


def test_chunk_file_ids_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text("# Guide\n\n" + "Some words here. " * 100)
    chunks = chunk_file(path, 300, 50)
    assert [c.id for c in chunks] == [f"{path}#{i}" for i in range(len(chunks))]
    assert chunks[0].metadata == {"source": str(path), "chunk": 0, "start": 0, "kind": "markdown"}
    assert kind_of(path) == "markdown" and kind_of(Path("x.png")) is None
    assert chunk_file(path, 300, 50) == chunks  # stable: adding again replaces
