"""llmcore benchmark: import time, and llmcore vs the raw openai SDK on a local fake server.

Run ``python bench/run.py [--quick]``. Prints a Markdown report and writes it to
``bench/results/latest.md``. See ``bench/README.md`` for what each number means.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio
import openai
from openai import AsyncOpenAI

import llmcore
from llmcore import LLMCore

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from fakes.openai_server import FakeOpenAIServer  # noqa: E402

MODEL = "gpt-4o-mini"
HISTORY = 200  # messages in the session before measuring (100 turns)
OVERRIDES = {"history_selection_strategy": "last_n_messages", "max_history_messages": 20}
RESULTS = Path(__file__).resolve().parent / "results" / "latest.md"
T = TypeVar("T")
StreamTimes = tuple[float, float, float]


def pct(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100) of ``samples``, linearly interpolated."""
    s = sorted(samples)
    k = (len(s) - 1) * q / 100
    lo = int(k)
    return s[lo] + (s[min(lo + 1, len(s) - 1)] - s[lo]) * (k - lo)


def ms(samples: list[float]) -> tuple[float, float]:
    """(p50, p90) of ``samples`` (seconds), in milliseconds."""
    return pct(samples, 50) * 1e3, pct(samples, 90) * 1e3


def machine() -> str:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"- CPU: {cpu}, {os.cpu_count()} cores\n"
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"openai {openai.__version__}, llmcore {llmcore.__version__}\n"
        f"- Date: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    )


# -- 1. import time ------------------------------------------------------


def startup_times(runs: int) -> dict[str, list[float]]:
    """Wall time of fresh processes, interleaved, after one warmup round."""
    bindir = Path(sys.executable).parent
    commands = {
        "baseline": [sys.executable, "-c", "pass"],
        "import": [sys.executable, "-c", "import llmcore"],
        "help": [str(bindir / "llmchat"), "--help"],
    }
    times: dict[str, list[float]] = defaultdict(list)
    for i in range(runs + 2):
        for name, cmd in commands.items():
            began = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            if i >= 2:
                times[name].append(time.perf_counter() - began)
    return times


# -- 2-4. turns ----------------------------------------------------------


async def interleave(
    a: Callable[[], Awaitable[T]], b: Callable[[], Awaitable[T]], n: int, warmup: int
) -> tuple[list[T], list[T]]:
    """Run a and b alternately (ABAB...) and return their results past warmup."""
    ta: list[T] = []
    tb: list[T] = []
    for i in range(warmup + n):
        x, y = await a(), await b()
        if i >= warmup:
            ta.append(x)
            tb.append(y)
    return ta, tb


async def stream_times(chunks: AsyncIterator[str], began: float) -> StreamTimes:
    """(first text chunk, last text chunk, stream exhausted) seconds since ``began``."""
    first = last = 0.0
    async for text in chunks:
        if text:
            last = time.perf_counter() - began
            first = first or last
    return first, last, time.perf_counter() - began


async def sdk_text(stream: Any) -> AsyncIterator[str]:
    async for chunk in stream:
        yield (chunk.choices[0].delta.content or "") if chunk.choices else ""


async def bench(n: int, tmp: str) -> tuple[dict[str, list[float]], dict[str, list[float]], str]:
    server = FakeOpenAIServer().start()
    llm = LLMCore(
        config_overrides={
            "providers.openai.api_key": "sk-bench",
            "providers.openai.base_url": server.base_url,
            "providers.openai.max_retries": 0,
            "providers.openai.default_model": MODEL,
            "storage.session.path": f"{tmp}/s.db",
        },
        env_prefix=None,
    )
    raw = AsyncOpenAI(api_key="sk-bench", base_url=server.base_url, max_retries=0)
    sid = "bench"
    filler = "Tell me more about the history of the Roman aqueducts and how they were built."
    for i in range(HISTORY // 2):  # builds the session the way an app would
        await llm.chat(f"{i}: {filler}", session_id=sid)
    msg = f"Question {HISTORY}: {filler}"
    await llm.chat(msg, session_id=sid, context_overrides=OVERRIDES)
    assert server.last_request is not None
    messages = server.last_request.json["messages"]  # exactly what llmcore sends
    server.reset()
    warmup = max(5, n // 10)
    res: dict[str, list[float]] = {}

    async def raw_turn() -> float:
        began = time.perf_counter()
        reply = await raw.chat.completions.create(model=MODEL, messages=messages)
        assert reply.choices[0].message.content
        return time.perf_counter() - began

    async def core_turn() -> float:
        began = time.perf_counter()
        assert await llm.chat(msg, session_id=sid, context_overrides=OVERRIDES)
        return time.perf_counter() - began

    res["raw"], res["core"] = await interleave(raw_turn, core_turn, n, warmup)

    async def raw_stream() -> StreamTimes:
        began = time.perf_counter()
        stream = await raw.chat.completions.create(
            model=MODEL, messages=messages, stream=True, stream_options={"include_usage": True}
        )
        return await stream_times(sdk_text(stream), began)

    async def core_stream() -> StreamTimes:
        began = time.perf_counter()
        chunks = await llm.chat(msg, session_id=sid, stream=True, context_overrides=OVERRIDES)
        return await stream_times(chunks, began)

    both = await interleave(raw_stream, core_stream, n, warmup)
    for who, runs in zip(("raw", "core"), both, strict=True):
        for kind, samples in zip(("first", "last", "end"), zip(*runs, strict=True), strict=True):
            res[f"{who}_{kind}"] = list(samples)

    stages: dict[str, list[float]] = defaultdict(list)
    for i in range(warmup + n):
        began = time.perf_counter()
        turn = await llm.chat_turn(msg, session_id=sid, context_overrides=OVERRIDES)
        wall = time.perf_counter() - began
        if i >= warmup:
            for trace in turn.trace:
                stages[trace.name].append(trace.duration)
            stages["(outside stages)"].append(wall - turn.duration)
            stages["whole chat_turn"].append(wall)
    await llm.close()
    await raw.close()
    server.stop()
    sizes = [len(r.json["messages"]) for r in server.requests]  # sanity check: ~21 each
    lo, hi = min(sizes), max(sizes)
    return res, stages, str(lo) if lo == hi else f"{lo} to {hi}"


# -- report --------------------------------------------------------------


def row(name: str, samples: list[float], target: str = "", met: bool | None = None) -> str:
    p50, p90 = ms(samples)
    verdict = "" if met is None else ("met" if met else "**not met**")
    return f"| {name} | {p50:.2f} | {p90:.2f} | {target} | {verdict} |"


def report(
    startup: dict[str, list[float]],
    res: dict[str, list[float]],
    stages: dict[str, list[float]],
    n: int,
    payload: str,
) -> str:
    base = pct(startup["baseline"], 50)
    net_import = [t - base for t in startup["import"]]
    net_help = [t - base for t in startup["help"]]
    p50 = {k: pct(v, 50) * 1e3 for k, v in res.items()}
    turn_delta = p50["core"] - p50["raw"]
    last_delta = p50["core_last"] - p50["raw_last"]
    runs = len(startup["baseline"])
    lines = [
        "# llmcore benchmark",
        "",
        machine(),
        f"- {n} measured iterations per row (ABAB interleaved with the raw SDK, after "
        f"warmup); {runs} fresh processes per import row; session of {HISTORY}+ messages, "
        f"{payload} messages sent per request; fake server at 127.0.0.1",
        "",
        "| Measurement | p50 (ms) | p90 (ms) | Target | Verdict |",
        "|---|---:|---:|---|---|",
        row("`python -c pass` (interpreter start)", startup["baseline"]),
        row("`python -c 'import llmcore'` (process)", startup["import"]),
        row("import llmcore, net of interpreter", net_import, "< 100", pct(net_import, 50) < 0.1),
        row("`llmchat --help` (process)", startup["help"]),
        row("`llmchat --help`, net of interpreter", net_help, "< 200", pct(net_help, 50) < 0.2),
        row("turn: raw SDK `chat.completions.create`", res["raw"]),
        row("turn: `llm.chat(msg, session_id=sid)`", res["core"], "p50 <= raw", turn_delta <= 0),
        f"| turn: llmcore - raw (p50) | {turn_delta:+.2f} | | | |",
        row("stream first chunk: raw SDK", res["raw_first"]),
        row("stream first chunk: llmcore", res["core_first"]),
        row("stream last chunk: raw SDK", res["raw_last"]),
        row("stream last chunk: llmcore", res["core_last"], "p50 <= raw + 0.5", last_delta <= 0.5),
        f"| stream last chunk: llmcore - raw (p50) | {last_delta:+.2f} | | | |",
        row("stream end (loop exits): raw SDK", res["raw_end"]),
        row("stream end (loop exits, session saved): llmcore", res["core_end"]),
        "",
        "## llmcore stages (`llm.chat_turn(...).trace`, non-streaming)",
        "",
        "| Stage | p50 (ms) | p90 (ms) | Share of p50 turn |",
        "|---|---:|---:|---:|",
    ]
    whole = pct(stages["whole chat_turn"], 50)
    for name, samples in stages.items():
        p50s, p90s = ms(samples)
        lines.append(f"| {name} | {p50s:.3f} | {p90s:.3f} | {p50s / whole / 10:.1f}% |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 iterations instead of 300")
    args = parser.parse_args()
    n = 30 if args.quick else 300
    startup = startup_times(10)
    with tempfile.TemporaryDirectory() as tmp:
        res, stages, payload = anyio.run(bench, n, tmp, backend="asyncio")
    text = report(startup, res, stages, n, payload)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
