"""The bundled local model's answers on 10 fixed questions, with and without a system message.

Seven facts, a three-turn recall (two questions) and a retrieval answer; an
answer counts when it contains every expected word (case-insensitive). It
calls llama.cpp with the messages llmcore sends: ``before`` is no system
message (what llmcore sent until issue 15), ``after`` the local provider's
default one (``llmcore.providers.local.DEFAULT_SYSTEM_MESSAGE``). Prints a
Markdown table for docs/performance.md.

    python bench/bench_local_quality.py
"""

from __future__ import annotations

import os
import time

from llmcore.providers.local import DEFAULT_SYSTEM_MESSAGE, bundled_model_path

DOC = "The Zorblax device resets when you hold its blue button for ten seconds."
RAG = f"Use the following documents to answer the user.\n\n[1] {DOC} (source: manual)"
FACTS = [
    ("What is the capital of France?", ["paris"]),
    ("What is 12 plus 7?", ["19"]),
    ("What is the largest planet in our solar system?", ["jupiter"]),
    ("Who wrote Romeo and Juliet?", ["shakespeare"]),
    ("At what temperature in Celsius does water boil at sea level?", ["100"]),
    ("What is the chemical symbol for gold?", ["au"]),
    ("How many days are in a week?", ["7"]),
]
RECALL = ["My name is Alex.", "I live in Oslo.", "What is my name?", "Where do I live?"]


def main() -> None:
    import llama_cpp

    path = bundled_model_path()
    assert path is not None, "pip install 'llmcore[local]'"
    started = time.perf_counter()
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=2048, n_threads=os.cpu_count(), verbose=False)
    load = time.perf_counter() - started
    rows = []
    for label, system in (
        ("before (no system message)", None),
        ("after (default)", DEFAULT_SYSTEM_MESSAGE),
    ):
        head = [{"role": "system", "content": system}] if system else []
        score, tokens, seconds = 0, 0, 0.0

        def ask(messages: list[dict[str, str]]) -> str:
            nonlocal tokens, seconds
            began = time.perf_counter()
            out = llm.create_chat_completion(
                messages=messages, max_tokens=80, temperature=0, seed=1
            )
            seconds += time.perf_counter() - began
            tokens += out["usage"]["completion_tokens"]
            return str(out["choices"][0]["message"]["content"] or "")

        for question, expected in FACTS:
            answer = ask([*head, {"role": "user", "content": question}]).lower()
            score += all(word in answer for word in expected)
        history = list(head)
        answers = []
        for line in RECALL:
            history.append({"role": "user", "content": line})
            answers.append(ask(history))
            history.append({"role": "assistant", "content": answers[-1]})
        score += "alex" in answers[2].lower()
        score += "oslo" in answers[3].lower()
        # Retrieval: llmcore puts the documents in a system message of their own.
        rag_system = f"{system}\n\n{RAG}" if system else RAG
        answer = ask(
            [
                {"role": "system", "content": rag_system},
                {"role": "user", "content": "How do I reset the Zorblax device?"},
            ]
        ).lower()
        score += "blue button" in answer and ("ten" in answer or "10" in answer)
        rows.append((label, score, tokens / seconds if seconds else 0.0))
    print(f"Model {path.name}: loaded in {load:.1f} s\n")
    print("| system message | correct of 10 | tokens/s |")
    print("|---|---|---|")
    for label, score, speed in rows:
        print(f"| {label} | {score} | {speed:.0f} |")


if __name__ == "__main__":
    main()
