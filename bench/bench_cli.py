"""llmchat start-up: ``llmchat --help`` wall time and what ``import llmcore.cli`` costs.

Target (issue 8): ``llmchat --help`` answers in under 200 ms, because Rich,
prompt_toolkit, anyio and ``llmcore.api`` (and through it the provider
SDKs) are imported inside the commands that use them, never at start-up.

Run ``python bench/bench_cli.py [--quick]``.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_MS = 200.0
LLMCHAT = str(Path(sys.executable).with_name("llmchat"))
COMMANDS = (["--help"], ["chat", "--help"], ["rag", "add", "--help"])


def _wall_ms(args: list[str], runs: int) -> list[float]:
    subprocess.run([LLMCHAT, *args], capture_output=True, check=True)  # warm the disk cache
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run([LLMCHAT, *args], capture_output=True, check=True)
        times.append((time.perf_counter() - began) * 1e3)
    return times


def _import_profile(runs: int) -> tuple[float, list[tuple[str, float]]]:
    """Median cumulative import time of llmcore.cli, and its five heaviest imports."""
    totals: list[float] = []
    heaviest: dict[str, float] = {}
    for _ in range(runs):
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import llmcore.cli"],
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        rows = re.findall(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", err)
        for cumulative, indent, name in rows:
            if len(indent) <= 3:  # top-level and first-level imports
                heaviest[name] = min(heaviest.get(name, 1e12), int(cumulative) / 1e3)
            if name == "llmcore.cli":
                totals.append(int(cumulative) / 1e3)
    top = sorted(heaviest.items(), key=lambda kv: -kv[1])[:6]
    return statistics.median(totals), top


def main(quick: bool = False) -> str:
    """Run the benchmark and return a Markdown section."""
    runs = 5 if quick else 20
    walls = {" ".join(a): _wall_ms(a, runs) for a in COMMANDS}
    import_ms, top = _import_profile(3 if quick else 10)
    help_ms = statistics.median(walls["--help"])
    rows = [
        "## llmchat start-up (issue 8)",
        "",
        f"Wall time of the installed `llmchat` script, a new process each run; median and "
        f"best of {runs} runs.",
        "",
        "| Command | p50 (ms) | min (ms) |",
        "|---|---:|---:|",
        *(
            f"| `llmchat {cmd}` | {statistics.median(t):.0f} | {min(t):.0f} |"
            for cmd, t in walls.items()
        ),
        "",
        f"`import llmcore.cli` (`python -X importtime`, median): {import_ms:.1f} ms. Heaviest "
        "imports (best run, cumulative ms): "
        + ", ".join(f"`{name}` {ms:.1f}" for name, ms in top)
        + ".",
        "",
        f"`llmchat --help` p50: **{help_ms:.0f} ms** "
        f"(target < {TARGET_MS:.0f} ms: {'met' if help_ms < TARGET_MS else 'NOT met'})",
        "",
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    print(main(quick="--quick" in sys.argv))
