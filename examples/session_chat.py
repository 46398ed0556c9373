"""Chat with a stored session: the second question sees the first.

Pass a config file (TOML or JSON) or rely on the environment::

    python examples/session_chat.py my_app_config.toml
    OPENAI_API_KEY=sk-... python examples/session_chat.py

Sessions go where ``[storage.session]`` says (SQLite at
``~/.llmcore/sessions.db`` by default).
"""

from __future__ import annotations

import sys
import uuid

import anyio

from llmcore import LLMCore, LLMCoreError


async def main(config_file: str | None = None) -> None:
    session_id = f"user_conversation_{uuid.uuid4().hex[:12]}"
    async with LLMCore(config_file_path=config_file) as llm:
        print(f"Starting session: {session_id}")
        reply = await llm.chat(
            "My name is Alex. What is quantum computing?",
            session_id=session_id,
            system_message="You are a helpful physics tutor.",
        )
        print(f"Tutor: {reply}")

        # The stored history (and the system message) go with this one.
        reply = await llm.chat("How does it relate to my name?", session_id=session_id)
        print(f"Tutor: {reply}")

        print("\nAvailable sessions:")
        for info in await llm.list_sessions():
            print(f"- {info.id}: {info.message_count} messages")

        session = await llm.get_session(session_id)
        if session is not None:
            for message in session.messages:
                print(f"  [{message.role.value}] {message.content[:60]}")


if __name__ == "__main__":
    try:
        anyio.run(main, *sys.argv[1:2])
    except LLMCoreError as exc:
        sys.exit(f"Error: {exc}")
