"""The OpenTelemetry GenAI semantic conventions as llmcore applies them.

The attribute names are those of ``opentelemetry-semantic-conventions``
0.66b2 (the GenAI attributes it ships, schema 1.44.0). They are written out
here rather than imported: that package is not a dependency of the ``otel``
extra, and its GenAI module is marked incubating. ``tests/observability``
checks every name against the installed package, so moving to a newer
version of the conventions is a deliberate change.

This module turns a Turn into attribute values: what was asked
(:func:`request_attributes`), what came back (:func:`response_attributes`),
and, only when ``[observability] capture_content`` is on, the messages
themselves in the conventions' JSON shape (:func:`content_attributes`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from llmcore._util.redact import redact_text
from llmcore.parts import (
    DocumentPart,
    ImagePart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)

if TYPE_CHECKING:
    from llmcore.exchange import ModelResponse
    from llmcore.models import Message
    from llmcore.turn import Turn

__all__ = [
    "SCHEMA_URL",
    "SEMCONV_VERSION",
    "content_attributes",
    "provider_name",
    "request_attributes",
    "response_attributes",
]

#: The ``opentelemetry-semantic-conventions`` release these names follow.
SEMCONV_VERSION = "0.66b2"
#: The schema of that release, given to the tracer.
SCHEMA_URL = "https://opentelemetry.io/schemas/1.44.0"

OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
CONVERSATION_ID = "gen_ai.conversation.id"
REQUEST_MODEL = "gen_ai.request.model"
REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
REQUEST_TEMPERATURE = "gen_ai.request.temperature"
REQUEST_TOP_P = "gen_ai.request.top_p"
REQUEST_TOP_K = "gen_ai.request.top_k"
REQUEST_SEED = "gen_ai.request.seed"
REQUEST_FREQUENCY_PENALTY = "gen_ai.request.frequency_penalty"
REQUEST_PRESENCE_PENALTY = "gen_ai.request.presence_penalty"
REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
REQUEST_STREAM = "gen_ai.request.stream"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_ID = "gen_ai.response.id"
RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
USAGE_REASONING_TOKENS = "gen_ai.usage.reasoning.output_tokens"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
TOOL_DEFINITIONS = "gen_ai.tool.definitions"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_DESCRIPTION = "gen_ai.tool.description"
TOOL_TYPE = "gen_ai.tool.type"
TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT = "gen_ai.tool.call.result"
EMBEDDINGS_DIMENSION_COUNT = "gen_ai.embeddings.dimension.count"
#: Stable (not GenAI): the class of the error that ended an operation.
ERROR_TYPE = "error.type"

#: The conventions' names for providers, by llmcore provider or embedder type.
_PROVIDER_NAMES = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gcp.gemini",
    "google": "gcp.gemini",
    "groq": "groq",
    "deepseek": "deepseek",
    "mistral": "mistral_ai",
    "mistral_ai": "mistral_ai",
    "perplexity": "perplexity",
    "xai": "x_ai",
    "x_ai": "x_ai",
    "cohere": "cohere",
}

#: Request options recorded as attributes, when they have the conventions' type.
_OPTIONS = {
    "temperature": (REQUEST_TEMPERATURE, (int, float)),
    "top_p": (REQUEST_TOP_P, (int, float)),
    "top_k": (REQUEST_TOP_K, (int, float)),
    "seed": (REQUEST_SEED, (int,)),
    "frequency_penalty": (REQUEST_FREQUENCY_PENALTY, (int, float)),
    "presence_penalty": (REQUEST_PRESENCE_PENALTY, (int, float)),
}


def provider_name(section: str, kind: str | None = None) -> str:
    """``gen_ai.provider.name`` of a provider: the conventions' name where there is one.

    ``section`` is the ``[providers.NAME]`` section and ``kind`` its ``type``:
    ``[providers.groq] type = "openai"`` is ``groq``, ``[providers.my_vllm]
    type = "openai"`` is ``openai``, Gemini is ``gcp.gemini``; a type the
    conventions do not name (``ollama``, ``local``) is used as it is.
    """
    return _PROVIDER_NAMES.get(section) or _PROVIDER_NAMES.get(kind or "") or kind or section


def request_attributes(turn: Turn, provider: str) -> dict[str, Any]:
    """What the turn asks of the model: operation, provider, model, settings, session."""
    attributes: dict[str, Any] = {
        OPERATION: "chat",
        PROVIDER: provider,
        REQUEST_MODEL: turn.model,
        REQUEST_STREAM: turn.stream,
        "llmcore.provider": turn.provider_name,
        "llmcore.pipeline": turn.pipeline,
    }
    if turn.session_id is not None:
        attributes[CONVERSATION_ID] = turn.session_id
    settings = turn.settings
    if settings is not None:
        attributes[REQUEST_MAX_TOKENS] = settings.max_tokens
        for option, (name, types) in _OPTIONS.items():
            value = settings.options.get(option)
            if isinstance(value, types) and not isinstance(value, bool):
                attributes[name] = value
        stop = settings.options.get("stop")
        if isinstance(stop, str):
            stop = [stop]
        if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
            attributes[REQUEST_STOP_SEQUENCES] = stop
    return attributes


def response_attributes(turn: Turn, left_out: int) -> dict[str, Any]:
    """What came back (model, finish reason, usage) and what the context left out."""
    response = turn.response
    attributes: dict[str, Any] = {}
    if response.model:
        attributes[RESPONSE_MODEL] = response.model
    response_id = response.details.get("id")
    if isinstance(response_id, str):
        attributes[RESPONSE_ID] = response_id
    if response.finish_reason:
        attributes[RESPONSE_FINISH_REASONS] = [response.finish_reason]
    usage = response.usage
    if usage is not None:
        attributes[USAGE_INPUT_TOKENS] = usage.input_tokens
        attributes[USAGE_OUTPUT_TOKENS] = usage.output_tokens
        if usage.reasoning_tokens:
            attributes[USAGE_REASONING_TOKENS] = usage.reasoning_tokens
    if response.interrupted:
        attributes["llmcore.response.interrupted"] = True
    rounds = turn.state.get("tool_rounds")
    if isinstance(rounds, int):
        attributes["llmcore.tool_rounds"] = rounds
    if turn.budget.limit:
        attributes["llmcore.context.window"] = turn.budget.limit
        attributes["llmcore.context.history_sent"] = len(turn.history)
        attributes["llmcore.context.history_left_out"] = left_out
        attributes["llmcore.context.documents_sent"] = len(turn.documents)
        attributes["llmcore.context.documents_left_out"] = len(turn.context.dropped_documents)
    return attributes


def content_attributes(turn: Turn) -> dict[str, str]:
    """The messages sent and received, in the conventions' JSON (``capture_content`` only).

    Registered secrets and credential shapes are masked, as in logs; the
    bytes of images and documents are never recorded, only their type.
    """
    attributes: dict[str, str] = {}
    messages = turn.request.messages if turn.request is not None else turn.payload
    system = [p for m in messages if m.role.value == "system" for p in _parts(m)]
    if system:
        attributes[SYSTEM_INSTRUCTIONS] = _json(system)
    chat = [_message(m) for m in messages if m.role.value != "system"]
    if chat:
        attributes[INPUT_MESSAGES] = _json(chat)
    if turn.response.parts:
        attributes[OUTPUT_MESSAGES] = _json([_output(turn.response)])
    if turn.tools:
        attributes[TOOL_DEFINITIONS] = _json(
            [
                {
                    "type": "function",
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                }
                for t in turn.tools
            ]
        )
    return attributes


def content_json(value: Any) -> str:
    """A value as the JSON text of a content attribute, secrets masked."""
    return _json(value)


def _json(value: Any) -> str:
    return redact_text(json.dumps(value, ensure_ascii=False, default=str))


def _message(message: Message) -> dict[str, Any]:
    return {"role": message.role.value, "parts": list(_parts(message))}


def _output(response: ModelResponse) -> dict[str, Any]:
    output: dict[str, Any] = {"role": "assistant", "parts": list(_part_list(response.parts))}
    if response.finish_reason:
        output["finish_reason"] = response.finish_reason
    return output


def _parts(message: Message) -> Iterable[dict[str, Any]]:
    return _part_list(message.parts)


def _part_list(parts: Iterable[object]) -> Iterable[dict[str, Any]]:
    for part in parts:
        if isinstance(part, TextPart):
            yield {"type": "text", "content": part.text}
        elif isinstance(part, ToolCallPart):
            yield {
                "type": "tool_call",
                "id": part.id,
                "name": part.name,
                "arguments": part.arguments,
            }
        elif isinstance(part, ToolResultPart):
            yield {"type": "tool_call_response", "id": part.call_id, "response": part.content}
        elif isinstance(part, ReasoningPart) and part.text:
            yield {"type": "reasoning", "content": part.text}
        elif isinstance(part, ImagePart | DocumentPart):
            modality = "image" if isinstance(part, ImagePart) else "document"
            if part.url is not None:
                yield {
                    "type": "uri",
                    "modality": modality,
                    "mime_type": part.media_type,
                    "uri": part.url,
                }
            else:  # the bytes stay out of the trace
                yield {"type": "blob", "modality": modality, "mime_type": part.media_type}
