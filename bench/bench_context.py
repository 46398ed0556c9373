"""Turn cost as a session grows: 100 vs 10,000 stored messages.

Target (issue 5): a turn on a 10,000-message session costs no more than
twice a turn on a 100-message session, because history is read newest first
and reading stops when the window is full. Both sessions use an 8,192-token
window, so each request carries about the same history; what differs is
only how much is stored behind it.

Run ``python bench/bench_context.py [--quick]``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from fakes.openai_server import FakeOpenAIServer  # noqa: E402

from llmcore import LLMCore, Message, Role  # noqa: E402
from llmcore.tokens.cached import MessageCounter  # noqa: E402

SIZES = (100, 10_000)
WINDOW = 8_192


async def _seed(llm: LLMCore, sid: str, size: int) -> None:
    """Store ``size`` messages (with their token counts, as persist would)."""
    store = await llm.services.session_store()
    count = MessageCounter(llm.services.provider("openai"), "gpt-4o-mini")
    batch: list[Message] = []
    for i in range(size):
        role = Role.USER if i % 2 == 0 else Role.ASSISTANT
        message = Message(role=role, content=f"message {i}: " + "some words of history " * 8)
        count(message)
        batch.append(message)
        if len(batch) == 500:
            await store.append_messages(sid, batch)
            batch = []
    await store.append_messages(sid, batch)


async def _measure(quick: bool) -> dict[int, list[float]]:
    runs = 30 if quick else 200
    results: dict[int, list[float]] = {}
    with FakeOpenAIServer() as server, tempfile.TemporaryDirectory() as tmp:
        overrides = {
            "providers.openai.api_key": "sk-bench",
            "providers.openai.base_url": server.base_url,
            "providers.openai.max_retries": 0,
            "providers.openai.context_lengths": {"gpt-4o-mini": WINDOW},
            "storage.session.path": f"{tmp}/s.db",
        }
        async with LLMCore(config_overrides=overrides, env_prefix=None) as llm:
            for size in SIZES:
                await _seed(llm, f"s{size}", size)
            for _ in range(10):  # warm up
                for size in SIZES:
                    await llm.chat("warm up", session_id=f"s{size}")
            results = {size: [] for size in SIZES}
            for _ in range(runs):
                for size in SIZES:
                    began = time.perf_counter()
                    turn = await llm.chat_turn("How long is this session?", session_id=f"s{size}")
                    results[size].append(time.perf_counter() - began)
                    assert len(turn.payload) > 50  # the window is full either way
    return results


def main(quick: bool = False) -> str:
    """Run the benchmark and return a Markdown section."""
    results = anyio.run(_measure, quick)
    small, large = (statistics.median(results[s]) * 1e3 for s in SIZES)
    ratio = large / small
    rows = [
        "## Turn cost as a session grows (issue 5)",
        "",
        f"SQLite session, {WINDOW}-token window, ~27-token messages; median of "
        f"{len(results[SIZES[0]])} turns each.",
        "",
        "| Stored messages | p50 turn (ms) |",
        "|---:|---:|",
        *(f"| {s:,} | {statistics.median(results[s]) * 1e3:.2f} |" for s in SIZES),
        "",
        f"Ratio 10,000 / 100: **{ratio:.2f}x** "
        f"(target <= 2x: {'met' if ratio <= 2 else 'NOT met'})",
        "",
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    print(main(quick="--quick" in sys.argv))
