"""What tracing costs: ``import llmcore`` and a turn, with and without OpenTelemetry.

Target (issue 16): without a tracer provider nothing changes. llmcore makes
no span and imports nothing of OpenTelemetry, so ``import llmcore`` takes the
same time whether or not the ``otel`` extra is installed. A turn costs the
same whether OpenTelemetry is absent or imported with no provider set (one
dictionary lookup either way). With the SDK's provider, the cost of the
spans is shown.

Each turn configuration runs in fresh processes of its own, so "not
imported" really means that. The processes take turns (ABCABC...) so slow
drift of the machine affects all of them alike, and a gap between two
configurations counts only when it is larger than the spread of the
baseline's own processes (their medians), or 5%:

- *no OpenTelemetry*: the application never imported it (as without the extra);
- *API, no provider*: ``opentelemetry.trace`` imported, no provider set;
- *SDK provider*: an SDK ``TracerProvider`` with a ``SimpleSpanProcessor``
  into the in-memory exporter (cleared between turns, outside the timing).
  It records the turn span, one span per stage (8) and nothing else.

Every turn is ``llm.chat`` on a stored session (40 messages) against the
local fake OpenAI server; *stream* is the same turn with ``stream=True``
read to its end. Import times are 20 fresh processes per row; "not
installed" blocks the import of ``opentelemetry`` in that process.

Run ``python bench/bench_tracing.py [--quick]``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODES = {
    "none": "no OpenTelemetry",
    "api": "API imported, no provider",
    "sdk": "SDK provider, spans recorded",
}
BLOCK_OTEL = 'import sys; sys.modules["opentelemetry"] = None; '


# -- one configuration, in its own process ---------------------------------


def child(mode: str, n: int) -> None:
    """Measure ``n`` turns and ``n`` streamed turns in this process; print them as JSON."""
    import anyio

    sys.path.insert(0, str(ROOT / "tests"))
    exporter: Any = None
    if mode == "api":
        import opentelemetry.trace  # noqa: F401 - imported, nothing set
    elif mode == "sdk":
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
    from fakes.openai_server import FakeOpenAIServer

    from llmcore import LLMCore

    async def run(server: FakeOpenAIServer, folder: str) -> dict[str, Any]:
        overrides = {
            "providers.openai.api_key": "sk-bench",
            "providers.openai.base_url": server.base_url,
            "providers.openai.max_retries": 0,
            "storage.session.path": f"{folder}/sessions.db",
        }
        turns: list[float] = []
        streams: list[float] = []
        spans = 0
        async with LLMCore(config_overrides=overrides, env_prefix=None) as llm:
            for i in range(20):
                await llm.chat(f"fill {i}", session_id="bench")
            for i in range(max(5, n // 10) + n):
                began = time.perf_counter()
                await llm.chat(f"turn {i}", session_id="bench")
                took = time.perf_counter() - began
                began = time.perf_counter()
                async for _ in await llm.chat(f"stream {i}", session_id="bench", stream=True):
                    pass
                streamed = time.perf_counter() - began
                if exporter is not None:
                    spans = len(exporter.get_finished_spans()) // 2
                    exporter.clear()
                if i >= max(5, n // 10):
                    turns.append(took)
                    streams.append(streamed)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry")
        return {"turn": turns, "stream": streams, "spans": spans, "otel_modules": len(loaded)}

    with FakeOpenAIServer() as server, tempfile.TemporaryDirectory() as folder:
        print(json.dumps(anyio.run(run, server, folder)))


# -- the report -------------------------------------------------------------


def turn_times(n: int, rounds: int) -> dict[str, dict[str, Any]]:
    """Each mode's samples, and each of its processes' median (``turn_medians``...)."""
    results: dict[str, dict[str, Any]] = {
        m: {"turn": [], "stream": [], "turn_medians": [], "stream_medians": []} for m in MODES
    }
    for _ in range(rounds):
        for mode in MODES:
            done = subprocess.run(
                [sys.executable, __file__, "--child", mode, str(n // rounds)],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            got = json.loads(done.stdout.splitlines()[-1])
            for kind in ("turn", "stream"):
                results[mode][kind] += got[kind]
                results[mode][f"{kind}_medians"].append(statistics.median(got[kind]))
            results[mode]["spans"] = got["spans"]
            results[mode]["otel_modules"] = got["otel_modules"]
    return results


def import_times(runs: int) -> dict[str, list[float]]:
    from run import startup_times

    return startup_times(
        runs,
        {
            "installed": [sys.executable, "-c", "import llmcore"],
            "not installed": [sys.executable, "-c", BLOCK_OTEL + "import llmcore"],
        },
    )


def row(name: str, samples: list[float], target: str = "", verdict: str = "") -> str:
    from run import ms

    p50, p90 = ms(samples)
    return f"| {name} | {p50:.2f} | {p90:.2f} | {target} | {verdict} |"


def main(quick: bool = False) -> str:
    """Run the benchmark and return its Markdown section."""
    from run import ms

    n, rounds = (90, 3) if quick else (300, 5)
    imports = import_times(10 if quick else 20)
    turns = turn_times(n, rounds)
    lines = [
        "## Tracing: what OpenTelemetry costs (issue 16)",
        "",
        f"{n} turns per configuration ({rounds} processes each, taking turns); ms.",
        "",
        "| | p50 | p90 | target | verdict |",
        "|---|---:|---:|---|---|",
    ]
    installed, missing = imports["installed"], imports["not installed"]
    same_import = abs(ms(missing)[0] / ms(installed)[0] - 1) < 0.1
    lines.append(row("`import llmcore` (process), OpenTelemetry installed", installed))
    lines.append(
        row(
            "`import llmcore` (process), OpenTelemetry not installed",
            missing,
            "within 10% of installed",
            "met" if same_import else "**not met**",
        )
    )
    for kind, label in (("turn", "turn (`llm.chat`)"), ("stream", "streamed turn, to its end")):
        base = ms(turns["none"][kind])[0]
        # The baseline's own processes differ by this much: a smaller gap is noise.
        medians = turns["none"][f"{kind}_medians"]
        noise = max(medians) - min(medians)
        for mode, name in MODES.items():
            samples = turns[mode][kind]
            target = verdict = ""
            if mode == "api":
                gap = abs(ms(samples)[0] - base)
                target = f"within the baseline's spread ({noise * 1000:.2f} ms) or 5%"
                verdict = "met" if gap <= max(noise * 1000, 0.05 * base) else "**not met**"
            elif mode == "sdk":
                target = f"{ms(samples)[0] - base:+.2f} ms for the spans"
            lines.append(row(f"{label}: {name}", samples, target, verdict))
    sdk = turns["sdk"]
    lines += [
        "",
        f"Spans per turn with the SDK: {sdk['spans']}. OpenTelemetry modules loaded by the "
        f"turns without it: {turns['none']['otel_modules']}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        print(main(quick="--quick" in sys.argv))
