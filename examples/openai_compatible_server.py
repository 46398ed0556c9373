"""A local OpenAI-compatible server as a provider, by configuration alone.

``openai_compatible.toml`` (beside this file) declares ``[providers.myserver]``
with ``type = "openai"`` and the server's ``base_url``; start your server
(e.g. ``vllm serve Qwen/Qwen2.5-7B-Instruct``), then::

    python examples/openai_compatible_server.py
    python examples/openai_compatible_server.py other.toml   # your own file
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio

from llmcore import LLMCore, LLMCoreError

CONFIG = Path(__file__).resolve().parent / "openai_compatible.toml"


async def main(config_file: str = str(CONFIG)) -> None:
    async with LLMCore(config_file_path=config_file) as llm:
        name = llm.config.llmcore.default_provider
        settings = llm.config.provider(name)
        print(f"Provider {name!r} at {settings.base_url}, model {settings.default_model}")
        print("Models:", ", ".join(await llm.get_models_for_provider(name)))
        async for chunk in await llm.chat("Say hello in three languages.", stream=True):
            print(chunk, end="", flush=True)
        print()


if __name__ == "__main__":
    try:
        anyio.run(main, *sys.argv[1:2])
    except LLMCoreError as exc:
        sys.exit(f"Error: {exc}")
