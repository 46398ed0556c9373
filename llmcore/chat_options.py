"""The keyword arguments of ``LLMCore.chat`` and ``chat_turn``, declared once.

Every chat parameter but the message, ``stream`` and ``output_type`` (a
keyword of its own, so that ``chat`` returns its type) is a key of
:class:`ChatOptions`; ``chat``, its two overloads and ``chat_turn`` take
them as ``**options: Unpack[ChatOptions]``, and the CLI reads the same
declaration, so the list cannot drift between copies. Options for the
provider are the common generation keys below, passed as keywords, or any
other in ``provider_options={...}`` (a keyword llmcore does not know is
passed to the provider as well, so the specification's ``chat("Hi",
temperature=0.2)`` works; type checkers know only the keys listed here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from llmcore.mcp.handlers import MCPHandlers  # a real import: the CLI reads these hints

__all__ = ["LLMCORE_OPTIONS", "PROVIDER_OPTIONS", "ChatOptions", "split_options"]


class ChatOptions(TypedDict, total=False):
    """The keyword arguments of ``chat`` and ``chat_turn``.

    Attributes:
        session_id: the session to continue (created if new); ``None`` for
            a one-off exchange that is never stored.
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
        context_overrides: per-call ``[context_management]`` settings,
            checked like the config file's.
        tools: functions (sync or async) or tool objects the model may
            call; added to the ``llmcore.tools`` configured globally.
        max_tool_rounds: how many times the model may call tools this turn
            (default: ``llmcore.max_tool_rounds``).
        mcp_servers: the MCP servers whose tools are offered (default: all
            configured ones; ``[]`` for none).
        mcp_resources: MCP resources to add to the context, as
            ``"server:uri"``; counted and truncated like documents.
        mcp_handlers: this call's answers to MCP servers that ask for
            input (:class:`~llmcore.mcp.handlers.MCPHandlers`); they win
            over ``LLMCore(mcp_handlers=...)``.
        attachments: files, bytes or URLs sent with the message: paths,
            ``bytes``, ``(bytes, media_type)``, URLs or part objects (see
            :mod:`llmcore.attachments`); images, PDFs, text files.
        reasoning: how hard a reasoning model thinks: ``"low"``,
            ``"medium"``, ``"high"`` or ``{"budget_tokens": N}`` (default:
            the provider's ``reasoning``); a model that cannot reason
            ignores it, with a note on the Turn.
        output_retries: how many times a reply that does not validate goes
            back to the model with the errors (default:
            ``llmcore.output_retries``, 1).
        provider_options: options passed to the provider as they are (any
            name its API takes); the keywords below win over them.
        max_tokens: the longest reply; also what the context budget
            reserves for it.
        temperature: sampling temperature.
        top_p: nucleus sampling.
        top_k: top-k sampling (providers that have it).
        stop: a stop sequence or a list of them.
        seed: a seed, for providers that sample reproducibly.
        presence_penalty: OpenAI-style presence penalty.
        frequency_penalty: OpenAI-style frequency penalty.
    """

    session_id: str | None
    system_message: str | None
    provider_name: str | None
    model_name: str | None
    save_session: bool
    enable_rag: bool
    rag_retrieval_k: int | None
    rag_collection_name: str | None
    pipeline: str | None
    context_overrides: Mapping[str, Any] | None
    tools: Sequence[Any] | None
    max_tool_rounds: int | None
    mcp_servers: Sequence[str] | None
    mcp_resources: Sequence[str] | None
    mcp_handlers: MCPHandlers | None
    attachments: Sequence[Any] | None
    reasoning: str | Mapping[str, int] | None
    output_retries: int | None
    provider_options: Mapping[str, Any] | None
    max_tokens: int
    temperature: float
    top_p: float
    top_k: int
    stop: str | Sequence[str]
    seed: int
    presence_penalty: float
    frequency_penalty: float


#: The generation options that go to the provider.
PROVIDER_OPTIONS = frozenset(
    {
        "max_tokens",
        "temperature",
        "top_p",
        "top_k",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
    }
)
#: llmcore's own options (everything else goes to the provider).
LLMCORE_OPTIONS = frozenset(ChatOptions.__annotations__) - PROVIDER_OPTIONS - {"provider_options"}


def split_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split chat keywords into llmcore's own options and the provider's.

    The provider's are ``provider_options``, then the generation keywords and
    any keyword llmcore does not know, which win over them.
    """
    own: dict[str, Any] = {}
    provider: dict[str, Any] = dict(options.get("provider_options") or {})
    for key, value in options.items():
        if key in LLMCORE_OPTIONS:
            own[key] = value
        elif key != "provider_options":
            provider[key] = value
    return own, provider
