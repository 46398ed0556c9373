"""llmcore benchmarks: every one of them, in one Markdown report.

This script measures import time and llmcore against the raw ``openai`` SDK
(and LiteLLM / LangChain, where installed) on a local fake server: one turn,
streaming, 200 concurrent turns. Then it runs each ``bench/bench_*.py``
(``main(quick) -> str``) and writes everything, with the machine it ran on
and a summary of which targets are met, to ``bench/results/latest.md``; a
full run also refreshes the results in ``docs/performance.md``.

Run ``python bench/run.py [--quick] [--only NAME ...]``. See ``bench/README.md``
for what each number means.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import os
import platform
import re
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
PERFORMANCE_DOC = ROOT / "docs" / "performance.md"
CONCURRENT = 200  # turns in flight at once
#: The other benchmark scripts beside this one, in report order.
SECTIONS = (
    "bench_cli",
    "bench_tokens",
    "bench_context",
    "bench_sessions",
    "bench_rag",
    "bench_tracing",
    "bench_attachments",
)
#: Other libraries doing the same job, compared when installed (never required).
FRAMEWORKS = {"litellm": "litellm", "langchain": "langchain_openai"}
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


def other_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for dist in ("litellm", "langchain-openai"):
        with contextlib.suppress(PackageNotFoundError):
            found.append(f", {dist} {version(dist)}")
    return "".join(found)


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
        f"openai {openai.__version__}, llmcore {llmcore.__version__}{other_versions()}\n"
        f"- Date: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    )


# -- 1. import time ------------------------------------------------------


def startup_times(
    runs: int, commands: dict[str, list[str]] | None = None
) -> dict[str, list[float]]:
    """Wall time of fresh processes, interleaved, after two warmup rounds."""
    bindir = Path(sys.executable).parent
    commands = commands or {
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


async def bench(
    n: int, tmp: str
) -> tuple[dict[str, list[float]], dict[str, list[float]], str, dict[str, dict[str, list[float]]]]:
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
    sizes = [len(r.json["messages"]) for r in server.requests]  # sanity check: ~21 each
    lo, hi = min(sizes), max(sizes)
    others = await frameworks(raw, server.base_url, messages, n, warmup)
    rates = await concurrent(llm, raw, msg, messages, 3 if n < 100 else 10)
    res["concurrent_core"], res["concurrent_raw"] = rates["core"], rates["raw"]
    await llm.close()
    await raw.close()
    server.stop()
    return res, stages, str(lo) if lo == hi else f"{lo} to {hi}", others


# -- 5. other libraries doing the same job ------------------------------


def installed_frameworks() -> list[str]:
    """The comparison libraries importable here (none of them is a dependency)."""
    return [name for name, module in FRAMEWORKS.items() if importlib.util.find_spec(module)]


def framework_calls(
    name: str, base_url: str, messages: list[dict[str, Any]]
) -> tuple[Callable[[], Awaitable[float]], Callable[[], Awaitable[StreamTimes]]]:
    """(one turn, one stream) of ``name`` sending ``messages`` to the fake server."""
    if name == "litellm":
        # Otherwise LiteLLM fetches its model price list from the network at import.
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        litellm: Any = importlib.import_module("litellm")
        litellm.telemetry = False
        opts = {"model": f"openai/{MODEL}", "api_base": base_url, "api_key": "sk-bench"}

        async def turn() -> float:
            began = time.perf_counter()
            reply = await litellm.acompletion(messages=messages, **opts)
            assert reply.choices[0].message.content
            return time.perf_counter() - began

        async def stream() -> StreamTimes:
            began = time.perf_counter()
            chunks = await litellm.acompletion(messages=messages, stream=True, **opts)
            return await stream_times(sdk_text(chunks), began)

        return turn, stream
    chat_openai: Any = importlib.import_module("langchain_openai").ChatOpenAI
    chat = chat_openai(model=MODEL, base_url=base_url, api_key="sk-bench", max_retries=0)

    async def lc_turn() -> float:
        began = time.perf_counter()
        assert (await chat.ainvoke(messages)).content
        return time.perf_counter() - began

    async def lc_text() -> AsyncIterator[str]:
        async for chunk in chat.astream(messages):
            yield str(chunk.content)

    async def lc_stream() -> StreamTimes:
        return await stream_times(lc_text(), time.perf_counter())

    return lc_turn, lc_stream


async def frameworks(
    raw: AsyncOpenAI, base_url: str, messages: list[dict[str, Any]], n: int, warmup: int
) -> dict[str, dict[str, list[float]]]:
    """Each installed library vs the raw SDK (ABAB): turn and stream-last-chunk samples."""

    async def raw_turn() -> float:
        began = time.perf_counter()
        reply = await raw.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[arg-type]
        assert reply.choices[0].message.content
        return time.perf_counter() - began

    async def raw_stream() -> StreamTimes:
        began = time.perf_counter()
        stream = await raw.chat.completions.create(
            model=MODEL,
            messages=messages,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
        return await stream_times(sdk_text(stream), began)

    out: dict[str, dict[str, list[float]]] = {}
    for name in installed_frameworks():
        turn, stream = framework_calls(name, base_url, messages)
        other, base = await interleave(turn, raw_turn, n, warmup)
        other_s, base_s = await interleave(stream, raw_stream, n, warmup)
        out[name] = {
            "turn": other,
            "raw": base,
            "last": [t[1] for t in other_s],
            "raw_last": [t[1] for t in base_s],
        }
    return out


# -- 6. many turns at once ----------------------------------------------


async def concurrent(
    llm: LLMCore, raw: AsyncOpenAI, msg: str, messages: list[dict[str, Any]], rounds: int
) -> dict[str, list[float]]:
    """Turns per second with CONCURRENT turns in flight, per round, llmcore and raw alternately.

    Each llmcore turn is in its own stored session (200 users at once), so
    the rate includes loading and saving 200 SQLite sessions.
    """

    async def burst(one: Callable[[int], Awaitable[object]]) -> float:
        began = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for i in range(CONCURRENT):
                tg.start_soon(one, i)
        return CONCURRENT / (time.perf_counter() - began)

    async def core_one(i: int) -> None:
        assert await llm.chat(msg, session_id=f"user-{i}", context_overrides=OVERRIDES)

    async def raw_one(i: int) -> None:
        reply = await raw.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[arg-type]
        assert reply.choices[0].message.content

    rates: dict[str, list[float]] = {"core": [], "raw": []}
    await burst(core_one)  # warmup: creates the 200 sessions, opens the connections
    await burst(raw_one)
    for _ in range(rounds):
        rates["core"].append(await burst(core_one))
        rates["raw"].append(await burst(raw_one))
    return rates


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
    others: dict[str, dict[str, list[float]]],
) -> str:
    base = pct(startup["baseline"], 50)
    net_import = [t - base for t in startup["import"]]
    net_help = [t - base for t in startup["help"]]
    p50 = {k: pct(v, 50) * 1e3 for k, v in res.items()}
    turn_delta = p50["core"] - p50["raw"]
    last_delta = p50["core_last"] - p50["raw_last"]
    runs = len(startup["baseline"])
    lines = [
        "## Import, turns and streaming: llmcore vs the raw `openai` SDK",
        "",
        f"{n} measured iterations per row (ABAB interleaved with the raw SDK, after "
        f"warmup); {runs} fresh processes per import row; session of {HISTORY}+ messages, "
        f"{payload} messages sent per request; fake server at 127.0.0.1.",
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
        *concurrency_table(res["concurrent_core"], res["concurrent_raw"]),
        *frameworks_table(others),
        "### llmcore stages (`llm.chat_turn(...).trace`, non-streaming)",
        "",
        "| Stage | p50 (ms) | p90 (ms) | Share of p50 turn |",
        "|---|---:|---:|---:|",
    ]
    whole = pct(stages["whole chat_turn"], 50)
    for name, samples in stages.items():
        p50s, p90s = ms(samples)
        lines.append(f"| {name} | {p50s:.3f} | {p90s:.3f} | {p50s / whole / 10:.1f}% |")
    return "\n".join(lines) + "\n"


def concurrency_table(core: list[float], raw: list[float]) -> list[str]:
    met = pct(core, 50) >= pct(raw, 50)
    return [
        f"### {CONCURRENT} concurrent turns",
        "",
        f"{CONCURRENT} turns started at once (one task each), {len(core)} rounds after a "
        "warmup round, llmcore and the raw SDK alternately; turns per second over each "
        "round. llmcore: each turn in its own stored SQLite session (load, select history, "
        "call, save); raw SDK: the same 21-message request, nothing stored.",
        "",
        "| Client | turns/s (median) | turns/s (worst) | Target | Verdict |",
        "|---|---:|---:|---|---|",
        f"| raw SDK `chat.completions.create` | {pct(raw, 50):.0f} | {min(raw):.0f} | | |",
        f"| llmcore `llm.chat(..., session_id=...)` | {pct(core, 50):.0f} | {min(core):.0f} "
        f"| >= raw | {'met' if met else '**not met**'} |",
        "",
    ]


def frameworks_table(others: dict[str, dict[str, list[float]]]) -> list[str]:
    lines = [
        "### Other libraries doing the same job",
        "",
        "The same 21-message request through LiteLLM (`litellm.acompletion`) and LangChain "
        "(`ChatOpenAI.ainvoke` / `.astream`), each interleaved with the raw SDK; no session, "
        "nothing stored. Informational: these libraries are not dependencies, and a row says "
        "so when one is not installed.",
        "",
        "| Library | turn p50 (ms) | raw SDK turn p50 (ms) | difference | last chunk p50 (ms) "
        "| raw SDK last chunk p50 (ms) | difference |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in FRAMEWORKS:
        got = others.get(name)
        if got is None:
            lines.append(f"| {name} | not installed | | | | | |")
            continue
        t, r = pct(got["turn"], 50) * 1e3, pct(got["raw"], 50) * 1e3
        lt, lr = pct(got["last"], 50) * 1e3, pct(got["raw_last"], 50) * 1e3
        lines.append(
            f"| {name} | {t:.2f} | {r:.2f} | {t - r:+.2f} | {lt:.2f} | {lr:.2f} | {lt - lr:+.2f} |"
        )
    return [*lines, ""]


# -- the whole run ------------------------------------------------------


def own_section(quick: bool) -> str:
    """This script's measurements: import, turns, streaming, concurrency, other libraries."""
    n = 30 if quick else 300
    startup = startup_times(10)
    with tempfile.TemporaryDirectory() as tmp:
        res, stages, payload, others = anyio.run(bench, n, tmp, backend="asyncio")
    return report(startup, res, stages, n, payload, others)


def run_section(name: str, quick: bool) -> str:
    """Run one benchmark (this script's own, or a bench_*.py), never letting it stop the rest."""
    try:
        if name == "run":
            return own_section(quick)
        module = importlib.import_module(name)
        return str(module.main(quick))
    except Exception as exc:  # one broken benchmark must not lose the others' results
        return f"## {name}\n\n**not run**: {type(exc).__name__}: {exc}\n"


def verdicts(text: str) -> tuple[int, int, int]:
    """(met, not met, not run) counts of the verdict words in a section."""
    not_met = len(re.findall(r"\bnot met\b", text, re.I))
    met = len(re.findall(r"\bmet\b", text, re.I)) - not_met
    return met, not_met, len(re.findall(r"\bnot run\b", text, re.I))


def summary(results: list[tuple[str, str, float]]) -> list[str]:
    lines = [
        "| Benchmark | targets met | not met | not run | time (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    for _, text, took in results:
        title = text.splitlines()[0].lstrip("# ").strip()
        met, not_met, not_run = verdicts(text)
        flag = f"**{not_met}**" if not_met else "0"
        lines.append(f"| {title} | {met} | {flag} | {not_run} | {took:.0f} |")
    return lines


def update_docs(text: str) -> None:
    """Put the report between the markers of docs/performance.md."""
    doc = PERFORMANCE_DOC.read_text("utf-8")
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start not in doc or end not in doc:
        return
    # One heading level down: the page's own "## Latest results" holds them.
    body = re.sub(r"^(#{2,}) ", r"#\1 ", text.split("\n", 1)[1], flags=re.M)
    head, rest = doc.split(start, 1)
    PERFORMANCE_DOC.write_text(f"{head}{start}\n{body.strip()}\n{end}{rest.split(end, 1)[1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a quick check)")
    names = ("run", *SECTIONS)
    parser.add_argument("--only", nargs="+", choices=names, help="run only these benchmarks")
    args = parser.parse_args()
    chosen = args.only or names
    results = []
    for name in chosen:
        began = time.perf_counter()
        print(f"running {name}...", file=sys.stderr, flush=True)
        text = run_section(name, args.quick)
        results.append((name, text, time.perf_counter() - began))
    mode = "quick run (`--quick`)" if args.quick else "full run"
    report_text = "\n".join(
        [
            "# llmcore benchmarks",
            "",
            machine(),
            f"- {mode}; every network measurement against a local zero-latency fake server",
            "",
            *summary(results),
            "",
            *(text.rstrip() + "\n" for _, text, _ in results),
        ]
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report_text)
    if not args.quick and not args.only:
        update_docs(report_text)
    print(report_text)


if __name__ == "__main__":
    main()
