"""Map environment variable names onto configuration keys using the schema.

``LLMCORE_PROVIDERS_OPENAI_API_KEY`` is ambiguous on its own (is the key
``openai_api.key``?), so the name is matched against the schema: struct
fields are matched by name, and the names inside dict sections such as
``[providers]`` are matched against the sections already configured, or
found by stripping a known field name from the end (``GROQ_API_KEY`` ->
``groq`` + ``api_key``). A double underscore is an explicit separator.

The keys of the ``[llmcore]`` section also have a short form without the
repeated section name: ``LLMCORE_DEFAULT_PROVIDER`` is
``LLMCORE_LLMCORE_DEFAULT_PROVIDER`` (which wins when both are set).
"""

from __future__ import annotations

import types
import typing
from functools import cache
from typing import Any

import msgspec

from llmcore.config.schema import LLMCoreConfig

__all__ = ["all_keys", "describe", "is_short_form", "literal_choices", "resolve"]

#: The section whose keys may drop its name: LLMCORE_DEFAULT_PROVIDER.
SHORT_FORM_SECTION = "llmcore"


@cache
def describe(tp: Any) -> tuple[str, dict[str, Any]]:
    """Classify a schema type.

    Returns ``("struct", {field: type})``, ``("dict_of_struct", {"*": type})``
    or ``("leaf", {})``.
    """
    tp = _strip(tp)
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        hints = typing.get_type_hints(tp, include_extras=False)
        return "struct", {f: hints[f] for f in tp.__struct_fields__}
    if typing.get_origin(tp) is dict:
        value = _strip(typing.get_args(tp)[1])
        if isinstance(value, type) and issubclass(value, msgspec.Struct):
            return "dict_of_struct", {"*": value}
    return "leaf", {}


def _strip(tp: Any) -> Any:
    """Remove ``Annotated`` and ``| None`` wrappers."""
    if typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return _strip(args[0])
    return tp


def _wants_text(tp: Any) -> bool:
    """Whether a leaf is a string, so its raw value must not be JSON-parsed."""
    return _strip(tp) is str


def resolve(
    name: str, merged: dict[str, Any], *, short_forms: bool = True
) -> tuple[tuple[str, ...], bool] | None:
    """Resolve the part of a variable name after the prefix to a key path.

    Returns the key path and whether the leaf is a string, or ``None`` when
    the name matches no key. ``short_forms`` accepts ``DEFAULT_PROVIDER``
    for ``llmcore.default_provider`` (only sensible after a prefix).
    """
    text = name.lower().replace("__", ".")
    found = _resolve(text, LLMCoreConfig, merged)
    if found is None and short_forms:
        found = _short_form(text)
    return found


def _short_form(text: str) -> tuple[tuple[str, ...], bool] | None:
    fields = describe(describe(LLMCoreConfig)[1][SHORT_FORM_SECTION])[1]
    if text in fields:
        return ((SHORT_FORM_SECTION, text), _wants_text(fields[text]))
    return None


def is_short_form(name: str) -> bool:
    """Whether ``name`` (after the prefix) is the short form of an ``[llmcore]`` key."""
    text = name.lower().replace("__", ".")
    return _resolve(text, LLMCoreConfig, {}) is None and _short_form(text) is not None


def _resolve(text: str, tp: Any, data: Any) -> tuple[tuple[str, ...], bool] | None:
    kind, fields = describe(tp)
    if kind == "struct":
        for key in sorted(fields, key=len, reverse=True):
            found = _descend(text, key, fields[key], data)
            if found:
                return found
        return None
    if kind == "dict_of_struct":
        value_type = fields["*"]
        existing = data if isinstance(data, dict) else {}
        for key in sorted(existing, key=len, reverse=True):
            found = _descend(text, key.lower(), value_type, existing.get(key))
            if found:
                return ((key, *found[0][1:]), found[1])
        # A section not configured yet: "<name>.<field>" or "<name>_<field>".
        if "." in text:
            head, rest = text.split(".", 1)
            inner = _resolve(rest, value_type, None)
            return ((head, *inner[0]), inner[1]) if inner else None
        _, inner_fields = describe(value_type)
        for key in sorted(inner_fields, key=len, reverse=True):
            if text.endswith("_" + key) and len(text) > len(key) + 1:
                head = text[: -len(key) - 1]
                return ((head, key), _wants_text(inner_fields[key]))
        # A table inside it: "<name>_oauth_client_id" ([mcp.servers.NAME.oauth]).
        for key in sorted(inner_fields, key=len, reverse=True):
            at = text.find(f"_{key}_")
            if at > 0 and describe(inner_fields[key])[0] == "struct":
                inner = _resolve(text[at + 1 :], value_type, None)
                if inner:
                    return ((text[:at], *inner[0]), inner[1])
    return None


def _descend(text: str, key: str, tp: Any, data: Any) -> tuple[tuple[str, ...], bool] | None:
    if text == key:
        return ((key,), _wants_text(tp))
    for sep in ("_", "."):
        if text.startswith(key + sep):
            child = data.get(key) if isinstance(data, dict) else None
            inner = _resolve(text[len(key) + 1 :], tp, child)
            if inner:
                return ((key, *inner[0]), inner[1])
    return None


def all_keys(merged: dict[str, Any]) -> list[str]:
    """Every dotted leaf key the schema knows, for "did you mean" hints."""
    out: list[str] = []

    def walk(tp: Any, data: Any, prefix: str) -> None:
        kind, fields = describe(tp)
        if kind == "struct":
            for key, sub in fields.items():
                walk(sub, data.get(key) if isinstance(data, dict) else None, f"{prefix}{key}.")
        elif kind == "dict_of_struct" and isinstance(data, dict):
            for key in data:
                walk(fields["*"], data[key], f"{prefix}{key}.")
        else:
            out.append(prefix.rstrip("."))

    walk(LLMCoreConfig, merged, "")
    return [k.replace(".", "_") for k in out]


def literal_choices(dotted: str) -> tuple[Any, ...]:
    """The allowed values of a ``Literal`` key such as ``storage.session.type``."""
    tp: Any = LLMCoreConfig
    for part in dotted.split("."):
        kind, fields = describe(tp)
        if kind == "struct" and part in fields:
            tp = fields[part]
        elif kind == "dict_of_struct":
            tp = fields["*"]
        else:
            return ()
    tp = _strip(tp)
    return typing.get_args(tp) if typing.get_origin(tp) is typing.Literal else ()
