"""LLMCore: the facade applications use.

It loads the configuration, builds the shared :class:`~llmcore.services.Services`
and the pipelines, and runs a :class:`~llmcore.turn.Turn` through a pipeline
for each chat call.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncGenerator, Mapping
from types import TracebackType
from typing import Any, Literal, overload

from llmcore.config.loader import ResolvedConfig, load_config
from llmcore.config.schema import LLMCoreConfig
from llmcore.exceptions import InvalidRequestError
from llmcore.models import ChatSession, SessionInfo
from llmcore.pipeline import Pipeline, PipelineLoader
from llmcore.services import Services
from llmcore.turn import RagRequest, Turn

__all__ = ["LLMCore"]

logger = logging.getLogger("llmcore")
logger.addHandler(logging.NullHandler())

_SESSION_ID = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")


def _check_session_id(session_id: object) -> str:
    if not isinstance(session_id, str) or not _SESSION_ID.match(session_id):
        raise InvalidRequestError(
            f"Invalid session id {session_id!r}: use a string of 1 to 200 characters without "
            "control characters (e.g. 'tutor-1')."
        )
    return session_id


class LLMCore:
    """One async API over many LLM providers, with sessions, context management and RAG.

    Args:
        config_overrides: highest-precedence settings, with dot keys
            (``{"providers.openai.default_model": "gpt-4o"}``).
        config_file_path: a TOML or JSON config file.
        env_prefix: prefix of environment variables to read (``LLMCORE`` reads
            ``LLMCORE_PROVIDERS_OPENAI_API_KEY``...); ``None`` ignores the
            environment and ``.env``.
        dotenv_path: the ``.env`` file to read; ``None`` skips it.

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
    ):
        self._resolved: ResolvedConfig = load_config(
            overrides=config_overrides,
            file_path=config_file_path,
            env_prefix=env_prefix,
            dotenv_path=dotenv_path,
        )
        config = self._resolved.config
        logger.setLevel(config.llmcore.log_level)
        self._services = Services(config)
        self._pipelines = PipelineLoader(self._services, config.pipelines.paths)
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

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close provider clients and storage connections."""
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
        session_id: str | None = None,
        system_message: str | None = None,
        provider_name: str | None = None,
        model_name: str | None = None,
        stream: bool = False,
        save_session: bool = True,
        enable_rag: bool = False,
        rag_retrieval_k: int | None = None,
        rag_collection_name: str | None = None,
        pipeline: str | None = None,
        context_overrides: Mapping[str, Any] | None = None,
        **provider_kwargs: Any,
    ) -> Turn:
        """Run one chat turn and return the whole :class:`~llmcore.turn.Turn`.

        Takes the same arguments as :meth:`chat`. The Turn carries the reply
        (``turn.response``: text, usage, finish reason), the trace of every
        stage with its duration, the history kept and dropped
        (``turn.context``), the token budget, and the retrieved documents.
        With ``stream=True``, iterate ``turn.chunks``; the Turn is complete
        (and the session saved) once that generator ends or is closed.
        """
        turn = self._new_turn(
            message,
            session_id=session_id,
            system_message=system_message,
            provider_name=provider_name,
            model_name=model_name,
            stream=stream,
            save_session=save_session,
            rag=RagRequest(enable_rag, rag_retrieval_k, rag_collection_name),
            pipeline=pipeline,
            context_overrides=context_overrides,
            provider_kwargs=provider_kwargs,
        )
        return await self.load_pipeline(turn.pipeline).run(turn)

    @overload
    async def chat(
        self,
        message: str,
        *,
        stream: Literal[False] = False,
        session_id: str | None = None,
        system_message: str | None = None,
        provider_name: str | None = None,
        model_name: str | None = None,
        save_session: bool = True,
        enable_rag: bool = False,
        rag_retrieval_k: int | None = None,
        rag_collection_name: str | None = None,
        pipeline: str | None = None,
        context_overrides: Mapping[str, Any] | None = None,
        **provider_kwargs: Any,
    ) -> str: ...

    @overload
    async def chat(
        self,
        message: str,
        *,
        stream: Literal[True],
        session_id: str | None = None,
        system_message: str | None = None,
        provider_name: str | None = None,
        model_name: str | None = None,
        save_session: bool = True,
        enable_rag: bool = False,
        rag_retrieval_k: int | None = None,
        rag_collection_name: str | None = None,
        pipeline: str | None = None,
        context_overrides: Mapping[str, Any] | None = None,
        **provider_kwargs: Any,
    ) -> AsyncGenerator[str, None]: ...

    async def chat(
        self,
        message: str,
        *,
        stream: bool = False,
        session_id: str | None = None,
        system_message: str | None = None,
        provider_name: str | None = None,
        model_name: str | None = None,
        save_session: bool = True,
        enable_rag: bool = False,
        rag_retrieval_k: int | None = None,
        rag_collection_name: str | None = None,
        pipeline: str | None = None,
        context_overrides: Mapping[str, Any] | None = None,
        **provider_kwargs: Any,
    ) -> str | AsyncGenerator[str, None]:
        """Send a message and return the reply (or a stream of its chunks).

        Args:
            message: the user's message.
            stream: return an async generator of text chunks instead of the
                whole reply. The session is saved when the generator is
                exhausted or closed (``await gen.aclose()``); a reply cut
                short is saved marked ``interrupted``.
            session_id: the session to continue (created if new); ``None``
                for a one-off exchange that is never stored.
            system_message: a system message for this turn; stored in the
                session when it differs from the session's current one.
            provider_name: a ``[providers.NAME]`` (default:
                ``llmcore.default_provider``).
            model_name: the model (default: the provider's ``default_model``).
            save_session: ``False`` reads the session but stores nothing.
            enable_rag: retrieve documents from the vector store for context.
            rag_retrieval_k: how many documents to retrieve.
            rag_collection_name: which collection to search.
            pipeline: the pipeline definition to run (default: ``[pipelines] default``).
            context_overrides: per-call ``[context_management]`` settings.
            **provider_kwargs: passed to the provider (``temperature``,
                ``max_tokens``...). ``max_tokens`` is also what is reserved
                for the reply in the context window.

        Raises:
            InvalidRequestError: an argument is invalid.
            ConfigError: the provider is unknown or has no API key.
            ProviderError: the provider call failed.
            ContextLengthError: the message cannot fit the model's window.
            SessionStorageError: the session store failed.
            PipelineError: a stage failed unexpectedly.
        """
        turn = await self.chat_turn(
            message,
            session_id=session_id,
            system_message=system_message,
            provider_name=provider_name,
            model_name=model_name,
            stream=stream,
            save_session=save_session,
            enable_rag=enable_rag,
            rag_retrieval_k=rag_retrieval_k,
            rag_collection_name=rag_collection_name,
            pipeline=pipeline,
            context_overrides=context_overrides,
            **provider_kwargs,
        )
        if turn.chunks is not None:
            return turn.chunks
        return turn.response.text

    def _new_turn(
        self,
        message: str,
        *,
        session_id: str | None,
        system_message: str | None,
        provider_name: str | None,
        model_name: str | None,
        stream: bool,
        save_session: bool,
        rag: RagRequest,
        pipeline: str | None,
        context_overrides: Mapping[str, Any] | None,
        provider_kwargs: dict[str, Any],
    ) -> Turn:
        if not isinstance(message, str) or not message.strip():
            raise InvalidRequestError(
                f"message must be a non-empty string, got {message!r:.60}. Pass the user's text."
            )
        if session_id is not None:
            _check_session_id(session_id)
        if system_message is not None and not isinstance(system_message, str):
            raise InvalidRequestError(
                f"system_message must be a string, got {type(system_message).__name__}."
            )
        if rag.k is not None and (not isinstance(rag.k, int) or rag.k < 1):
            raise InvalidRequestError(f"rag_retrieval_k must be a positive integer, got {rag.k!r}.")
        overrides = dict(context_overrides or {})
        unknown = set(overrides) - set(self.config.context_management.__struct_fields__)
        if unknown:
            raise InvalidRequestError(
                f"Unknown context_overrides key(s): {', '.join(sorted(unknown))}. Valid keys: "
                f"{', '.join(self.config.context_management.__struct_fields__)}."
            )
        name = provider_name or self.config.llmcore.default_provider
        provider = self._services.provider(name)
        return Turn(
            message=message,
            session_id=session_id,
            system_message=system_message,
            provider_name=name,
            model=model_name or provider.default_model,
            stream=bool(stream),
            save_session=bool(save_session),
            pipeline=pipeline or self.config.pipelines.default,
            rag=rag,
            provider_kwargs=provider_kwargs,
            context_overrides=overrides,
        )

    # -- sessions ---------------------------------------------------------

    async def get_session(self, session_id: str) -> ChatSession | None:
        """Load a session with all its messages, or None if it does not exist."""
        store = await self._services.session_store()
        return await store.get_session(_check_session_id(session_id))

    async def list_sessions(
        self, *, limit: int | None = None, offset: int = 0
    ) -> list[SessionInfo]:
        """List sessions (metadata only), most recently updated first."""
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise InvalidRequestError(
                f"limit must be a non-negative integer or None, got {limit!r}."
            )
        if not isinstance(offset, int) or offset < 0:
            raise InvalidRequestError(f"offset must be a non-negative integer, got {offset!r}.")
        store = await self._services.session_store()
        return await store.list_sessions(limit=limit, offset=offset)

    async def delete_session(self, session_id: str) -> bool:
        """Delete a session; True if it existed."""
        store = await self._services.session_store()
        return await store.delete_session(_check_session_id(session_id))

    async def rename_session(self, session_id: str, name: str) -> bool:
        """Give a session a display name; True if it exists."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidRequestError("name must be a non-empty string.")
        store = await self._services.session_store()
        return await store.update_session(_check_session_id(session_id), name=name)

    # -- providers --------------------------------------------------------

    def get_available_providers(self) -> list[str]:
        """The names of the configured providers."""
        return sorted(self.config.providers)

    async def get_models_for_provider(self, provider_name: str) -> list[str]:
        """List a provider's models (from its API where it has one).

        Raises:
            ConfigError: the provider is not configured.
            ProviderError: the provider's API failed.
        """
        return await self._services.provider(provider_name).get_available_models()
