"""Google's Gemini API over the official ``google-genai`` SDK.

Roles are mapped (``assistant`` -> ``model``, tool results -> ``user``),
system messages become ``system_instruction``, and consecutive messages of
one role are sent as one turn with several parts. The SDK is given an httpx
client of llmcore's own, which keeps it on httpx (it would otherwise prefer
aiohttp, which needs asyncio) and so on both asyncio and trio; its retries are
turned off in favour of llmcore's. Exact token counts come from
``countTokens``, cached per message; while it cannot be reached the offline
estimate is ``ceil(cl100k_base tokens * 1.1) + 3`` per message.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from llmcore.exceptions import ConfigError, InvalidRequestError, LLMCoreError
from llmcore.exchange import (
    ModelRequest,
    ModelResponse,
    ReasoningDelta,
    ResponseBuilder,
    ResponseInfo,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UsageEvent,
)
from llmcore.models import Message, Role, Usage
from llmcore.parts import (
    DocumentPart,
    ImagePart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    result_media,
)
from llmcore.providers import errors
from llmcore.providers.api_counted import ApiCountedProvider
from llmcore.tokens.api_counter import countable

if TYPE_CHECKING:
    from google.genai import Client

    from llmcore.tools.tool import Tool

__all__ = ["GeminiProvider", "to_gemini"]

ESTIMATE_FACTOR = 1.1
MESSAGE_OVERHEAD = 3
_MAX_THINKING = 24576  # the largest thinking budget of the Flash models
_FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}
_BLOCKED = {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY"}
_RENAMED = {"max_tokens": "max_output_tokens", "stop": "stop_sequences"}
#: The image formats Gemini reads (no GIF).
_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"})


def to_gemini(messages: Sequence[Message]) -> tuple[str | None, Any]:
    """Split messages into Gemini's ``system_instruction`` and ``contents``.

    An assistant's tool calls become ``function_call`` parts and tool results
    ``function_response`` parts of a user turn; same-role neighbours merge.
    """
    system = "\n\n".join(m.content for m in messages if m.role is Role.SYSTEM) or None
    contents: list[dict[str, Any]] = []
    for m in messages:
        if m.role is Role.SYSTEM:
            continue
        role = "model" if m.role is Role.ASSISTANT else "user"
        parts = _parts(m)
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return system, contents


def _parts(message: Message) -> list[dict[str, Any]]:
    if message.role is Role.TOOL:
        result = message.tool_result
        key = "error" if result is not None and result.is_error else "result"
        response = {
            "id": result.call_id if result is not None else None,
            "name": (result.name if result is not None else None) or "",
            "response": {key: message.content},
        }
        # A tool result's images and documents follow its response in the same turn.
        return [{"function_response": response}, *map(_media, result_media(message.parts))]
    if message.has_only_text:
        return [{"text": message.content}]
    out: list[dict[str, Any]] = []
    signature: bytes | None = None  # a thought signature, sent on the part it signed
    parts = message.current_parts()
    calls_left = sum(isinstance(p, ToolCallPart) for p in parts)
    for part in parts:
        if isinstance(part, ReasoningPart):
            # Only this provider's reasoning reaches here (see providers.compile).
            # Its signature is what Gemini needs back; thought summaries are not sent.
            if part.signature is not None:
                signature = base64.b64decode(part.signature)
            continue
        if isinstance(part, TextPart):
            wire: dict[str, Any] = {"text": part.text}
        elif isinstance(part, ToolCallPart):
            wire = {"function_call": {"id": part.id, "name": part.name, "args": part.arguments}}
            calls_left -= 1
        elif isinstance(part, ImagePart | DocumentPart):
            wire = _media(part)
        else:
            continue
        if signature is not None and ("function_call" in wire or not calls_left):
            # Gemini signs the first function call of a turn (else the text).
            wire["thought_signature"] = signature
            signature = None
        out.append(wire)
    if signature is not None and out:
        # A stream's closing signature (a part of empty text, after the answer) signs the last.
        out[-1]["thought_signature"] = signature
    return out or [{"text": message.content}]


def _media(part: ImagePart | DocumentPart) -> dict[str, Any]:
    """An image or a document: its bytes inline, or its URL."""
    if part.url is not None:
        return {"file_data": {"mime_type": part.media_type, "file_uri": part.url}}
    return {"inline_data": {"mime_type": part.media_type, "data": part.data}}


def _tools(tools: Sequence[Tool], output_tool: str | None = None) -> list[Any]:
    from google.genai import types

    from llmcore.providers.structured import gemini_schema

    declarations = [
        types.FunctionDeclaration(
            name=t.name,
            description=t.description,
            # The output tool's schema is the caller's type: inlined as for response schemas.
            parameters_json_schema=gemini_schema(t.parameters)
            if t.name == output_tool
            else t.parameters,
        )
        for t in tools
    ]
    return [types.Tool(function_declarations=declarations)]


def _name(value: object) -> str:
    """An SDK enum's name (``FinishReason.STOP`` -> ``STOP``), or the string."""
    return str(getattr(value, "name", value) or "")


class GeminiProvider(ApiCountedProvider):
    """Gemini models through ``google-genai`` (``type = "gemini"``).

    Keys: ``api_key`` (or ``GEMINI_API_KEY`` / ``GOOGLE_API_KEY``),
    ``base_url``, ``default_model``, ``timeout``, ``max_retries`` and the
    ``retry_*`` keys, ``safety_settings`` (``{"HARM_CATEGORY_HARASSMENT" =
    "BLOCK_ONLY_HIGH", ...}``), ``options`` and the context-length keys. Call
    options are ``GenerateContentConfig`` fields; ``max_tokens`` is sent as
    ``max_output_tokens`` and ``stop`` as ``stop_sequences``. A blocked prompt
    or reply raises a ``ProviderError`` of kind ``blocked``.
    """

    counter_kind = "gemini"
    estimate_factor = ESTIMATE_FACTOR
    message_overhead = MESSAGE_OVERHEAD
    known_context_lengths = {
        "gemini-2.5-pro": 1_048_576,
        "gemini-2.5-flash": 1_048_576,
        "gemini-2.0-flash": 1_048_576,
        "gemini-1.5-pro": 2_097_152,
        "gemini-1.5-flash": 1_048_576,
        "gemini-1.0-pro": 32_760,
        "gemini": 1_048_576,
        "gemma-3": 131_072,
    }
    api_key_env_vars = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    accepts = frozenset({ImagePart, DocumentPart})
    reasoning_models = ("gemini-2.5", "gemini-3")

    def check_request(self, request: ModelRequest) -> None:
        """Also refuse images in a format Gemini does not read (GIF), before sending.

        Raises:
            InvalidRequestError: before anything is sent.
        """
        super().check_request(request)
        for message in request.messages:
            for part in message.current_parts():
                if isinstance(part, ImagePart) and part.media_type not in _IMAGE_TYPES:
                    raise InvalidRequestError(
                        f"Provider {self.name!r} (model {request.model!r}) cannot take an image "
                        f"({part.media_type}) in a {message.role.value} message: Gemini reads "
                        "PNG, JPEG, WebP, HEIC and HEIF images. Convert it, or send it to "
                        "another provider."
                    )

    def make_client(self) -> Client:
        """The SDK client on an httpx client of llmcore's own, its retries off."""
        genai = self.import_sdk("google.genai", "gemini")
        import httpx

        types = genai.types
        key = self.settings.api_key
        if not key and self.settings.base_url is None:
            key = self.require_api_key()
        http = httpx.AsyncClient()
        options = types.HttpOptions(
            base_url=self.settings.base_url,
            timeout=int(self.settings.timeout * 1000),
            # One attempt: llmcore retries.
            retry_options=types.HttpRetryOptions(attempts=1),
            httpx_async_client=http,
        )
        client: Client = genai.Client(api_key=key or "not-needed", http_options=options)
        client._llmcore_http = http  # type: ignore[attr-defined]  # closed with the client
        return client

    async def close_client(self, client: Any) -> None:
        """Close the SDK client and its httpx client."""
        await client.aio.aclose()
        await client._llmcore_http.aclose()

    # -- the wire format ----------------------------------------------------

    def _config(self, system: str | None, request: ModelRequest) -> Any:
        from google.genai import types

        options = {
            _RENAMED.get(k, k): v
            for k, v in {
                **request.settings.options,
                "max_tokens": request.settings.max_tokens,
            }.items()
        }
        if isinstance(options.get("stop_sequences"), str):
            options["stop_sequences"] = [options["stop_sequences"]]
        unknown = sorted(set(options) - set(types.GenerateContentConfig.model_fields))
        if unknown:
            raise InvalidRequestError(
                f"{self.name!r} (model {request.model!r}) does not take {', '.join(unknown)}. "
                "Use GenerateContentConfig fields (temperature, top_p, top_k, max_tokens, stop, "
                "seed, ...)."
            )
        reasoning = self.reasoning_for(request)
        if reasoning is not None:
            budget = min(reasoning.as_budget(scale=2), _MAX_THINKING)
            options["thinking_config"] = types.ThinkingConfig(
                thinking_budget=budget, include_thoughts=True
            )
        if self.settings.safety_settings:
            options["safety_settings"] = self._safety_settings()
        if system is not None:
            options["system_instruction"] = system
        if request.tools:
            options["tools"] = _tools(request.tools, request.output_tool)
            # Declarations only: llmcore runs the calls itself.
            options["automatic_function_calling"] = types.AutomaticFunctionCallingConfig(
                disable=True
            )
        if request.output_tool is not None:
            options["tool_config"] = types.ToolConfig(
                function_calling_config=types.FunctionCallingConfig(
                    mode=types.FunctionCallingConfigMode.ANY,
                    allowed_function_names=[t.name for t in request.tools],
                )
            )
        elif request.output_schema is not None:
            from llmcore.providers.structured import gemini_schema

            options["response_mime_type"] = "application/json"
            options["response_json_schema"] = gemini_schema(request.output_schema)
        return types.GenerateContentConfig(**options)

    def native_output(self, request: ModelRequest) -> bool:
        """A response JSON schema; with tools too only from Gemini 3 (else a forced tool)."""
        return not request.tools or request.model.startswith(("gemini-3", "gemini-4"))

    def _safety_settings(self) -> list[Any]:
        from google.genai import types

        settings = []
        for category, threshold in self.settings.safety_settings.items():
            try:
                settings.append(
                    types.SafetySetting(
                        category=types.HarmCategory(category),
                        threshold=types.HarmBlockThreshold(threshold),
                    )
                )
            except ValueError:
                raise ConfigError(
                    f"providers.{self.name}.safety_settings has {category!r} = {threshold!r}. "
                    f"Categories: {', '.join(c.value for c in types.HarmCategory)}. "
                    f"Thresholds: {', '.join(t.value for t in types.HarmBlockThreshold)}.",
                    key=f"providers.{self.name}.safety_settings",
                ) from None
        return settings

    def encode(self, request: ModelRequest) -> tuple[Any, Any]:
        """The ``contents`` and the ``GenerateContentConfig``."""
        system, contents = to_gemini(request.messages)
        return contents, self._config(system, request)

    async def send(self, wire: tuple[Any, Any], request: ModelRequest) -> Any:
        """``generateContent``."""
        contents, config = wire
        return await self.client.aio.models.generate_content(
            model=request.model, contents=contents, config=config
        )

    def decode(self, raw: Any, request: ModelRequest) -> ModelResponse:
        """Read a ``GenerateContentResponse``."""
        builder = ResponseBuilder(provider=self.name, reasoning_model=request.model)
        for event in self._events_of(raw, request.model, final=True):
            builder.add(event)
        response = builder.build()
        response.complete = True
        return response

    async def send_stream(self, wire: tuple[Any, Any], request: ModelRequest) -> Any:
        """``streamGenerateContent?alt=sse``."""
        contents, config = wire
        return await self.client.aio.models.generate_content_stream(
            model=request.model, contents=contents, config=config
        )

    async def iterate(self, raw: Any, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """The chunks as events; every chunk repeats the running usage, reported once at the end."""
        finished = False
        calls = 0
        async for chunk in raw:
            for event in self._events_of(chunk, request.model, first_call=calls):
                if type(event) is ToolCallDelta:
                    calls += 1
                elif type(event) is ResponseInfo and event.finish_reason is not None:
                    finished = True
                yield event
        if not finished:
            raise errors.stream_cut_error(self.name, request.model)

    def _events_of(
        self, reply: Any, model: str, *, final: bool = False, first_call: int = 0
    ) -> list[StreamEvent]:
        """The events in one ``GenerateContentResponse`` (a whole reply or a chunk)."""
        feedback = getattr(reply, "prompt_feedback", None)
        if feedback is not None and feedback.block_reason:
            raise errors.blocked_error(self.name, model, f"prompt: {_name(feedback.block_reason)}")
        events: list[StreamEvent] = []
        finish = None
        if reply.candidates:
            candidate = reply.candidates[0]
            finish = _name(candidate.finish_reason) or None
            if finish in _BLOCKED:
                raise errors.blocked_error(self.name, model, f"reply: {finish}")
            for part in (candidate.content.parts if candidate.content else None) or []:
                signature = getattr(part, "thought_signature", None)
                if signature and not part.thought:
                    # Signs what follows (a function call): replayed with it, or refused.
                    events.append(ReasoningDelta(signature=base64.b64encode(signature).decode()))
                if part.function_call is not None:
                    call = part.function_call
                    index = first_call + sum(1 for e in events if type(e) is ToolCallDelta)
                    events.append(
                        ToolCallDelta(
                            index=index,
                            id=call.id or f"call_{index}",
                            name=call.name or "",
                            arguments=dict(call.args or {}),
                        )
                    )
                elif part.text and part.thought:
                    events.append(ReasoningDelta(text=part.text, summary=True))
                    if signature:
                        sealed = base64.b64encode(signature).decode()
                        events.append(ReasoningDelta(signature=sealed, summary=True))
                elif part.text:
                    events.append(TextDelta(part.text))
        meta = reply.usage_metadata
        if (finish or final) and meta is not None and meta.prompt_token_count is not None:
            thoughts = getattr(meta, "thoughts_token_count", None) or 0
            usage = Usage(
                input_tokens=meta.prompt_token_count or 0,
                output_tokens=(meta.candidates_token_count or 0) + thoughts,
                reasoning_tokens=thoughts,
            )
            events.append(UsageEvent(usage))
        reason = _FINISH.get(finish, finish.lower()) if finish else None
        events.append(ResponseInfo(model=reply.model_version, finish_reason=reason))
        return events

    def map_error(self, exc: Exception, model: str) -> Exception:
        """The SDK's API errors, and httpx's timeouts and connection failures."""
        import httpx
        from google.genai import errors as sdk_errors

        if isinstance(exc, sdk_errors.APIError):
            response = getattr(exc, "response", None)
            headers = getattr(response, "headers", None)
            return errors.status_error(
                self.name,
                model,
                int(exc.code or 500),
                str(exc.message or exc.status or ""),
                headers,
                limit=lambda: self.get_max_context_length(model),
            )
        if isinstance(exc, httpx.TimeoutException):
            return errors.timeout_error(self.name, model, self.settings.timeout)
        if isinstance(exc, httpx.ConnectError):
            url = self.settings.base_url or "the Gemini API"
            return errors.connection_error(self.name, model, url, exc)
        if isinstance(exc, ValueError | AttributeError):  # not JSON, or not the expected shape
            return errors.malformed_error(self.name, model, exc)
        return errors.stream_cut_error(self.name, model, exc)

    # -- tokens -----------------------------------------------------------

    async def _api_message_tokens(self, message: Message, model: str) -> int:
        # Its text (tool calls written out) and its images and PDFs, as a user turn.
        text, media = countable(message)
        parts = [{"text": text or "."}, *map(_media, media)]
        contents: Any = [{"role": "user", "parts": parts}]
        try:
            result = await self.client.aio.models.count_tokens(model=model, contents=contents)
        except LLMCoreError:
            raise
        except Exception as exc:
            raise self.map_error(exc, model) from exc
        return int(result.total_tokens or 0)

    async def get_available_models(self) -> list[str]:
        """List the models the API offers (``GET /v1beta/models``), without ``models/``."""
        try:
            pager = await self.client.aio.models.list()
            return sorted([str(m.name).removeprefix("models/") async for m in pager])
        except LLMCoreError:
            raise
        except Exception as exc:
            raise self.map_error(exc, "-") from exc
