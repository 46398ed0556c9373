"""Every history strategy x truncation priority x combination, roomy and tight.

Documents are placed on the Turn by a custom stage (as retrieval would);
the session is real (SQLite) and the model is the fake OpenAI server, whose
recorded request is what the assertions read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from fakes.openai_server import FakeOpenAIServer, Reply

from llmcore import LLMCore, Message, Role, Turn

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]

DOCUMENTS = [
    {"id": "d-low", "content": "Paris has many bakeries. " * 6, "score": 0.41, "metadata": {}},
    {
        "id": "d-top",
        "content": "LLMCore is written in Python. " * 6,
        "score": 0.93,
        "metadata": {"source": "llmcore/readme"},
    },
    {"id": "d-mid", "content": "The Eiffel Tower is in Paris. " * 6, "score": 0.77, "metadata": {}},
]
BY_SCORE = ["d-top", "d-mid", "d-low"]
TURNS = 6  # seeded question/answer pairs
MINIMUM = 2


def write_pipeline(folder: Path) -> None:
    (folder / "docs.toml").write_text(
        'extends = "default"\n[[insert]]\nname = "place_documents"\n'
        'stage = "custom_stages:PlaceDocuments"\nafter = "retrieve"\n'
        f"options = {{ documents = {json.dumps(DOCUMENTS)} }}\n".replace('": ', '" = ')
    )


def exact_count(llm: LLMCore, turn: Turn) -> int:
    """The provider's own count of the payload, from fresh (uncached) messages."""
    provider = llm.services.provider(turn.provider_name)
    fresh = [Message(role=m.role, content=m.content) for m in turn.payload]
    return provider.count_message_tokens(fresh, turn.model)


async def seed(llm: LLMCore, sid: str) -> None:
    for i in range(TURNS):
        await llm.chat(
            f"question {i}: " + "tell me more " * 4, session_id=sid, system_message="Be brief."
        )


@pytest.mark.parametrize("window", ["roomy", "tight"])
@pytest.mark.parametrize("combination", ["prepend_system", "prepend_user"])
@pytest.mark.parametrize("priority", ["history", "rag", "proportional"])
@pytest.mark.parametrize("strategy", ["last_n_tokens", "last_n_messages", "summarize"])
async def test_every_combination(
    tmp_path: Path,
    make_llm: MakeLLM,
    openai_server: FakeOpenAIServer,
    strategy: str,
    priority: str,
    combination: str,
    window: str,
) -> None:
    write_pipeline(tmp_path)
    # roomy: everything fits; tight: history + documents exceed the window.
    length = 20_000 if window == "roomy" else 460
    async with make_llm(
        **{
            "pipelines.paths": [str(tmp_path)],
            "providers.openai.context_lengths": {"gpt-4o-mini": length},
            "context_management.reserved_response_tokens": 60,
            "context_management.minimum_history_messages": MINIMUM,
            "context_management.max_history_messages": 50,
            "context_management.summary_max_tokens": 60,
        }
    ) as llm:
        await seed(llm, "s")
        openai_server.reset()
        if strategy == "summarize" and window == "tight":
            openai_server.enqueue(Reply(text="The user asked numbered questions."))
        turn = await llm.chat_turn(
            "What language is LLMCore written in?",
            session_id="s",
            pipeline="docs",
            context_overrides={
                "history_selection_strategy": strategy,
                "truncation_priority": priority,
                "rag_combination_strategy": combination,
            },
        )
        stored = await llm.get_session("s")
        total = exact_count(llm, turn)
    assert stored is not None
    sent = openai_server.requests[-1].json["messages"]

    # The promise matches the provider's own count, and fits.
    assert total == turn.budget.total_used
    assert total <= turn.budget.available
    assert sent == [{"role": m.role.value, "content": m.content} for m in turn.payload]

    # Structure: the system message first, the question last, whole pairs between.
    assert sent[0] == {"role": "system", "content": "Be brief."}
    assert sent[-1]["role"] == "user"
    assert sent[-1]["content"].endswith("What language is LLMCore written in?")
    history = turn.history
    conversation = [m for m in stored.messages if m.role is not Role.SYSTEM][:-2]
    assert [m.id for m in history] == [
        m.id for m in conversation[len(conversation) - len(history) :]
    ]
    assert len(history) % 2 == 0 and all(
        (a.role, b.role) == (Role.USER, Role.ASSISTANT)
        for a, b in zip(history[::2], history[1::2], strict=True)
    )

    # Documents: the best ones, rendered where the combination says.
    kept_docs = [d.id for d in turn.documents]
    assert kept_docs == BY_SCORE[: len(kept_docs)]
    assert turn.context.dropped_documents == BY_SCORE[len(kept_docs) :]
    text = json.dumps(sent)
    if kept_docs:
        assert ("LLMCore is written in Python." in text) == ("d-top" in kept_docs)
        assert "source: llmcore/readme" in text
        if combination == "prepend_system":
            doc_message = sent[1 + (1 if turn.summary else 0)]
            assert (
                doc_message["role"] == "system"
                and "[1] LLMCore is written" in doc_message["content"]
            )
            assert not sent[-1]["content"].startswith("Context documents")
        else:
            assert sent[-1]["content"].startswith("Context documents:\n[1] LLMCore is written")
    # The stored user message is the user's own text, whatever was sent.
    assert stored.messages[-2].content == "What language is LLMCore written in?"

    if window == "roomy":
        assert kept_docs == BY_SCORE
        assert len(history) == 2 * TURNS
        assert turn.context.dropped == [] and turn.summary is None
        return

    assert turn.context.dropped or turn.context.dropped_documents or turn.context.summarized
    if priority == "history" and turn.context.dropped_documents:
        assert len(history) <= MINIMUM  # history went down to the minimum before any document
    if priority == "rag" and turn.context.dropped and turn.context.summarized == []:
        assert kept_docs == []  # every document went before any history
    if priority == "proportional":
        used = turn.budget.used
        # The room history and documents share: the window less what is always
        # sent. A summary is history's side: it stands for the messages it replaced.
        history_side = used["history"] + used.get("summary", 0)
        room = turn.budget.available - (turn.budget.total_used - history_side - used["documents"])
        share = room * 0.5  # rag_share
        if strategy == "summarize":
            # History was summarised to make room, so the documents kept to their share.
            assert turn.context.summarized
            assert used["documents"] <= share
        else:
            # Nothing is summarised; documents may pass their share only with room
            # history left unused: every message was kept.
            assert turn.context.summarized == [] and "summary" not in used
            assert used["documents"] <= share or len(history) == 2 * TURNS
    if strategy == "summarize":
        summaries = [r for r in openai_server.requests if "concise summaries" in json.dumps(r.json)]
        assert len(summaries) == (1 if turn.context.summarized else 0)
        if priority == "rag":
            return  # dropping documents first left the history whole: nothing to summarise
        assert turn.context.summarized
        assert turn.summary is not None
        assert turn.summary.content.endswith("The user asked numbered questions.")
        assert {"role": "system", "content": turn.summary.content} in sent
        assert stored.metadata["summary"]["covers"] == len(turn.context.summarized)
    if strategy == "last_n_messages":
        assert len(history) <= 50
