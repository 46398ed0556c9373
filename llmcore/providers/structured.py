"""Structured output on the provider side: a schema each API takes, a forced tool where none.

Each provider's native mode accepts its own subset of JSON Schema:

- OpenAI's strict mode needs every object sealed (``additionalProperties:
  false``) and every property required; :func:`openai_schema` makes a
  schema strict when that keeps its meaning (an optional field that may be
  ``null`` becomes required-and-nullable) and sends it non-strict otherwise
  (a map, an optional field that may not be ``null``).
- Anthropic needs sealed objects and takes a short list of keywords;
  :func:`anthropic_schema` moves the others into the description (so the
  model still reads them) and says when a schema cannot be sent natively
  (a map, recursion): a forced tool carries it then.
- Gemini, Ollama and llama.cpp get the schema with every ``$ref``
  inlined (:func:`llmcore.output.inline_refs`); Gemini's keyword list
  is applied the same way as Anthropic's.

The reply is always validated against the caller's type, so a constraint
moved into a description is still enforced (and repaired) by llmcore.

Where a model has no native mode (or ``structured_output = "tool"``), the
schema is a tool's parameters and the model is made to call it
(:func:`with_output_tool`); its arguments are read back as the reply's
JSON text (:func:`output_tool_as_text`, :func:`stream_output_tool_as_text`).
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import replace
from typing import Any

import msgspec

from llmcore._util.memo import per_object
from llmcore.exchange import (
    ModelRequest,
    ModelResponse,
    ResponseInfo,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
)
from llmcore.output import inline_refs
from llmcore.parts import Part, TextPart, ToolCallPart
from llmcore.tools.tool import Tool, ToolResult

__all__ = [
    "OUTPUT_TOOL",
    "OutputTool",
    "anthropic_schema",
    "gemini_schema",
    "openai_schema",
    "output_tool_as_text",
    "output_tool_name",
    "stream_output_tool_as_text",
    "with_output_tool",
]

_CALLED_TOOLS = ("tool_calls", "tool_use")
#: The name of the tool that carries the answer when a model has no native mode.
OUTPUT_TOOL = "final_answer"

_STRUCTURE = frozenset(
    {"type", "description", "enum", "anyOf", "$ref", "$defs", "properties", "required", "items"}
)
_OPENAI_STRICT = _STRUCTURE | {
    "additionalProperties",
    "const",
    "title",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
}
_ANTHROPIC = _STRUCTURE | {"additionalProperties", "const", "title", "format", "minItems", "allOf"}
_ANTHROPIC_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)
_GEMINI = (_STRUCTURE - {"$ref", "$defs"}) | {
    "additionalProperties",
    "title",
    "format",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "prefixItems",
}


@per_object
def openai_schema(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The schema for OpenAI's ``response_format`` and whether it can be ``strict``.

    Strict when every object has named properties only and every optional
    property may be ``null`` (strict mode requires all properties; the
    model then sends ``null`` for one it leaves out). Otherwise the schema is
    sent as it is, non-strict, and validation catches what strict mode would.
    """
    if not _strict_possible(schema):
        return schema, False
    return _fitted(schema, _OPENAI_STRICT, seal=True, require_all=True), True


@per_object
def anthropic_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The schema for Anthropic's ``output_config.format``; None if it cannot be sent natively.

    Objects are sealed; keywords Anthropic does not take (``minLength``,
    ``maximum``, ``minItems`` above 1...) go into the description. A map (an
    object with free keys) or a recursive type cannot be: None, and a
    forced tool carries the schema instead.
    """
    if _has_map(schema) or _recursive(schema):
        return None
    return _fitted(schema, _ANTHROPIC, seal=True, formats=_ANTHROPIC_FORMATS, min_items=(0, 1))


@per_object
def gemini_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema for Gemini's ``response_json_schema``: refs inlined, Gemini's keywords only.

    Raises:
        InvalidRequestError: the type refers to itself (it cannot be inlined).
    """
    return _fitted(inline_refs(schema), _GEMINI, const_as_enum=True)


def _fitted(
    schema: dict[str, Any],
    keys: Collection[str],
    *,
    seal: bool = False,
    require_all: bool = False,
    formats: Collection[str] | None = None,
    min_items: Collection[int] | None = None,
    const_as_enum: bool = False,
) -> dict[str, Any]:
    """``schema`` with only ``keys``; the rest described in words on the node."""

    def fit(node: Any) -> Any:
        if isinstance(node, list):
            return [fit(item) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        moved: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("properties", "$defs") and isinstance(value, dict):
                out[key] = {name: fit(child) for name, child in value.items()}
            elif key in ("items", "anyOf", "allOf", "prefixItems"):
                out[key] = fit(value)
            elif key == "oneOf":
                out["anyOf"] = fit(value)  # the same for a schema of disjoint types
            elif key == "const" and const_as_enum:
                out["enum"] = [value]
            elif _refused(key, value, formats, min_items):
                moved[key] = value
            elif key in keys:
                out[key] = value
            elif key not in ("default", "examples", "title"):
                moved[key] = value
        if out.get("type") == "object" and "properties" in out:
            if seal:
                out["additionalProperties"] = False
            if require_all:
                out["required"] = list(out["properties"])
        if moved:
            words = ", ".join(f"{k}: {json.dumps(v)}" for k, v in moved.items())
            out["description"] = (
                f"{out['description']} ({words})" if "description" in out else words
            )
        return out

    fitted: dict[str, Any] = fit(copy.deepcopy(schema))
    return fitted


def _refused(
    key: str, value: Any, formats: Collection[str] | None, min_items: Collection[int] | None
) -> bool:
    """A string format or a ``minItems`` the provider does not take."""
    if key == "format":
        return formats is not None and value not in formats
    if key == "minItems":
        return min_items is not None and value not in min_items
    return False


def _walk(node: Any) -> Any:
    """Every schema node (dict) under ``node``."""
    if isinstance(node, list):
        for item in node:
            yield from _walk(item)
    elif isinstance(node, dict):
        yield node
        for value in node.values():
            if isinstance(value, (dict, list)):
                yield from _walk(value)


def _has_map(schema: dict[str, Any]) -> bool:
    return any(
        node.get("type") == "object"
        and (isinstance(node.get("additionalProperties"), dict) or "properties" not in node)
        for node in _walk(schema)
    )


def _nullable(node: Any) -> bool:
    if not isinstance(node, dict):
        return False
    kind = node.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(_nullable(option) for option in node.get("anyOf", ()))


def _strict_possible(schema: dict[str, Any]) -> bool:
    if _has_map(schema):
        return False
    defs = schema.get("$defs", {})
    for node in _walk(schema):
        properties = node.get("properties")
        if node.get("type") != "object" or not isinstance(properties, dict):
            continue
        required = set(node.get("required", ()))
        for name, child in properties.items():
            target = child
            ref = child.get("$ref") if isinstance(child, dict) else None
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                target = defs.get(ref.removeprefix("#/$defs/"), child)
            if name not in required and not _nullable(target):
                return False
    return True


def _recursive(schema: dict[str, Any]) -> bool:
    defs = schema.get("$defs", {})

    def refs(node: Any) -> set[str]:
        found = set()
        for child in _walk(node):
            ref = child.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                found.add(ref.removeprefix("#/$defs/"))
        return found

    def reaches(start: str, seen: frozenset[str]) -> bool:
        for name in refs(defs.get(start, {})):
            if name == start or name in seen or reaches(name, seen | {start}):
                return True
        return False

    return any(reaches(name, frozenset()) for name in defs)


# -- a forced tool, where there is no native mode ------------------------------


class OutputTool:
    """The tool that carries the answer: its parameters are the output schema.

    It is never run: the model's call to it is the reply, read back as text.
    """

    def __init__(self, name: str, schema: dict[str, Any]):
        self.name = name
        self.description = (
            "Give your final answer by calling this tool, with the answer as its arguments."
        )
        self.parameters = schema

    async def call(self, arguments: dict[str, Any]) -> ToolResult:
        """Not run (the call is the reply); says so if it ever is."""
        return ToolResult("The answer was received.")


def output_tool_name(tools: Sequence[Tool]) -> str:
    """The output tool's name beside ``tools``: ``final_answer``, unless one of them is."""
    taken = {tool.name for tool in tools}
    name = OUTPUT_TOOL
    while name in taken:
        name += "_"
    return name


def with_output_tool(request: ModelRequest) -> ModelRequest:
    """``request`` with the output schema as a tool the model must call."""
    assert request.output_schema is not None
    name = output_tool_name(request.tools)
    tool = OutputTool(name, request.output_schema)
    return replace(request, tools=[*request.tools, tool], output_tool=name)


def output_tool_as_text(response: ModelResponse, name: str) -> ModelResponse:
    """The reply with its call to the output tool as its only text: the answer.

    Text the model wrote beside the call (a tool offered, not forced, may get
    a preamble) is not part of the answer and is left out.
    """
    if not any(type(p) is ToolCallPart and p.name == name for p in response.parts):
        return response
    parts: list[Part] = []
    for part in response.parts:
        if type(part) is ToolCallPart and part.name == name:
            parts.append(TextPart(json.dumps(part.arguments)))
        elif type(part) is not TextPart:
            parts.append(part)
    response.parts = parts
    if response.finish_reason in _CALLED_TOOLS and not response.tool_calls:
        response.finish_reason = "stop"
    return response


async def stream_output_tool_as_text(
    events: AsyncIterator[StreamEvent], name: str
) -> AsyncIterator[StreamEvent]:
    """The stream with the pieces of the output tool's call as the text pieces.

    Text before any call is held back: if the model then calls the output
    tool, that text was a preamble and is dropped (as in
    :func:`output_tool_as_text`); if it does not, the text is the reply and
    follows at the end.
    """
    answer: set[int] = set()
    others: set[int] = set()
    held: list[StreamEvent] = []
    async for event in events:
        if type(event) is TextDelta and not answer:
            held.append(event)
            continue
        if type(event) is ToolCallDelta:
            if event.name == name and not answer:
                held.clear()  # a preamble, not the answer
            if event.name == name:
                answer.add(event.index)
            if event.index in answer:
                args = event.arguments
                text = args if isinstance(args, str) else json.dumps(args)
                if text:
                    yield TextDelta(text)
                continue
            others.add(event.index)
        elif type(event) is TextDelta:
            continue  # text after the answer began is no part of it
        elif (
            type(event) is ResponseInfo
            and answer
            and not others
            and event.finish_reason in _CALLED_TOOLS
        ):
            event = msgspec.structs.replace(event, finish_reason="stop")
        yield event
    for event in held:
        yield event
