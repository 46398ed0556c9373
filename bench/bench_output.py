"""Structured output: what ``output_type`` costs, the first time and every time after.

Target (issue 19): a type's schema is built once and kept, so a second call
with the same type adds < 0.05 ms of schema work. Measured for a nested
msgspec Struct, a pydantic model and a JSON-schema dict:

- *first*: compiling the type (its JSON schema and decoder) from scratch,
  plus adapting the schema for OpenAI, Anthropic and Gemini;
- *again*: the same with the caches warm (what every later call does);
- *read*: validating a reply into the type (the work that stays per call).

Then a whole ``chat_turn`` against the local fake OpenAI server, with and
without ``output_type``: the difference is the per-turn cost of structured
output (schema in the request, validation of the reply).

Run ``python bench/bench_output.py [--quick]``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pydantic

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from fakes.openai_server import FakeOpenAIServer, Reply  # noqa: E402

from llmcore import LLMCore  # noqa: E402
from llmcore import output as output_module  # noqa: E402
from llmcore.output import output_spec  # noqa: E402
from llmcore.providers.structured import (  # noqa: E402
    anthropic_schema,
    gemini_schema,
    openai_schema,
)

TARGET_MS = 0.05


class Line(msgspec.Struct):
    sku: str
    quantity: int
    note: str | None = None


class Invoice(msgspec.Struct):
    number: str
    total: float
    lines: list[Line]


class Person(pydantic.BaseModel):
    name: str
    age: int = pydantic.Field(ge=0)


SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
}
REPLIES: dict[str, str] = {
    "msgspec Struct": json.dumps(
        {"number": "7", "total": 12.5, "lines": [{"sku": "A1", "quantity": 2, "note": None}]}
    ),
    "pydantic model": '{"name": "Ada", "age": 36}',
    "JSON-schema dict": '{"city": "Oslo", "population": 709000}',
}
TYPES: dict[str, object] = {
    "msgspec Struct": Invoice,
    "pydantic model": Person,
    "JSON-schema dict": SCHEMA,
}


def _forget() -> None:
    """Empty every cache structured output keeps (a cold start)."""
    output_module._spec_of_type.cache_clear()
    output_module._spec_of_schema.cache_clear()
    for adapter in (openai_schema, anthropic_schema, gemini_schema, output_module.inline_refs):
        adapter.cache_clear()


def _compile(output_type: object) -> None:
    spec = output_spec(output_type)
    openai_schema(spec.schema)
    anthropic_schema(spec.schema)
    gemini_schema(spec.schema)


def _median_ms(fn: Callable[[], Any], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def _schema_rows(quick: bool) -> list[tuple[str, float, float, float]]:
    runs = 50 if quick else 500
    rows = []
    for name, output_type in TYPES.items():

        def cold(t: object = output_type) -> None:
            _forget()
            _compile(t)

        first = _median_ms(cold, runs // 5)
        _compile(output_type)
        again = _median_ms(lambda t=output_type: _compile(t), runs)
        spec = output_spec(output_type)
        read = _median_ms(lambda s=spec, r=REPLIES[name]: s.read(r), runs)
        rows.append((name, first, again, read))
    return rows


async def _turns(quick: bool) -> tuple[float, float]:
    runs = 30 if quick else 200
    with FakeOpenAIServer() as server:
        overrides = {
            "providers.openai.api_key": "sk-bench",
            "providers.openai.base_url": server.base_url,
            "providers.openai.max_retries": 0,
        }
        async with LLMCore(config_overrides=overrides, env_prefix=None, user_config=False) as llm:
            plain: list[float] = []
            typed: list[float] = []
            for i in range(runs + 10):
                for kind, samples in (("plain", plain), ("typed", typed)):
                    server.enqueue(Reply(text=REPLIES["msgspec Struct"]))
                    start = time.perf_counter()
                    if kind == "typed":
                        await llm.chat_turn("Extract", output_type=Invoice)
                    else:
                        await llm.chat_turn("Extract")
                    if i >= 10:  # warmup
                        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(plain), statistics.median(typed)


def main(quick: bool = False) -> str:
    """Run the benchmark and return its Markdown section."""
    rows = _schema_rows(quick)
    plain, typed = anyio.run(_turns, quick)
    lines = [
        "## Structured output (issue 19)",
        "",
        "Median milliseconds. *first*: the type's schema and decoder built, and adapted for "
        "OpenAI, Anthropic and Gemini, from cold caches; *again*: the same call once cached; "
        "*read*: validating a reply into the type.",
        "",
        "| output_type | first (ms) | again (ms) | read (ms) | again < 0.05 ms |",
        "|---|---:|---:|---:|---|",
    ]
    met = True
    for name, first, again, read in rows:
        ok = again < TARGET_MS
        met = met and ok
        lines.append(
            f"| {name} | {first:.3f} | {again:.4f} | {read:.4f} | {'met' if ok else 'not met'} |"
        )
    lines += [
        "",
        f"A whole `chat_turn` on the fake OpenAI server: {plain:.2f} ms without `output_type`, "
        f"{typed:.2f} ms with it (difference {typed - plain:+.2f} ms: the schema in the "
        "request body and the reply's validation).",
        "",
        f"Target: a second call with the same type adds < {TARGET_MS} ms of schema work: "
        f"**{'met' if met else 'not met'}**.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(main(quick="--quick" in sys.argv))
