"""Tools: a name, a description, a JSON schema for the arguments, and a call.

Plain Python functions (sync or async) become tools with :func:`as_tool`:
the schema comes from the type hints (through msgspec, which also validates
and converts the model's arguments) and the descriptions from the
docstring's first paragraph and its ``Args:`` section. Anything with the
same four attributes (``name``, ``description``, ``parameters``,
``async call(arguments)``) is a tool too; MCP tools are.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import anyio.to_thread
import msgspec

from llmcore.exceptions import InvalidRequestError
from llmcore.parts import DocumentPart, ImagePart, TextPart

__all__ = ["FunctionTool", "Tool", "ToolResult", "as_tool", "tool"]

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(slots=True)
class ToolResult:
    """What a tool returned: text for the model, whether it failed, and its richer content.

    Attributes:
        content: the result as text; what the model gets from every provider.
        is_error: the tool failed (``content`` says how).
        structured: the result's structured content (JSON), if any.
        parts: the result's own content as parts (text, images, documents),
            when it holds more than ``content`` says. Kept with the tool
            message (a session stores them), sent to providers that take them.

    A function tool may return a ToolResult itself, e.g. to hand back an image::

        @tool()
        def chart() -> ToolResult:
            image = ImagePart(media_type="image/png", data=draw())
            return ToolResult("[chart: image/png]", parts=[image])
    """

    content: str
    is_error: bool = False
    structured: Any = None
    parts: list[TextPart | ImagePart | DocumentPart] = field(default_factory=list)


@runtime_checkable
class Tool(Protocol):
    """Something the model can call."""

    name: str
    description: str
    parameters: dict[str, Any]  # a JSON schema of an object

    async def call(self, arguments: dict[str, Any]) -> ToolResult:
        """Run the tool with the model's arguments."""
        ...


class FunctionTool:
    """A Python function (sync or async) offered to the model as a tool.

    Sync functions run in a worker thread, so they never block the event
    loop. Arguments are validated and converted with the function's type
    hints before the call; a mismatch is returned to the model as an error.
    """

    def __init__(
        self, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None
    ):
        self.fn = fn
        self.name = name or fn.__name__
        if not _NAME.match(self.name):
            raise InvalidRequestError(
                f"Tool name {self.name!r} is invalid: use 1-64 letters, digits, '_' or '-'."
            )
        summary, params_doc = _parse_docstring(inspect.getdoc(fn) or "")
        self.description = description or summary or self.name
        self._args_type, self.parameters = _arguments_schema(fn, params_doc)
        self._is_async = inspect.iscoroutinefunction(fn)

    async def call(self, arguments: dict[str, Any]) -> ToolResult:
        """Validate the arguments, run the function, return its result (text, or its ToolResult)."""
        try:
            args = msgspec.convert(arguments, self._args_type, strict=False)
        except msgspec.ValidationError as exc:
            return ToolResult(f"Invalid arguments for {self.name}: {exc}", is_error=True)
        kwargs = {f: getattr(args, f) for f in args.__struct_fields__}
        if self._is_async:
            value = await self.fn(**kwargs)
        else:
            value = await anyio.to_thread.run_sync(lambda: self.fn(**kwargs))
        if isinstance(value, ToolResult):  # text, error flag and parts chosen by the function
            return value
        return ToolResult(_to_text(value))

    def __repr__(self) -> str:
        return f"FunctionTool({self.name!r})"


def as_tool(obj: Any) -> Tool:
    """Return ``obj`` as a Tool: a Tool as is, a function wrapped.

    Raises:
        InvalidRequestError: ``obj`` is neither.
    """
    if isinstance(obj, Tool):
        return obj
    if callable(obj) and (inspect.isfunction(obj) or inspect.ismethod(obj)):
        return FunctionTool(obj)
    raise InvalidRequestError(
        f"{obj!r} is not a tool: pass a function (sync or async) or an object with name, "
        "description, parameters and an async call(arguments) method."
    )


def tool(
    *, name: str | None = None, description: str | None = None
) -> Callable[[Callable[..., Any]], FunctionTool]:
    """Decorator form of :class:`FunctionTool`, to set a name or description."""

    def wrap(fn: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(fn, name=name, description=description)

    return wrap


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Awaitable):  # pragma: no cover - defensive
        raise TypeError("a sync tool returned an awaitable; declare it async")
    try:
        return msgspec.json.encode(value).decode()
    except TypeError:
        return str(value)


def _arguments_schema(
    fn: Callable[..., Any], descriptions: dict[str, str]
) -> tuple[type[msgspec.Struct], dict[str, Any]]:
    hints = inspect.get_annotations(fn, eval_str=True)
    fields: list[Any] = []
    for pname, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise InvalidRequestError(
                f"Tool {fn.__name__!r}: *args/**kwargs cannot be described to a model."
            )
        annotation = hints.get(pname, Any)
        if param.default is inspect.Parameter.empty:
            fields.append((pname, annotation))
        else:
            fields.append((pname, annotation, param.default))
    struct = msgspec.defstruct(
        f"{fn.__name__}_args", fields, kw_only=True, forbid_unknown_fields=True
    )
    try:
        schema = msgspec.json.schema(struct)
    except TypeError as exc:
        raise InvalidRequestError(
            f"Tool {fn.__name__!r}: a parameter type has no JSON schema: {exc}"
        ) from exc
    defs = schema.pop("$defs", {})
    params = dict(defs.pop(struct.__name__))
    params.pop("title", None)
    for pname, text in descriptions.items():
        if pname in params.get("properties", {}):
            params["properties"][pname]["description"] = text
    if defs:
        params["$defs"] = defs
    return struct, params


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The first paragraph, and ``name: text`` entries of an ``Args:`` section."""
    summary = doc.split("\n\n", 1)[0].strip().replace("\n", " ")
    params: dict[str, str] = {}
    match = re.search(r"^(?:Args|Arguments|Parameters):\s*\n((?:[ \t]+.*\n?)+)", doc, re.M)
    if match:
        current = None
        for line in match.group(1).splitlines():
            entry = re.match(r"^\s{1,8}(\w+)(?:\s*\([^)]*\))?:\s*(.*)$", line)
            if entry:
                current = entry.group(1)
                params[current] = entry.group(2).strip()
            elif current and line.strip():
                params[current] += " " + line.strip()
    return summary, params
