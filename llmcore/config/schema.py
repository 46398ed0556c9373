"""The typed configuration schema.

The merged configuration dict is converted into these frozen msgspec Structs,
so a wrong type or an unknown key fails at load time, and the result is
read-only. Every repr hides secrets by the one rule of
:mod:`llmcore._util.redact` (API keys, secret headers, URL and conninfo
passwords, MCP env values and ``--token``-style args).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from llmcore._util.redact import redact, redact_url  # redact_url: for the storage modules

__all__ = [
    "ContextSettings",
    "CoreSettings",
    "EmbeddingModelSettings",
    "LLMCoreConfig",
    "MCPOAuthSettings",
    "MCPServeSettings",
    "MCPServerSettings",
    "MCPSettings",
    "ObservabilitySettings",
    "PipelineSettings",
    "ProviderSettings",
    "SessionStorageSettings",
    "StorageSettings",
    "VectorStorageSettings",
    "redact_url",
]

PositiveInt = Annotated[int, Meta(gt=0)]
NonNegativeInt = Annotated[int, Meta(ge=0)]
PositiveFloat = Annotated[float, Meta(gt=0)]
Share = Annotated[float, Meta(ge=0, le=1)]

DEFAULT_RAG_DOCUMENT_TEMPLATE = "[{index}] {content} (source: {source})"
DEFAULT_RAG_SYSTEM_TEMPLATE = (
    "Use the following documents to answer the user. Cite them by their number, "
    "e.g. [1].\n\n{documents}"
)
DEFAULT_RAG_USER_TEMPLATE = "Context documents:\n{documents}\n\nQuestion: {message}"


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A configuration section: frozen, strict about keys, secret-safe repr."""

    def __repr__(self) -> str:
        parts = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            # Sections (and maps of them) show as themselves, each redacting its own fields.
            sections = (
                isinstance(value, dict)
                and value
                and all(isinstance(v, _Section) for v in value.values())
            )
            shown = value if isinstance(value, _Section) or sections else redact(value, name)
            parts.append(f"{name}={shown!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    __str__ = __repr__


class CoreSettings(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``[llmcore]`` section: library-wide defaults."""

    default_provider: str = "openai"
    default_embedding_model: str = "fastembed:local-minilm"
    enable_mcp: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    max_tool_rounds: NonNegativeInt = 8
    tools: list[str] = msgspec.field(default_factory=list)
    max_attachment_bytes: PositiveInt = 20_000_000
    #: How many times a reply that does not match output_type goes back to the model.
    output_retries: NonNegativeInt = 1


class ProviderSettings(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A ``[providers.NAME]`` section. Keys that do not apply are ignored.

    ``type`` picks the implementation (``openai``, ``anthropic``, ``gemini``,
    ``ollama``, ``local`` or an entry point name); it defaults to the section
    name, so ``[providers.openai]`` needs no ``type`` while
    ``[providers.groq]`` says ``type = "openai"``.
    """

    type: str | None = None
    api_key: str | None = None
    base_url: str | None = None
    default_model: str | None = None
    timeout: PositiveFloat = 60.0
    max_retries: NonNegativeInt = 2
    retry_backoff: PositiveFloat = 0.5
    retry_max_backoff: PositiveFloat = 30.0
    retry_jitter: Annotated[float, Meta(ge=0, le=1)] = 0.5
    context_length: PositiveInt | None = None
    context_lengths: dict[str, PositiveInt] = msgspec.field(default_factory=dict)
    default_context_length: PositiveInt = 8192
    max_tokens: PositiveInt | None = None
    use_mcp: bool | None = None
    tokenizer: str | None = None
    safety_settings: dict[str, str] = msgspec.field(default_factory=dict)
    model_path: str | None = None
    models: list[str] = msgspec.field(default_factory=list)
    options: dict[str, Any] = msgspec.field(default_factory=dict)
    #: The default reasoning effort: "low", "medium", "high", or {budget_tokens = N}.
    reasoning: str | dict[str, int] | None = None
    #: A system message sent when neither the turn nor its session has one (never
    #: stored); unset: the provider's own default (the local model has one), "" for none.
    system_message: str | None = None
    #: How output_type reaches the model: "auto" (its native JSON-schema mode where it
    #: has one, else a forced tool), "native" or "tool".
    structured_output: Literal["auto", "native", "tool"] = "auto"


_SESSION_STORES = ("sqlite", "json", "postgres")
_VECTOR_STORES = ("chromadb", "pgvector")


def _check_kind(kind: str, what: str, group: str, builtins: tuple[str, ...]) -> None:
    """A typo in a store's ``type`` fails when the config loads, with a "did you mean"."""
    if kind in builtins or ":" in kind:
        return
    from llmcore._util.loading import load_entry_point
    from llmcore.config.suggest import did_you_mean

    if load_entry_point(group, kind) is None:
        raise ValueError(
            f"type: unknown {what} type {kind!r}.{did_you_mean(kind, builtins)} Use "
            f"{', '.join(map(repr, builtins))}, a 'package.module:Class', or an entry point of the "
            f"{group!r} group"
        )


class SessionStorageSettings(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``[storage.session]`` section."""

    #: sqlite, json, postgres, a "package.module:Class", or an
    #: ``llmcore.session_stores`` entry point.
    type: str = "sqlite"
    path: str = "~/.llmcore/sessions.db"
    db_url: str | None = None
    #: postgres: the tables are <table_prefix>_sessions, _messages, _schema, _blobs
    #: (``table_name``, the specification's name, is read as this key, with a warning).
    table_prefix: str = "llmcore"
    pool_size: PositiveInt = 5
    busy_timeout: PositiveFloat = 10.0
    #: Settings of a session store from another package.
    options: dict[str, Any] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_kind(self.type, "session store", "llmcore.session_stores", _SESSION_STORES)


class VectorStorageSettings(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``[storage.vector]`` section."""

    #: chromadb, pgvector, a "package.module:Class", or an
    #: ``llmcore.vector_stores`` entry point.
    type: str = "chromadb"
    default_collection: str = "llmcore_default_rag"
    path: str = "~/.llmcore/chroma_db"
    db_url: str | None = None
    #: pgvector: the tables are <table_prefix>_collections and <table_prefix>_c<N>
    #: (``table_name``, the specification's name, is read as this key, with a warning).
    table_prefix: str = "llmcore_vectors"
    host: str | None = None
    port: PositiveInt | None = None
    pool_size: PositiveInt = 5
    #: Settings of a vector store from another package.
    options: dict[str, Any] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_kind(self.type, "vector store", "llmcore.vector_stores", _VECTOR_STORES)


class StorageSettings(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``[storage]`` section: session and vector stores."""

    session: SessionStorageSettings = msgspec.field(default_factory=SessionStorageSettings)
    vector: VectorStorageSettings = msgspec.field(default_factory=VectorStorageSettings)


class EmbeddingModelSettings(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An ``[embedding.NAME]`` section; keys that do not apply are ignored."""

    model: str | None = None
    api_key: str | None = None
    base_url: str | None = None
    batch_size: PositiveInt = 64
    timeout: PositiveFloat = 60.0
    max_retries: NonNegativeInt = 2
    model_path: str | None = None
    #: fastembed: download a model missing from its cache (off: fail at once, offline-safe).
    download: bool = False
    threads: PositiveInt | None = None
    # fastembed models it does not know, loaded from model_path:
    pooling: Literal["mean", "cls"] | None = None
    normalize: bool = True
    dimension: PositiveInt | None = None
    model_file: str | None = None


class ContextSettings(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``[context_management]`` section: how a turn's context is built.

    See ``docs/concepts/context.md`` for what each key does.
    """

    rag_retrieval_k: PositiveInt = 3
    #: A conversation that moves to another provider: its reasoning is dropped or sent as text.
    foreign_reasoning: Literal["drop", "text"] = "drop"
    rag_combination_strategy: Literal["prepend_system", "prepend_user"] = "prepend_system"
    rag_system_template: str = DEFAULT_RAG_SYSTEM_TEMPLATE
    rag_user_template: str = DEFAULT_RAG_USER_TEMPLATE
    rag_document_template: str = DEFAULT_RAG_DOCUMENT_TEMPLATE
    history_selection_strategy: Literal["last_n_tokens", "last_n_messages", "summarize"] = (
        "last_n_tokens"
    )
    max_history_messages: PositiveInt = 50
    reserved_response_tokens: NonNegativeInt = 500
    truncation_priority: Literal["history", "rag", "proportional"] = "history"
    rag_share: Share = 0.5
    minimum_history_messages: NonNegativeInt = 1
    system_message_strategy: Literal["replace", "supplement"] = "replace"
    summary_provider: str | None = None
    summary_model: str | None = None
    summary_max_tokens: PositiveInt = 400
    summary_keep_share: Share = 0.5
    summary_max_messages: PositiveInt = 200
    #: The format of ``format_mcp``'s payload: "v1", the MCP prompt types
    #: (TextContent, PromptMessage, EmbeddedResource) of protocol revision
    #: 2024-11-05, unchanged in every later revision (docs/concepts/mcp.md).
    mcp_version: Literal["v1"] = "v1"

    def __post_init__(self) -> None:
        from llmcore.context.documents import check_templates

        check_templates(
            self.rag_system_template, self.rag_user_template, self.rag_document_template
        )


class PipelineSettings(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``[pipelines]`` section: which definition runs, where to find more."""

    default: str = "default"
    paths: list[str] = msgspec.field(default_factory=list)


class MCPOAuthSettings(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[mcp.servers.NAME.oauth]``: how llmcore gets a token for an OAuth-protected server.

    With ``client_secret``: the client-credentials grant. Without: the
    authorization-code grant with PKCE, through ``llmchat mcp login NAME``.
    """

    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None
    issuer: str | None = None
    redirect_port: Annotated[int, Meta(ge=0, le=65535)] = 0

    def __post_init__(self) -> None:
        if self.client_secret and not self.client_id:
            raise ValueError(
                "client_secret: a client secret needs its client_id (the client credentials "
                "grant sends both)"
            )


class MCPServerSettings(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An ``[mcp.servers.NAME]`` section: a stdio command or a URL."""

    command: str | None = None
    args: list[str] = msgspec.field(default_factory=list)
    env: dict[str, str] = msgspec.field(default_factory=dict)
    url: str | None = None
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    timeout: PositiveFloat = 30.0
    enabled: bool = True
    protocol: Literal["auto", "legacy"] = "auto"
    tools_ttl: PositiveFloat | None = None
    sampling: bool = False
    sampling_provider: str | None = None
    sampling_model: str | None = None
    auth: Literal["none", "oauth"] = "none"
    oauth: MCPOAuthSettings = msgspec.field(default_factory=MCPOAuthSettings)

    def __post_init__(self) -> None:
        if self.auth == "oauth" and not self.url:
            raise ValueError(
                "auth: OAuth is for servers reached by url (streamable HTTP); a stdio "
                "command gets its credentials from env"
            )


class MCPServeSettings(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``[mcp.serve]`` section: ``llmchat mcp serve`` (its options override these)."""

    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8000
    token: str | None = None
    allowed_hosts: list[str] = msgspec.field(default_factory=list)
    allowed_origins: list[str] = msgspec.field(default_factory=list)
    sessions: bool = False
    sessions_writable: bool = False


class MCPSettings(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``[mcp]`` section."""

    servers: dict[str, MCPServerSettings] = msgspec.field(default_factory=dict)
    serve: MCPServeSettings = msgspec.field(default_factory=MCPServeSettings)


class ObservabilitySettings(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``[observability]`` section: what llmcore's OpenTelemetry spans may record.

    Spans are made when the application sets a tracer provider; see
    ``docs/concepts/observability.md``.
    """

    #: Record the messages sent and received, and tools' arguments and results,
    #: on the spans (secrets masked). Off: only sizes, models, tokens, timings.
    capture_content: bool = False


class LLMCoreConfig(_Section, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole resolved configuration (read-only)."""

    llmcore: CoreSettings = msgspec.field(default_factory=CoreSettings)
    providers: dict[str, ProviderSettings] = msgspec.field(default_factory=dict)
    storage: StorageSettings = msgspec.field(default_factory=StorageSettings)
    embedding: dict[str, EmbeddingModelSettings] = msgspec.field(default_factory=dict)
    context_management: ContextSettings = msgspec.field(default_factory=ContextSettings)
    pipelines: PipelineSettings = msgspec.field(default_factory=PipelineSettings)
    mcp: MCPSettings = msgspec.field(default_factory=MCPSettings)
    observability: ObservabilitySettings = msgspec.field(default_factory=ObservabilitySettings)

    def provider(self, name: str) -> ProviderSettings:
        """Return the settings of the provider named ``name``.

        Raises:
            ConfigError: when no such provider is configured.
        """
        from llmcore.config.suggest import unknown_name_error

        try:
            return self.providers[name]
        except KeyError:
            raise unknown_name_error("provider", name, self.providers, "providers") from None
