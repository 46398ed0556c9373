"""Structured output: a type in, a JSON schema for the provider, a validated object out.

``chat(..., output_type=Invoice)`` accepts a msgspec ``Struct``, a
dataclass, a ``TypedDict``, a pydantic model (when pydantic is installed),
``list[...]`` of those, or a JSON-schema ``dict``. :func:`output_spec`
turns it, once per type, into an :class:`OutputSpec`: the JSON schema sent
to the provider (its root always an object: anything else is wrapped in
``{"result": ...}`` and unwrapped again), and a validator that turns the
model's JSON text into the object, or says what is wrong with it.

Providers accept different subsets of JSON Schema; the adapters here make a
schema fit (:func:`strict_schema` for OpenAI's strict mode and Anthropic,
:func:`inline_refs` for Gemini, Ollama and llama.cpp). A type that cannot
be expressed is an :class:`~llmcore.exceptions.InvalidRequestError` before
anything is sent.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from llmcore._util.memo import per_object
from llmcore.exceptions import InvalidRequestError

__all__ = ["WRAPPED", "OutputSpec", "inline_refs", "output_spec", "strict_schema"]

#: The key a non-object root is wrapped under.
WRAPPED = "result"
_UNSUPPORTED_STRICT = ("default", "title", "examples")


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """A compiled ``output_type``: its name, its schema, and how to read a reply.

    Attributes:
        name: a name for the schema (OpenAI and forced tools need one).
        schema: the JSON schema sent, rooted at an object.
        wrapped: the type's own schema is under ``schema["properties"]["result"]``.
        parse: turns the model's JSON text into the object; raises
            ``ValueError`` with a readable reason when it does not validate.
    """

    name: str
    schema: dict[str, Any]
    wrapped: bool
    parse: Callable[[str], Any]

    def read(self, text: str) -> Any:
        """The validated object the reply ``text`` holds (``ValueError`` if it does not)."""
        return self.parse(text)


def output_spec(output_type: object) -> OutputSpec:
    """The compiled spec of ``output_type`` (cached per type; a dict schema by its content).

    Raises:
        InvalidRequestError: the type cannot be expressed as a JSON schema.
    """
    if isinstance(output_type, dict):
        return _spec_of_schema(json.dumps(output_type, sort_keys=True))
    try:
        return _spec_of_type(output_type)
    except TypeError:  # not hashable: build it every time
        return _build_type_spec(output_type)


@functools.lru_cache(maxsize=256)
def _spec_of_type(output_type: Any) -> OutputSpec:
    return _build_type_spec(output_type)


def _build_type_spec(output_type: Any) -> OutputSpec:
    pydantic_model = _pydantic_model(output_type)
    if pydantic_model is not None:
        schema = pydantic_model.model_json_schema()
        name = pydantic_model.__name__
        adapter = _pydantic_parse(pydantic_model)
    else:
        try:
            schema = msgspec.json.schema(output_type)
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(
                f"output_type {output_type!r:.80} cannot be expressed as a JSON schema ({exc}). "
                "Use a msgspec Struct, a dataclass, a TypedDict, a pydantic model, a list of "
                "one of them, or a JSON-schema dict."
            ) from None
        name = getattr(output_type, "__name__", None) or "output"
        decoder = msgspec.json.Decoder(output_type)
        adapter = _msgspec_parse(decoder)
    schema, wrapped = _rooted(schema)
    parse = _unwrapping(adapter) if wrapped else adapter
    return OutputSpec(name=_name(name), schema=schema, wrapped=wrapped, parse=parse)


@functools.lru_cache(maxsize=256)
def _spec_of_schema(text: str) -> OutputSpec:
    schema = json.loads(text)
    if not isinstance(schema, dict) or not schema:
        raise InvalidRequestError("output_type as a dict must be a JSON schema object.")
    validate = _schema_validator(schema)
    rooted, wrapped = _rooted(schema)

    def parse(reply: str) -> Any:
        data = _json(reply)
        value = data.get(WRAPPED) if wrapped and isinstance(data, dict) else data
        validate(value)
        return value

    return OutputSpec(
        name=_name(str(schema.get("title") or "output")),
        schema=rooted,
        wrapped=wrapped,
        parse=parse,
    )


def _name(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_-" else "_" for c in text)[:64]
    return cleaned or "output"


def _rooted(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The schema with an object at its root (a root ``$ref`` resolved; others wrapped)."""
    schema = copy.deepcopy(schema)
    defs = schema.get("$defs", {})
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and len(schema) <= 2:
        target = copy.deepcopy(defs[ref.removeprefix("#/$defs/")])
        if target.get("type") == "object":
            used = _used_defs(target, defs)
            if used:
                target["$defs"] = {name: defs[name] for name in defs if name in used}
            return target, False
    if schema.get("type") == "object":
        return schema, False
    body = {k: v for k, v in schema.items() if k != "$defs"}
    wrapped: dict[str, Any] = {
        "type": "object",
        "properties": {WRAPPED: body},
        "required": [WRAPPED],
    }
    if defs:
        wrapped["$defs"] = defs
    return wrapped, True


def _used_defs(root: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    """The definitions ``root`` refers to, directly or through each other."""
    used: set[str] = set()
    todo: list[Any] = [root]
    while todo:
        node = todo.pop()
        if isinstance(node, list):
            todo.extend(node)
        elif isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref.removeprefix("#/$defs/")
                if name not in used and name in defs:
                    used.add(name)
                    todo.append(defs[name])
            todo.extend(v for k, v in node.items() if k != "$defs")
    return used


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"the reply is not JSON ({exc})") from None


def _msgspec_parse(decoder: msgspec.json.Decoder[Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return decoder.decode(text)
        except msgspec.ValidationError as exc:
            raise ValueError(str(exc)) from None
        except msgspec.DecodeError as exc:
            raise ValueError(f"the reply is not JSON ({exc})") from None

    return parse


def _unwrapping(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def unwrap(text: str) -> Any:
        data = _json(text)
        if not isinstance(data, dict) or WRAPPED not in data:
            raise ValueError(f"expected an object with the key {WRAPPED!r}")
        return parse(json.dumps(data[WRAPPED]))

    return unwrap


def _pydantic_model(output_type: object) -> Any:
    """``output_type`` if it is a pydantic model class (pydantic imported only if loaded)."""
    import sys

    pydantic = sys.modules.get("pydantic")
    if pydantic is None or not isinstance(output_type, type):
        return None
    return output_type if issubclass(output_type, pydantic.BaseModel) else None


def _pydantic_parse(model: Any) -> Callable[[str], Any]:
    import pydantic

    def parse(text: str) -> Any:
        try:
            return model.model_validate_json(text)
        except pydantic.ValidationError as exc:
            raise ValueError(str(exc)) from None

    return parse


def _schema_validator(schema: dict[str, Any]) -> Callable[[Any], None]:
    try:
        import jsonschema
    except ImportError:
        raise InvalidRequestError(
            "Validating against a JSON-schema dict needs the jsonschema package: "
            "pip install 'llmcore[jsonschema]', or pass a type (a msgspec Struct, a dataclass...)."
        ) from None
    try:
        validator = jsonschema.validators.validator_for(schema)(schema)
        validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise InvalidRequestError(
            f"output_type is not a valid JSON schema: {exc.message}"
        ) from None

    def validate(value: Any) -> None:
        problems = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
        if problems:
            raise ValueError("; ".join(f"{_where(e.path)}: {e.message}" for e in problems[:10]))

    return validate


def _where(path: Any) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


# -- adapting a schema to a provider ------------------------------------------


def strict_schema(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The schema in the form strict modes take (OpenAI's, Anthropic's), and whether it can be.

    Every object gets ``additionalProperties: false`` and all its properties
    required (an optional one stays nullable, so the model sends ``null``);
    keywords strict mode refuses (``default``, ``title``) go. A map (an
    object with free keys) cannot be strict: ``False`` then, and the schema
    is sent without strict mode.
    """
    out = copy.deepcopy(schema)
    strict = True

    def visit(node: Any) -> None:
        nonlocal strict
        if isinstance(node, list):
            for item in node:
                visit(item)
            return
        if not isinstance(node, dict):
            return
        for key in _UNSUPPORTED_STRICT:
            node.pop(key, None)
        if node.get("type") == "object":
            extra = node.get("additionalProperties")
            if isinstance(extra, dict) or "properties" not in node:
                strict = False
            else:
                node["additionalProperties"] = False
                node["required"] = list(node["properties"])
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for child in value.values():
                    visit(child)
            elif key in ("items", "anyOf", "oneOf", "allOf", "$defs", "prefixItems"):
                visit(list(value.values()) if isinstance(value, dict) else value)

    visit(out)
    return out, strict


@per_object
def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every ``$ref`` replaced by its definition (Gemini, Ollama, llama.cpp).

    Kept per schema object (an output type's schema is built once), so a
    repeated request does not inline it again.

    Raises:
        InvalidRequestError: a type refers to itself (recursion cannot be inlined).
    """
    return _inline(schema)


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    defs = schema.get("$defs", {})

    def resolve(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [resolve(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name in seen:
                raise InvalidRequestError(
                    f"output_type refers to itself ({' -> '.join((*seen, name))}); this provider "
                    "takes no recursive schemas. Use a type without recursion."
                )
            merged = {**defs.get(name, {}), **{k: v for k, v in node.items() if k != "$ref"}}
            return resolve(merged, (*seen, name))
        return {k: resolve(v, seen) for k, v in node.items() if k != "$defs"}

    resolved: dict[str, Any] = resolve(schema, ())
    return resolved
