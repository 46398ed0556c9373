"""Finding the files ``llmchat rag add`` reads, and cutting them into chunks.

Chunks are measured in characters (no tokenizer is needed to add
documents) and cut at the most natural boundary before the size limit:
a Markdown heading or paragraph, a blank line in code, a sentence or a
word in prose. Consecutive chunks overlap by about ``overlap`` characters,
starting on a word, so a fact cut at a boundary is whole in one of them.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Chunk", "chunk_file", "chunk_text", "find_files", "kind_of"]

MARKDOWN = {".md", ".markdown", ".mdx", ".rst"}
TEXT = {".txt", ".text", ".csv", ".tsv", ".log", ".org", ".adoc", ".tex", ""}
CODE = {
    ".py", ".pyi", ".js", ".jsx", ".ts", ".tsx", ".java", ".kt", ".go", ".rs", ".c", ".h",
    ".cc", ".cpp", ".hpp", ".cs", ".rb", ".php", ".swift", ".scala", ".sh", ".bash", ".zsh",
    ".sql", ".r", ".lua", ".pl", ".hs", ".ml", ".ex", ".exs", ".clj", ".dart", ".vue",
    ".svelte", ".html", ".css", ".scss", ".json", ".yaml", ".yml", ".toml", ".ini", ".cfg",
    ".xml",
}  # fmt: skip
# Folders a recursive walk never enters: tooling caches, not documents.
_SKIP_DIRS = {"node_modules", "__pycache__", "venv", "site-packages", "dist", "build"}

_SEPARATORS = {
    "markdown": ("\n#", "\n\n", "\n", ". ", " "),
    "code": ("\n\n\n", "\n\n", "\n", " "),
    "text": ("\n\n", "\n", ". ", "? ", "! ", " "),
}


@dataclass(slots=True)
class Chunk:
    """A piece of a document, with where it came from."""

    id: str
    content: str
    metadata: dict[str, Any] = field(default_factory=dict)


def kind_of(path: Path) -> str | None:
    """``markdown``, ``code`` or ``text`` by file extension; None for other files."""
    suffix = path.suffix.lower()
    if suffix in MARKDOWN:
        return "markdown"
    if suffix in CODE:
        return "code"
    if suffix in TEXT:
        return "text"
    return None


def find_files(patterns: list[str]) -> tuple[list[Path], list[str]]:
    """Expand files, folders (recursively) and glob patterns into files.

    A file named explicitly is always taken; in folders and globs only
    text, Markdown and code files are, and hidden folders are skipped.
    Returns the files (each once, in order) and the patterns that matched
    nothing.
    """
    found: dict[Path, None] = {}
    missing: list[str] = []
    for pattern in patterns:
        path = Path(pattern).expanduser()
        if path.is_file():
            found[path.resolve()] = None
            continue
        if path.is_dir():
            candidates = list(_walk(path))
        elif glob.has_magic(pattern):
            matched = sorted(glob.glob(os.path.expanduser(pattern), recursive=True))
            candidates = []
            for m in map(Path, matched):
                candidates += list(_walk(m)) if m.is_dir() else [m] if m.is_file() else []
        else:
            candidates = []
        candidates = [c for c in candidates if kind_of(c) is not None]
        if not candidates:
            missing.append(pattern)
        for c in candidates:
            found[c.resolve()] = None
    return list(found), missing


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name


def chunk_text(text: str, size: int, overlap: int, kind: str = "text") -> list[tuple[int, str]]:
    """Cut ``text`` into ``(start offset, chunk)`` pieces of at most ``size`` characters.

    Raises:
        ValueError: ``size`` is not positive, or ``overlap`` is not in ``[0, size)``.
    """
    if size < 1:
        raise ValueError(f"chunk size must be positive, not {size}")
    if not 0 <= overlap < size:
        raise ValueError(f"chunk overlap must be at least 0 and less than the size ({size})")
    separators = _SEPARATORS.get(kind, _SEPARATORS["text"])
    chunks: list[tuple[int, str]] = []
    start, n = 0, len(text)
    while start < n:
        end = min(start + size, n)
        if end < n:
            end = _cut(text, start, end, size, separators)
        piece = text[start:end]
        stripped = piece.strip()
        if stripped:
            chunks.append((start + len(piece) - len(piece.lstrip()), stripped))
        if end >= n:
            break
        start = _next_start(text, start, end, overlap)
    return chunks


def _cut(text: str, start: int, end: int, size: int, separators: tuple[str, ...]) -> int:
    """The best place to end a chunk: the last separator in its second half."""
    floor = start + size // 2
    for sep in separators:
        i = text.rfind(sep, floor, end)
        if i > start:
            return i + (1 if sep.startswith("\n") else len(sep))
    return end


def _next_start(text: str, start: int, end: int, overlap: int) -> int:
    """Where the next chunk starts: ``overlap`` before ``end``, moved onto a word."""
    if overlap == 0:
        return end
    candidate = max(end - overlap, start + 1)
    for i in range(candidate, end):
        if text[i - 1].isspace() and not text[i].isspace():
            return i
    return end


def chunk_file(path: Path, size: int, overlap: int) -> list[Chunk]:
    """Read a UTF-8 file and chunk it; ids are ``<absolute path>#<n>``.

    The ids are stable, so adding a file again replaces its chunks rather
    than duplicating them.

    Raises:
        UnicodeDecodeError: the file is not UTF-8 text.
        OSError: the file cannot be read.
    """
    text = path.read_text("utf-8")
    kind = kind_of(path) or "text"
    pieces = chunk_text(text, size, overlap, kind)
    return [
        Chunk(
            id=f"{path}#{i}",
            content=content,
            metadata={"source": str(path), "chunk": i, "start": offset, "kind": kind},
        )
        for i, (offset, content) in enumerate(pieces)
    ]
