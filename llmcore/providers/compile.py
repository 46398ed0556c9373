"""A conversation compiled for the provider it goes to next.

A session can move between providers (OpenAI, then Anthropic, then
Gemini...): its history holds tool-call ids in one provider's format,
reasoning blocks signed by another, provider-native content. Before each
request, :func:`compile_request` makes the history valid for the target,
without changing the stored session:

- tool-call ids the target would refuse (its pattern or length), or that
  repeat, are rewritten, the same way in the call and in its results;
- reasoning written by another provider or model is dropped, or sent as
  plain text (``[context_management] foreign_reasoning``), because only the
  model that signed it accepts it back;
- provider-native parts go only to the provider that produced them.

What was changed is listed in ``request.notes`` (and so in the Turn's trace).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import TYPE_CHECKING

import msgspec

from llmcore.exchange import ModelRequest
from llmcore.models import Message
from llmcore.parts import (
    NativePart,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    text_of,
)

if TYPE_CHECKING:
    from llmcore.providers.base import BaseProvider

__all__ = ["compile_request", "safe_call_id"]

_NEEDS_LOOK = (ReasoningPart, NativePart, ToolCallPart, ToolResultPart)


def safe_call_id(call_id: str, pattern: re.Pattern[str]) -> str:
    """``call_id`` if ``pattern`` takes it, else a stable id it takes (the same for the result)."""
    if pattern.fullmatch(call_id):
        return call_id
    return "call_" + hashlib.sha256(call_id.encode()).hexdigest()[:24]


def compile_request(provider: BaseProvider, request: ModelRequest) -> ModelRequest:
    """``request`` made valid for ``provider``: the same object if nothing had to change."""
    ids = _CallIds(provider.tool_call_id_pattern)
    messages: list[Message] | None = None
    notes: list[str] = []
    for index, message in enumerate(request.messages):
        parts = message.current_parts()
        if not any(isinstance(p, _NEEDS_LOOK) for p in parts):
            continue
        new = _compile_parts(provider, request, parts, ids, notes)
        if new is None:
            continue
        if messages is None:
            messages = list(request.messages)
        # A copy: the stored session is never changed by this.
        messages[index] = msgspec.structs.replace(message, parts=new, content=text_of(new))
    if messages is None:
        return request
    request.notes.extend(n for n in dict.fromkeys(notes) if n not in request.notes)
    return replace(request, messages=messages)


class _CallIds:
    """The ids a request's tool calls go out with: the target's form, and each one once.

    Providers that give calls no id (Gemini, Ollama) leave llmcore to name
    them per reply (``call_0``...), so a history can repeat an id, which
    Anthropic refuses; a repeated id is renamed, in its call and its results.
    """

    def __init__(self, pattern: re.Pattern[str] | None):
        self.pattern = pattern
        self.used: set[str] = set()
        self.current: dict[str, str] = {}  # an id as stored -> as sent, for its results

    def _valid(self, call_id: str) -> str:
        return call_id if self.pattern is None else safe_call_id(call_id, self.pattern)

    def call(self, call_id: str) -> str:
        sent = self._valid(call_id)
        if sent in self.used:
            digest = hashlib.sha256(f"{call_id}#{len(self.used)}".encode()).hexdigest()
            sent = "call_" + digest[:24]
        self.used.add(sent)
        self.current[call_id] = sent
        return sent

    def result(self, call_id: str) -> str:
        return self.current.get(call_id) or self._valid(call_id)


def _compile_parts(
    provider: BaseProvider,
    request: ModelRequest,
    parts: list[Part],
    ids: _CallIds,
    notes: list[str],
) -> list[Part] | None:
    out: list[Part] = []
    changed = False
    for part in parts:
        if isinstance(part, ReasoningPart):
            # Stamped with the model as asked (an alias stays the alias), so a replay
            # to that model matches whatever snapshot answered.
            if part.provider == provider.name and part.model in (None, request.model):
                out.append(part)
                continue
            changed = True
            source = f"{part.provider or 'another provider'}/{part.model or '?'}"
            if request.foreign_reasoning == "text" and part.text:
                out.append(TextPart(f"(Reasoning by {source}: {part.text})"))
                notes.append(f"reasoning by {source} sent as text")
            else:
                notes.append(f"reasoning by {source} dropped (it is only valid there)")
        elif isinstance(part, NativePart):
            if part.provider == provider.name:
                out.append(part)
            else:
                changed = True
                notes.append(f"{part.provider}-native content left out")
        elif isinstance(part, ToolCallPart):
            new_id = ids.call(part.id)
            if new_id != part.id:
                changed = True
                notes.append(f"tool-call ids rewritten for {provider.name}")
                part = msgspec.structs.replace(part, id=new_id)
            out.append(part)
        elif isinstance(part, ToolResultPart):
            new_id = ids.result(part.call_id)
            if new_id != part.call_id:
                changed = True
                part = msgspec.structs.replace(part, call_id=new_id)
            out.append(part)
        else:
            out.append(part)
    return out if changed else None
