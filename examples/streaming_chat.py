"""Streaming: print the reply as it arrives; the session is saved when the stream ends.

    OPENAI_API_KEY=sk-... python examples/streaming_chat.py

Stopping early (``break``, or closing the stream: ``async with await
llm.chat(..., stream=True) as stream:``) still saves the partial reply,
marked ``interrupted``.
"""

from __future__ import annotations

import sys

import anyio

from llmcore import LLMCore, LLMCoreError

SESSION_ID = "streaming_test_session"


async def main() -> None:
    async with LLMCore() as llm:
        prompt = "Tell me a short story about a brave knight."
        print(f"User: {prompt}")
        print("Assistant (streaming): ", end="", flush=True)
        stream = await llm.chat(prompt, session_id=SESSION_ID, stream=True)
        async for chunk in stream:
            print(chunk, end="", flush=True)
        print("\n--- Stream finished ---")

        session = await llm.get_session(SESSION_ID)
        if session is not None:
            print(f"Session '{SESSION_ID}' saved with {len(session.messages)} messages.")
            last = session.messages[-1]
            print(f"Last message ({last.role.value}): {last.content[:80]}")


if __name__ == "__main__":
    try:
        anyio.run(main)
    except LLMCoreError as exc:
        sys.exit(f"\nError: {exc}")
