"""LLMCore: the facade applications use.

It loads the configuration, builds the shared :class:`~llmcore.services.Services`
and the pipelines, and runs a :class:`~llmcore.turn.Turn` through a pipeline
for each chat call.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Generator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Unpack, overload

from llmcore._util.awaitable import must_await
from llmcore.api_mcp import MCPMethods
from llmcore.api_rag import VectorStoreMethods
from llmcore.api_sessions import SessionMethods
from llmcore.chat_options import ChatOptions, split_options
from llmcore.config.loader import ResolvedConfig, load_config
from llmcore.config.schema import LLMCoreConfig
from llmcore.exceptions import ConfigError, InvalidRequestError, PipelineError
from llmcore.mcp.handlers import MCPHandlers
from llmcore.pipeline import Pipeline, PipelineLoader
from llmcore.pipeline.stream import ChatStream, StreamRegistry
from llmcore.providers.base import resolve_settings
from llmcore.providers.models import check_model_name
from llmcore.services import Services
from llmcore.storage.sessions.base import check_session_id
from llmcore.turn import RagRequest, Turn

if TYPE_CHECKING:
    from llmcore.mcp.requests import MCPContext
    from llmcore.tools.tool import Tool


__all__ = ["LLMCore"]

logger = logging.getLogger("llmcore")
logger.addHandler(logging.NullHandler())


_T = TypeVar("_T")


def _check_rounds(rounds: object) -> int | None:
    if rounds is not None and (not isinstance(rounds, int) or rounds < 0):
        raise InvalidRequestError(
            f"max_tool_rounds must be a non-negative integer, got {rounds!r}."
        )
    return rounds


def _check_handlers(handlers: object) -> MCPHandlers | None:
    if handlers is None or isinstance(handlers, MCPHandlers):
        return handlers
    raise InvalidRequestError(
        f"mcp_handlers must be an llmcore.mcp.MCPHandlers, got {type(handlers).__name__}: "
        "pass MCPHandlers(on_elicit=your_function)."
    )


def _check_retries(retries: object) -> int | None:
    if retries is None or (type(retries) is int and retries >= 0):
        return retries
    raise InvalidRequestError(
        f"output_retries must be a whole number >= 0, got {retries!r}: how many times a reply "
        "that does not match output_type goes back to the model."
    )


def _check_resource_ref(ref: object) -> str:
    from llmcore.mcp.context import parse_resource_ref

    parse_resource_ref(ref)  # type: ignore[arg-type]
    return ref  # type: ignore[return-value]


class LLMCore(SessionMethods, VectorStoreMethods, MCPMethods):
    """One async API over many LLM providers, with sessions, context management and RAG.

    Args:
        config_overrides: highest-precedence settings, with dot keys
            (``{"providers.openai.default_model": "gpt-4o"}``).
        config_file_path: a TOML or JSON config file, read above the user's.
        env_prefix: prefix of environment variables to read (``LLMCORE`` reads
            ``LLMCORE_PROVIDERS_OPENAI_API_KEY``...); ``None`` ignores the
            environment and ``.env``.
        dotenv_path: the ``.env`` file to read; ``None`` skips it.
        user_config: read the user's config file,
            ``$XDG_CONFIG_HOME/llmcore/config.toml``
            (``~/.config/llmcore/config.toml``), when it exists; ``False``
            skips it (an application that wants only its own settings).
        mcp_handlers: how the application answers MCP servers that ask
            for input mid-call (:class:`~llmcore.mcp.handlers.MCPHandlers`
            with ``on_elicit``); a call's own ``mcp_handlers`` win over it.

    Raises:
        ConfigError: the configuration is invalid.
        PipelineError: the default pipeline definition is invalid.

    Use it as an async context manager, or call :meth:`close` when done::

        async with LLMCore() as llm:
            print(await llm.chat("Hello!"))
    """

    def __init__(
        self,
        config_overrides: Mapping[str, Any] | None = None,
        config_file_path: str | os.PathLike[str] | None = None,
        env_prefix: str | None = "LLMCORE",
        *,
        dotenv_path: str | os.PathLike[str] | None = ".env",
        user_config: bool = True,
        mcp_handlers: MCPHandlers | None = None,
    ):
        self._resolved: ResolvedConfig = load_config(
            overrides=config_overrides,
            file_path=config_file_path,
            env_prefix=env_prefix,
            dotenv_path=dotenv_path,
            user_config=user_config,
        )
        config = self._resolved.config
        logger.setLevel(config.llmcore.log_level)
        self._services = Services(config)
        folders = [path.parent for path in self._resolved.files]  # stages next to config files
        self._pipelines = PipelineLoader(self._services, config.pipelines.paths, folders)
        self._global_tools: list[Tool] | None = None
        self._mcp_handlers = _check_handlers(mcp_handlers)
        self._streams = StreamRegistry()
        # Build the default pipeline now: a bad definition fails here, not mid-turn.
        self._pipelines.load(config.pipelines.default)

    @property
    def config(self) -> LLMCoreConfig:
        """The resolved configuration (read-only; secrets redacted in its repr)."""
        return self._resolved.config

    @property
    def config_sources(self) -> Mapping[str, str]:
        """For each dotted config key set by a layer, where its value came from."""
        return self._resolved.sources

    @property
    def services(self) -> Services:
        """The shared resources (providers, stores) that stages use."""
        return self._services

    async def __aenter__(self) -> LLMCore:
        return self

    def __await__(self) -> Generator[Any, None, LLMCore]:
        """``llm = await LLMCore()``, the specification's form, is ``LLMCore()``.

        Everything is opened on first use, so there is nothing to wait for.
        """
        return self._itself().__await__()

    async def _itself(self) -> LLMCore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Finish unfinished streams (saving their turns), then close clients and stores."""
        try:
            await self._streams.aclose()
        finally:
            await self._services.aclose()

    # -- chat -------------------------------------------------------------

    def load_pipeline(self, name: str | None = None) -> Pipeline:
        """Return the built pipeline ``name`` (default: ``[pipelines] default``).

        Raises:
            PipelineError: the definition or one of its stages is invalid.
        """
        return self._pipelines.load(name or self.config.pipelines.default)

    async def chat_turn(
        self,
        message: str,
        *,
        stream: bool = False,
        output_type: object = None,
        **options: Unpack[ChatOptions],
    ) -> Turn:
        """Run one chat turn and return the whole :class:`~llmcore.turn.Turn`.

        Takes the same arguments as :meth:`chat`. The Turn carries the reply
        (``turn.response``: text, usage, finish reason, and with
        ``output_type`` the validated ``output``), the trace of every stage
        with its duration, the history kept and dropped (``turn.context``),
        the token budget, and the retrieved documents. With ``stream=True``,
        iterate ``turn.chunks`` (a :class:`~llmcore.pipeline.stream.ChatStream`);
        the Turn is complete (and the session saved) once that stream ends or
        is closed. Close it if you may leave early (``async with turn.chunks``
        or ``await turn.chunks.aclose()``): the Turn keeps it alive, so unlike
        the stream of :meth:`chat` a dropped one is finished only by the next
        turn on its session or by :meth:`close`.
        """
        turn = self._new_turn(message, stream, options)
        if output_type is not None:
            from llmcore.output import output_spec

            turn.output = output_spec(output_type)  # a type that cannot be sent fails here
        turn.output_retries = _check_retries(options.get("output_retries"))
        own = options
        mcp = self._mcp_context(turn, own.get("mcp_handlers"))
        turn.tools = await self._tools(own.get("tools"), own.get("mcp_servers"), mcp)
        turn.max_tool_rounds = _check_rounds(own.get("max_tool_rounds"))
        turn.mcp_resources = [_check_resource_ref(r) for r in own.get("mcp_resources") or ()]
        attachments = own.get("attachments")
        if attachments:
            from llmcore.attachments import to_parts

            limit = self.config.llmcore.max_attachment_bytes
            turn.attachments = await to_parts(attachments, max_bytes=limit)
        runner = self.load_pipeline(turn.pipeline)
        # An earlier stream on this session, left unfinished, is saved first.
        await self._streams.settle(turn.session_id)
        return await runner.run(turn, self._streams)

    async def prepare_context(self, message: str, **options: Unpack[ChatOptions]) -> Turn:
        """Build the context a chat turn would send, without calling the model or saving.

        Runs the turn's pipeline up to its ``call_provider`` stage: the
        session's history is selected, documents retrieved (``enable_rag``),
        MCP resources read, the window fitted and, with MCP formatting on,
        ``turn.mcp_payload`` made. ``turn.payload`` is then exactly the
        messages the provider would get, and ``turn.budget`` their tokens.
        Nothing is stored; tools and attachments are not part of it. Takes
        the arguments of :meth:`chat`.

        Raises:
            PipelineError: the pipeline has no ``call_provider`` stage.
            LLMCoreError: what :meth:`chat` raises before the model is called.
        """
        turn = self._new_turn(message, False, {**options, "save_session": False})
        turn.mcp_resources = [_check_resource_ref(r) for r in options.get("mcp_resources") or ()]
        pipeline = self.load_pipeline(turn.pipeline)
        names = [name for name, _ in pipeline.stages]
        if "call_provider" not in names:
            raise PipelineError(
                f"Pipeline {pipeline.name!r} has no call_provider stage, so there is no point "
                "where its context is complete; prepare_context runs the stages before it.",
                definition=pipeline.name,
            )
        before = pipeline.stages[: names.index("call_provider")]
        return await Pipeline(pipeline.definition, before).run(turn)

    @overload
    async def chat(
        self,
        message: str,
        *,
        stream: Literal[False] = False,
        output_type: None = None,
        **options: Unpack[ChatOptions],
    ) -> str: ...

    @overload
    async def chat(
        self,
        message: str,
        *,
        stream: Literal[False] = False,
        output_type: type[_T],
        **options: Unpack[ChatOptions],
    ) -> _T: ...

    @overload
    async def chat(
        self,
        message: str,
        *,
        stream: Literal[False] = False,
        output_type: dict[str, Any],
        **options: Unpack[ChatOptions],
    ) -> Any: ...

    @overload
    async def chat(
        self,
        message: str,
        *,
        stream: Literal[True],
        output_type: object = None,
        **options: Unpack[ChatOptions],
    ) -> ChatStream: ...

    async def chat(
        self,
        message: str,
        *,
        stream: bool = False,
        output_type: object = None,
        **options: Unpack[ChatOptions],
    ) -> Any:
        """Send a message and return the reply (or a stream of its chunks).

        Args:
            message: the user's message.
            stream: return a :class:`~llmcore.pipeline.stream.ChatStream`
                of text chunks instead of the whole reply. The session is
                saved when it is exhausted, closed (``await stream.aclose()``,
                ``async with``), or left with ``break``: a reply cut short is
                saved marked ``interrupted``, at the latest before the next
                turn on the session starts or at :meth:`close`.
            output_type: the type the reply must be: a msgspec ``Struct``, a
                dataclass, a ``TypedDict``, a pydantic model, ``list[...]``
                of those, or a JSON-schema ``dict``. The reply is then that
                object (the parsed JSON for a dict schema), validated, with
                ``output_retries`` repair rounds (see :mod:`llmcore.output`);
                streamed, the JSON text streams and ``turn.response.output``
                is set at the end.
            **options: the keys of :class:`~llmcore.chat_options.ChatOptions`:
                ``session_id``, ``system_message``, ``provider_name``,
                ``model_name``, ``save_session``, ``enable_rag``,
                ``rag_retrieval_k``, ``rag_collection_name``, ``pipeline``,
                ``context_overrides``, ``tools``, ``max_tool_rounds``,
                ``mcp_servers``, ``mcp_resources``; and for the provider
                ``max_tokens`` (also what is reserved for the reply in the
                context window), ``temperature``, ``top_p``, ``stop``... or
                any option in ``provider_options={...}``.

        Raises:
            InvalidRequestError: an argument is invalid.
            ConfigError: the provider is unknown or has no API key.
            ProviderError: the provider call failed.
            ContextLengthError: the message cannot fit the model's window.
            ToolRoundsError: the model asked for tools after the last allowed round.
            OutputValidationError: the reply did not match ``output_type``
                after the repair rounds.
            SessionStorageError: the session store failed.
            PipelineError: a stage failed unexpectedly.
        """
        turn = await self.chat_turn(message, stream=stream, output_type=output_type, **options)
        chunks = turn.chunks
        if chunks is not None:
            # The caller holds the stream, not the Turn: without the Turn's
            # reference back, a stream dropped after ``break`` is collected at
            # once and its turn finished by the next one.
            turn.chunks = None
            return chunks
        if turn.output is not None:
            return turn.response.output
        return turn.response.text

    def _new_turn(self, message: str, stream: bool, options: Mapping[str, Any]) -> Turn:
        own, provider_kwargs = split_options(options)
        if not isinstance(message, str) or not message.strip():
            raise InvalidRequestError(
                f"message must be a non-empty string, got {message!r:.60}. Pass the user's text."
            )
        session_id = own.get("session_id")
        if session_id is not None:
            check_session_id(session_id)
        system_message = own.get("system_message")
        if system_message is not None and not isinstance(system_message, str):
            raise InvalidRequestError(
                f"system_message must be a string, got {type(system_message).__name__}."
            )
        rag = RagRequest(
            bool(own.get("enable_rag", False)),
            own.get("rag_retrieval_k"),
            own.get("rag_collection_name"),
        )
        if rag.k is not None and (not isinstance(rag.k, int) or rag.k < 1):
            raise InvalidRequestError(f"rag_retrieval_k must be a positive integer, got {rag.k!r}.")
        overrides = self._context_overrides(own.get("context_overrides"))
        name = own.get("provider_name") or self.config.llmcore.default_provider
        provider = self._services.provider(name)
        model = own.get("model_name") or provider.default_model
        check_model_name(name, provider.settings, model)  # known models: a "did you mean"
        reserved = overrides.get(
            "reserved_response_tokens", self.config.context_management.reserved_response_tokens
        )
        return Turn(
            message=message,
            session_id=session_id,
            system_message=system_message,
            provider_name=name,
            model=model,
            stream=bool(stream),
            save_session=bool(own.get("save_session", True)),
            pipeline=own.get("pipeline") or self.config.pipelines.default,
            rag=rag,
            provider_kwargs=provider_kwargs,
            settings=resolve_settings(
                provider.settings, {**provider_kwargs, "reasoning": own.get("reasoning")}, reserved
            ),
            context_overrides=overrides,
        )

    def _context_overrides(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        """The call's ``context_overrides``, checked by the config file's own schema."""
        if not given:
            return {}
        import msgspec

        from llmcore.config.schema import ContextSettings

        current = self.config.context_management
        unknown = set(given) - set(current.__struct_fields__)
        if unknown:
            raise InvalidRequestError(
                f"Unknown context_overrides key(s): {', '.join(sorted(unknown))}. Valid keys: "
                f"{', '.join(current.__struct_fields__)}."
            )
        try:
            merged = msgspec.convert({**msgspec.structs.asdict(current), **given}, ContextSettings)
        except msgspec.ValidationError as exc:
            raise InvalidRequestError(
                f"Invalid context_overrides: {exc} (the same rules as [context_management] in "
                "a config file; see docs/reference/configuration.md)."
            ) from None
        return {key: getattr(merged, key) for key in given}

    def _mcp_context(self, turn: Turn, handlers: MCPHandlers | None) -> MCPContext:
        """What a turn's MCP calls answer servers' requests with, and record them on."""
        from llmcore.mcp.requests import MCPContext

        own = _check_handlers(handlers)
        default = self.config.llmcore.default_provider
        return MCPContext(
            handlers=own.over(self._mcp_handlers) if own else self._mcp_handlers or MCPHandlers(),
            provider=lambda name: self._services.provider(name or default),
            records=turn.mcp_requests,
        )

    async def _tools(
        self,
        tools: Sequence[Any] | None,
        mcp_servers: Sequence[str] | None,
        mcp: MCPContext | None = None,
    ) -> list[Tool]:
        from llmcore._util.loading import import_object
        from llmcore.tools.tool import as_tool

        if self._global_tools is None:
            found = []
            for path in self.config.llmcore.tools:
                try:
                    found.append(as_tool(import_object(path)))
                except (ImportError, AttributeError) as exc:
                    raise ConfigError(
                        f"Cannot import the tool {path!r} listed in llmcore.tools: {exc}.",
                        key="llmcore.tools",
                    ) from exc
            self._global_tools = found
        resolved = [*self._global_tools, *(as_tool(t) for t in tools or ())]
        manager = self._services.mcp
        if (mcp_servers is None and manager.server_names) or mcp_servers:
            from llmcore.mcp.tools import mcp_tools

            servers = None if mcp_servers is None else list(mcp_servers)
            resolved.extend(await mcp_tools(manager, servers, mcp))
        names = [t.name for t in resolved]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise InvalidRequestError(
                f"Two tools share the name(s) {', '.join(duplicates)}; tool names must be unique."
            )
        return resolved

    # -- providers --------------------------------------------------------

    def get_available_providers(self) -> list[str]:
        """The names of the configured providers."""
        return sorted(self.config.providers)

    @must_await
    async def get_models_for_provider(self, provider_name: str) -> list[str]:
        """List a provider's models (from its API where it has one).

        Raises:
            ConfigError: the provider is not configured.
            ProviderError: the provider's API failed.
        """
        return await self._services.provider(provider_name).get_available_models()
