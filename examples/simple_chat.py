"""Simple chat: one-off questions, nothing stored.

Settings come from llmcore's defaults, a ``.env`` file and ``LLMCORE_*``
environment variables (or the SDKs' own ``OPENAI_API_KEY``...)::

    OPENAI_API_KEY=sk-... python examples/simple_chat.py
    python examples/simple_chat.py ollama llama3.2      # pick a provider and a model
"""

from __future__ import annotations

import sys

import anyio

from llmcore import LLMCore, LLMCoreError


async def main(provider: str | None = None, model: str | None = None) -> None:
    async with LLMCore() as llm:
        reply = await llm.chat(
            "What is the capital of France?", provider_name=provider, model_name=model
        )
        print(f"LLM Response: {reply}")

        # Request options go to the provider, under its own names.
        reply = await llm.chat(
            "Explain the concept of recursion in programming.",
            provider_name=provider,
            model_name=model,
            temperature=0.5,
            max_tokens=300,
        )
        print(f"\nResponse:\n{reply}")


if __name__ == "__main__":
    try:
        anyio.run(main, *sys.argv[1:3])
    except LLMCoreError as exc:  # every llmcore error says what to do next
        sys.exit(f"Error: {exc}")
