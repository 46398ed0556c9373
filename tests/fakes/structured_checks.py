"""What each API refuses in a structured-output request, with its 400 messages.

One function per wire format, each returning the message of the first thing
the real API would refuse, or None. The wording is the API's own where its
users report it; a comment marks where it is approximate.

- OpenAI ``response_format``: a ``json_schema`` needs a ``name`` of
  ``[a-zA-Z0-9_-]{1,64}`` and an object at the root; ``strict: true`` needs
  every object sealed (``additionalProperties: false``), every property
  required, and only the keywords strict mode supports. A ``tool_choice``
  must name a tool that is offered.
- Anthropic ``output_config.format``: a ``json_schema`` with sealed objects,
  no recursion, and only the keywords structured outputs support (no
  ``minimum``, ``minLength``...); only the models that have structured
  outputs take it. A ``tool_choice`` that forces a tool must name one that
  is offered, and cannot be combined with extended thinking.
- Gemini: ``responseJsonSchema`` needs ``responseMimeType:
  application/json``, not with ``responseSchema`` too; before Gemini 3,
  function calling with a JSON response is refused; allowed function names
  only with mode ``ANY`` and only declared ones.
- Ollama ``format``: ``"json"`` or a JSON-schema object.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["anthropic", "example", "gemini", "instance_text", "ollama", "openai"]

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
#: The keywords OpenAI's strict mode takes (structured outputs guide, "Supported schemas").
_OPENAI_STRICT = {
    "type", "description", "enum", "const", "anyOf", "$ref", "$defs", "properties",
    "required", "additionalProperties", "items", "title", "pattern", "format", "minimum",
    "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems",
}  # fmt: skip
#: What Anthropic's structured outputs refuse ("JSON Schema limitations").
_ANTHROPIC_UNSUPPORTED = {
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minLength", "maxLength", "maxItems", "uniqueItems", "patternProperties",
    "minProperties", "maxProperties", "if", "then", "else", "not",
}  # fmt: skip
_ANTHROPIC_MODELS = re.compile(r"claude-(opus|sonnet|haiku)-(4-[1-9](?!\d)|[5-9])")


def _nodes(node: Any, where: tuple[str, ...] = ()) -> Any:
    """Every schema node with its context path, as OpenAI's messages print it."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            if key in ("properties", "$defs") and isinstance(value, dict):
                for name, child in value.items():
                    yield from _nodes(child, (*where, key, name))
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                yield from _nodes(value, (*where, key))
            elif key in ("anyOf", "allOf", "oneOf", "prefixItems") and isinstance(value, list):
                for i, child in enumerate(value):
                    yield from _nodes(child, (*where, key, str(i)))


def openai(body: dict[str, Any]) -> str | None:
    """OpenAI's 400 for the body's ``response_format`` or ``tool_choice``, or None."""
    problem = _openai_tool_choice(body)
    if problem:
        return problem
    fmt = body.get("response_format")
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind not in ("text", "json_object", "json_schema"):
        return (
            f"Invalid value: '{kind}'. Supported values are: 'json_object', 'json_schema', "
            "and 'text'."
        )
    if kind != "json_schema":
        return None
    spec = fmt.get("json_schema")
    if not isinstance(spec, dict) or "name" not in spec:
        return "Missing required parameter: 'response_format.json_schema.name'."
    name = spec["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        return (
            "Invalid 'response_format.json_schema.name': string does not match pattern. "
            "Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'."
        )
    schema = spec.get("schema")
    if not isinstance(schema, dict) or schema.get("type") != "object":
        got = schema.get("type") if isinstance(schema, dict) else None
        return (
            f"Invalid schema for response_format '{name}': schema must be a JSON Schema of "
            f"'type: \"object\"', got 'type: \"{got}\"'."
        )
    if spec.get("strict") is True:
        return _openai_strict(name, schema)
    return None


def _openai_strict(name: str, schema: dict[str, Any]) -> str | None:
    for where, node in _nodes(schema):
        context = f"context=({', '.join(repr(w) for w in where)}{',' if len(where) == 1 else ''})"
        for key in node:
            if key not in _OPENAI_STRICT:
                # Approximate wording.
                return (
                    f"Invalid schema for response_format '{name}': In {context}, '{key}' is "
                    "not permitted."
                )
        if node.get("type") == "object":
            if node.get("additionalProperties") is not False:
                return (
                    f"Invalid schema for response_format '{name}': In {context}, "
                    "'additionalProperties' is required to be supplied and to be false."
                )
            properties = node.get("properties") or {}
            missing = [p for p in properties if p not in (node.get("required") or [])]
            if missing:
                return (
                    f"Invalid schema for response_format '{name}': In {context}, 'required' "
                    "is required to be supplied and to be an array including every key in "
                    f"properties. Missing '{missing[0]}'."
                )
    return None


def _openai_tool_choice(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    if choice is None:
        return None
    tools = body.get("tools") or []
    if not tools:
        return (
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are "
            "specified."
        )
    if isinstance(choice, dict):
        wanted = (choice.get("function") or {}).get("name")
        names = [(t.get("function") or {}).get("name") for t in tools]
        if wanted not in names:
            return (
                f"Invalid value for 'tool_choice': tool choice '{wanted}' not found in 'tools' "
                "parameter."
            )
    elif choice not in ("none", "auto", "required"):
        return f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and 'required'."
    return None


def anthropic(body: dict[str, Any]) -> str | None:
    """Anthropic's 400 for the body's ``output_config`` or ``tool_choice``, or None."""
    problem = _anthropic_tool_choice(body)
    if problem:
        return problem
    config = body.get("output_config")
    if not isinstance(config, dict) or config.get("format") is None:
        return None
    fmt = config["format"]
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return "output_config.format.type: Input should be 'json_schema'"
    model = str(body.get("model", ""))
    if not _ANTHROPIC_MODELS.match(model):
        # Approximate wording.
        return f"'{model}' does not support structured outputs (output_config.format)."
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        return "output_config.format.schema: Field required"
    for where, node in _nodes(schema):
        at = "/".join(where) or "(root)"
        if node.get("type") == "object" and node.get("additionalProperties") is not False:
            return (
                "output_config.format.schema: For 'object' type, 'additionalProperties' must be "
                f"explicitly set to false (at {at})"
            )
        for key in node:
            if key in _ANTHROPIC_UNSUPPORTED:
                return (
                    f"output_config.format.schema: For '{node.get('type')}' type, property "
                    f"'{key}' is not supported (at {at})"
                )
        if node.get("minItems", 0) not in (0, 1):
            return (
                "output_config.format.schema: For 'array' type, 'minItems' values other than 0 "
                f"or 1 are not supported (at {at})"
            )
    if _refers_to_itself(schema):
        return "output_config.format.schema: Recursive schemas are not supported"
    return None


def _refers_to_itself(schema: dict[str, Any]) -> bool:
    defs = schema.get("$defs") or {}

    def refs(node: Any) -> set[str]:
        return {
            n["$ref"].rsplit("/", 1)[-1] for _, n in _nodes(node) if isinstance(n.get("$ref"), str)
        }

    def loops(name: str, path: frozenset[str]) -> bool:
        return any(r in path or loops(r, path | {r}) for r in refs(defs.get(name, {})))

    return any(loops(name, frozenset({name})) for name in defs)


def _anthropic_tool_choice(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    if not isinstance(choice, dict):
        return None
    kind = choice.get("type")
    thinking = body.get("thinking")
    if kind in ("any", "tool") and isinstance(thinking, dict) and thinking.get("type") == "enabled":
        return "Thinking may not be enabled when tool_choice forces tool use."
    names = [t.get("name") for t in body.get("tools") or []]
    if kind == "tool" and choice.get("name") not in names:
        # Approximate wording.
        return f"tool_choice.name: tool '{choice.get('name')}' is not one of the tools offered"
    if kind in ("any", "tool") and not names:
        return "tool_choice: a tool_choice that uses tools needs tools"  # approximate
    return None


def _get(mapping: Any, *names: str) -> Any:
    """A field by any of its names (the SDK sends camelCase; snake_case is taken too)."""
    if not isinstance(mapping, dict):
        return None
    for name in names:
        if name in mapping:
            return mapping[name]
    return None


def gemini(body: dict[str, Any], model: str) -> str | None:
    """Gemini's 400 for the body's response schema or function-calling config, or None."""
    config = _get(body, "generationConfig", "generation_config") or {}
    json_schema = _get(config, "responseJsonSchema", "response_json_schema")
    schema = _get(config, "responseSchema", "response_schema")
    mime = _get(config, "responseMimeType", "response_mime_type")
    if json_schema is not None and schema is not None:
        return "responseSchema and responseJsonSchema cannot both be set."  # approximate
    if (json_schema is not None or schema is not None) and mime != "application/json":
        # Approximate wording.
        return "responseMimeType must be application/json when a response schema is set."
    declared = [
        _get(d, "name")
        for tool in _get(body, "tools") or []
        for d in _get(tool, "functionDeclarations", "function_declarations") or []
    ]
    if declared and mime == "application/json" and not model.startswith("gemini-3"):
        return "Function calling with a response mime type: 'application/json' is unsupported"
    calling = _get(_get(body, "toolConfig", "tool_config"), "functionCallingConfig",
                   "function_calling_config")  # fmt: skip
    allowed = _get(calling, "allowedFunctionNames", "allowed_function_names")
    if allowed:
        if _get(calling, "mode") != "ANY":
            # Approximate wording.
            return "allowed_function_names can only be set when the function calling mode is ANY."
        unknown = [n for n in allowed if n not in declared]
        if unknown:
            return f"allowed_function_names: function '{unknown[0]}' is not declared."  # approx.
    return None


def ollama(body: dict[str, Any]) -> str | None:
    """Ollama's 400 for the body's ``format``, or None."""
    fmt = body.get("format")
    if fmt is None or fmt == "json" or isinstance(fmt, dict):
        return None
    return f'invalid format: {fmt!r}; expected "json" or a JSON schema'  # approximate


def instance_text(body: dict[str, Any]) -> str | None:
    """What a model sends for a ``response_format`` JSON schema it was given, unscripted."""
    fmt = body.get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return None
    schema = (fmt.get("json_schema") or {}).get("schema") or {}
    return json.dumps(example(schema, schema.get("$defs") or {}))


def example(schema: Any, defs: dict[str, Any]) -> Any:
    """The smallest value ``schema`` takes (first enum value, one item, minimum numbers)."""
    if not isinstance(schema, dict):
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return example(defs.get(ref.rsplit("/", 1)[-1]), defs)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if schema.get("anyOf"):
        return example(schema["anyOf"][0], defs)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties") or {}
        required = schema.get("required") or list(props)
        return {name: example(props[name], defs) for name in required if name in props}
    if kind == "array":
        return [example(schema.get("items"), defs)] * max(1, int(schema.get("minItems") or 0))
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    if kind == "string":
        return "text"
    return None
