"""Generate ``docs/reference/configuration.md`` from the configuration schema.

Every key of ``llmcore.config.schema.LLMCoreConfig`` gets a row: its type,
its default (the packaged ``defaults.toml`` where it sets one, else the
schema's), the environment variable that sets it, and what it does.

Run ``python docs/gen_config_reference.py`` after changing the schema or
``defaults.toml``; ``tests/docs/test_config_reference.py`` fails while the
committed page is out of date. ``--check`` exits 1 instead of writing.
"""

from __future__ import annotations

import json
import sys
import tomllib
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from llmcore.config.schema import LLMCoreConfig

OUTPUT = Path(__file__).resolve().parent / "reference" / "configuration.md"
PREFIX = "LLMCORE"

#: Placeholder for the name of a ``[providers.NAME]``-style section.
NAME = "NAME"

#: Where each section is explained in prose.
SECTION_DOCS: dict[str, str] = {
    "llmcore": "../configuration.md",
    "providers": "../concepts/providers.md",
    "storage.session": "../concepts/sessions.md",
    "storage.vector": "../concepts/rag.md#vector-stores",
    "embedding": "../concepts/rag.md#embedding-models",
    "context_management": "../concepts/context.md",
    "pipelines": "../concepts/pipelines.md",
    "mcp.servers": "../concepts/mcp.md",
    "mcp.servers.oauth": "../concepts/mcp.md#oauth",
    "mcp.serve": "../concepts/mcp.md#llmcore-as-an-mcp-server",
    "observability": "../concepts/observability.md",
}

#: One line per key. A key missing here is rendered with an empty description.
DESCRIPTIONS: dict[str, str] = {
    "llmcore.default_provider": "Provider section used when a call names none.",
    "llmcore.default_embedding_model": "Embedder for RAG, as `KIND:MODEL`.",
    "llmcore.enable_mcp": "Render each turn's payload as MCP types (the `format_mcp` stage).",
    "llmcore.log_level": "Level of the `llmcore` logger.",
    "llmcore.max_tool_rounds": "How many times a turn may run tools and ask the model again.",
    "llmcore.max_attachment_bytes": "The largest file `attachments=` takes, in bytes.",
    "llmcore.output_retries": "How many times a reply that does not match `output_type` goes "
    "back to the model with the errors (structured output).",
    "llmcore.tools": "Tools offered on every turn, as `package.module:function` paths.",
    "providers.type": "Implementation: `openai`, `anthropic`, `gemini`, `ollama`, `local` "
    "or an `llmcore.providers` entry point. Defaults to the section name.",
    "providers.api_key": "API key (the SDKs' own variables are fallbacks). Never logged.",
    "providers.base_url": "Server URL: a proxy or an OpenAI-compatible server.",
    "providers.default_model": "Model used when a call names none.",
    "providers.timeout": "Seconds per request.",
    "providers.max_retries": "Retries of 429 / 5xx / timeouts / connection errors.",
    "providers.retry_backoff": "First wait between retries, doubled each retry (seconds).",
    "providers.retry_max_backoff": "Longest wait; a longer `Retry-After` fails at once.",
    "providers.retry_jitter": "Each wait is shortened by up to this share, at random.",
    "providers.context_length": "Context window of every model of this provider.",
    "providers.context_lengths": "Context window per model: `{model = tokens}`.",
    "providers.default_context_length": "Window of a model no table knows.",
    "providers.max_tokens": "Default reply limit (Anthropic requires one).",
    "providers.system_message": "System message sent when neither the turn nor its session "
    "has one (never stored). Unset: the provider's default (the local model has one); `\"\"`: "
    "none.",
    "providers.structured_output": "How `output_type` reaches the model: `auto` (its native "
    "JSON-schema mode where it has one, else a forced tool), `native` or `tool`.",
    "providers.reasoning": "Default reasoning effort: `low`, `medium`, `high` or "
    "`{budget_tokens = N}`.",
    "providers.use_mcp": "`llmcore.enable_mcp` for this provider only (wins over it).",
    "providers.tokenizer": "Ollama: how token counts are estimated.",
    "providers.safety_settings": "Gemini: `{category = threshold}`.",
    "providers.model_path": "local: the GGUF file to load.",
    "providers.models": "Models this provider lists (default: the models it knows).",
    "providers.options": "Default request options (`temperature`, `top_p`...).",
    "storage.session.type": "Session store: `sqlite`, `json`, `postgres`, a `package.module:Class` or an entry point.",
    "storage.session.options": "Settings of a session store from another package.",
    "storage.session.path": "sqlite: the database file; json: a folder.",
    "storage.session.db_url": "postgres: `postgresql://user:pass@host:5432/db`.",
    "storage.session.table_prefix": "postgres: tables `<prefix>_sessions`, `_messages`... (`table_name`, the specification's name, is read as this key, with a warning).",
    "storage.session.pool_size": "postgres: connections in the pool.",
    "storage.session.busy_timeout": "Seconds to wait for another writer (postgres: pool wait).",
    "storage.vector.type": "Vector store: `chromadb`, `pgvector`, a `package.module:Class` or an entry point.",
    "storage.vector.options": "Settings of a vector store from another package.",
    "storage.vector.default_collection": "Collection used when a call names none.",
    "storage.vector.path": "Chroma embedded: its folder.",
    "storage.vector.db_url": "pgvector: `postgresql://user:pass@host:5432/db`.",
    "storage.vector.table_prefix": "pgvector: tables `<prefix>_collections`, `<prefix>_c<N>` (`table_name` is read as this key, with a warning).",
    "storage.vector.host": "A Chroma server's host (instead of embedded Chroma).",
    "storage.vector.port": "A Chroma server's port.",
    "storage.vector.pool_size": "pgvector: connections in the pool.",
    "embedding.model": "Model used when the identifier is just `KIND`.",
    "embedding.api_key": "API key of a remote embedder.",
    "embedding.base_url": "Server URL of a remote embedder.",
    "embedding.batch_size": "Texts embedded per call.",
    "embedding.timeout": "Seconds per request (remote embedders).",
    "embedding.max_retries": "Retries of a failed request (remote embedders).",
    "embedding.model_path": "Load the model from this folder; never download.",
    "embedding.download": "fastembed: download a model missing from its cache (off: fail at once).",
    "embedding.threads": "fastembed: onnxruntime threads (default: all cores).",
    "embedding.pooling": "fastembed, a model it does not know: pooling.",
    "embedding.normalize": "fastembed, a model it does not know: normalise vectors.",
    "embedding.dimension": "fastembed, a model it does not know: vector size.",
    "embedding.model_file": "fastembed, a model it does not know: the ONNX file name.",
    "context_management.rag_retrieval_k": "Documents retrieved per RAG turn.",
    "context_management.rag_combination_strategy": "Where retrieved documents go.",
    "context_management.rag_system_template": "System message around the documents "
    "(`{documents}`).",
    "context_management.rag_user_template": "User message around the documents "
    "(`{documents}`, `{message}`).",
    "context_management.rag_document_template": "One document (`{index}`, `{id}`, `{source}`, "
    "`{score}`, `{content}`).",
    "context_management.history_selection_strategy": "How history is chosen.",
    "context_management.max_history_messages": "`last_n_messages`: at most this many messages.",
    "context_management.reserved_response_tokens": "Room kept for the reply when the call "
    "sets no `max_tokens`.",
    "context_management.truncation_priority": "What is dropped first when history and "
    "documents do not both fit.",
    "context_management.rag_share": "`proportional`: the documents' share of the room.",
    "context_management.minimum_history_messages": "History messages kept before documents "
    "are dropped.",
    "context_management.foreign_reasoning": "Reasoning written by another provider: `drop` "
    "it, or send it as `text`.",
    "context_management.system_message_strategy": "A call's system message replaces or "
    "supplements the stored one.",
    "context_management.summary_provider": "`summarize`: who writes the summary "
    "(default: the turn's provider).",
    "context_management.summary_model": "`summarize`: the summary's model.",
    "context_management.summary_max_tokens": "`summarize`: length of a summary.",
    "context_management.summary_keep_share": "`summarize`: share of the room kept history "
    "may use once a summary is made.",
    "context_management.summary_max_messages": "`summarize`: messages one summary call reads.",
    "context_management.mcp_version": "The MCP payload's format: `v1`, the prompt types of MCP revision 2024-11-05 (unchanged since).",
    "pipelines.default": "Pipeline definition `chat()` runs.",
    "pipelines.paths": "Folders of pipeline definitions (`*.toml`).",
    "mcp.servers.command": "A stdio server: the command to start.",
    "mcp.servers.args": "Its arguments.",
    "mcp.servers.env": "Extra environment variables for it.",
    "mcp.servers.url": "A streamable-HTTP server: its URL.",
    "mcp.servers.headers": "HTTP headers of every request, e.g. "
    '`{Authorization = "Bearer ..."}`. Never logged.',
    "mcp.servers.timeout": "Seconds to start and connect, and per request.",
    "mcp.servers.enabled": "Set false to keep a server configured but unused.",
    "mcp.servers.protocol": "`auto` (discover the protocol, else the 2025 handshake) or "
    "`legacy` (always the `initialize` handshake).",
    "mcp.servers.tools_ttl": "Seconds its tool list is reused when the server gives no ttl "
    "of its own (default: until it announces a change or reconnects).",
    "mcp.servers.sampling": "Answer its `sampling/createMessage` requests with llmcore's "
    "providers.",
    "mcp.servers.sampling_provider": "Provider that answers them (default: "
    "`llmcore.default_provider`).",
    "mcp.servers.sampling_model": "Model that answers them (default: the provider's).",
    "mcp.servers.auth": "`oauth`: get a token from the server's authorization server "
    "(see `oauth`); `none`: no OAuth (static `headers` still work).",
    "mcp.servers.oauth.client_id": "OAuth client id (default: registered dynamically at login).",
    "mcp.servers.oauth.client_secret": "With it: the client credentials grant; without: "
    "`llmchat mcp login NAME`. Never logged.",
    "mcp.servers.oauth.scope": "Scopes to ask for, space-separated (default: the server's).",
    "mcp.servers.oauth.issuer": "The authorization server the client credentials belong to.",
    "mcp.servers.oauth.redirect_port": "`llmchat mcp login`: loopback port of the redirect "
    "(0: any free port).",
    "mcp.serve.host": "`llmchat mcp serve` over HTTP: the address to listen on. "
    "Any other than loopback needs a token.",
    "mcp.serve.port": "Its port.",
    "mcp.serve.token": "Bearer token every HTTP request must carry (enforced on loopback "
    "too when set). Never logged.",
    "mcp.serve.allowed_hosts": "Host headers accepted besides loopback names "
    "(`name` on any port, or `name:port`).",
    "mcp.serve.allowed_origins": "Browser origins accepted besides loopback pages.",
    "mcp.serve.sessions": "Publish the stored sessions as read-only resources.",
    "mcp.serve.sessions_writable": "Let `chat` continue any session, "
    "not only those the server created.",
    "observability.capture_content": "Record messages, tool arguments and results on the "
    "OpenTelemetry spans (secrets masked). Off: sizes, models, tokens and timings only.",
}


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def type_name(tp: Any) -> str:
    """A short, readable name for a schema type (``int > 0``, ``"a" | "b"``...)."""
    tp, optional = _strip_optional(tp)
    bound = ""
    if typing.get_origin(tp) is typing.Annotated:
        tp, *extras = typing.get_args(tp)
        for meta in extras:
            if isinstance(meta, msgspec.Meta):
                parts = [
                    f"{op} {getattr(meta, attr)}"
                    for attr, op in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))
                    if getattr(meta, attr) is not None
                ]
                bound = " " + ", ".join(parts) if parts else ""
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        text = " \\| ".join(json.dumps(a) for a in typing.get_args(tp))
    elif origin is list:
        text = f"list of {type_name(typing.get_args(tp)[0])}"
    elif origin is dict:
        key, value = typing.get_args(tp)
        text = f"table {type_name(key)} → {type_name(value)}"
    elif tp is Any:
        text = "any"
    else:
        text = getattr(tp, "__name__", str(tp))
    return f"{text}{bound}" + (" (optional)" if optional else "")


def value_text(value: Any) -> str:
    """A default as it would be written in TOML (``—`` for unset)."""
    if value is None:
        return "—"
    text = json.dumps(value, ensure_ascii=False).replace("|", "\\|")
    return f"`{text}`"


def _fields(cls: type[msgspec.Struct]) -> list[tuple[str, Any, Any]]:
    hints = typing.get_type_hints(cls, include_extras=True)
    out = []
    for info in msgspec.structs.fields(cls):
        if info.default is not msgspec.NODEFAULT:
            default = info.default
        elif info.default_factory is not msgspec.NODEFAULT:
            default = info.default_factory()
        else:
            default = None
        out.append((info.name, hints[info.name], default))
    return out


def _struct_of(tp: Any) -> tuple[type[msgspec.Struct] | None, bool]:
    """``(Struct, is_dict_of_struct)`` for a section type, ``(None, False)`` for a leaf."""
    tp, _ = _strip_optional(tp)
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return tp, False
    if typing.get_origin(tp) is dict:
        value = typing.get_args(tp)[1]
        if isinstance(value, type) and issubclass(value, msgspec.Struct):
            return value, True
    return None, False


def env_name(path: list[str]) -> str:
    """The environment variable of a dotted key path (``NAME`` kept as a placeholder)."""
    return "_".join([PREFIX, *(p if p == NAME else p.upper() for p in path)])


def _sections(
    cls: type[msgspec.Struct], path: list[str], packaged: Any
) -> list[tuple[list[str], type[msgspec.Struct], Any, bool]]:
    """Every leaf-holding section: (path, struct, packaged values, is_named)."""
    found: list[tuple[list[str], type[msgspec.Struct], Any, bool]] = []
    leaves = False
    for name, tp, _ in _fields(cls):
        struct, named = _struct_of(tp)
        sub = packaged.get(name, {}) if isinstance(packaged, dict) else {}
        if struct is None:
            leaves = True
        elif named:
            # The named section itself, then the tables inside it ([mcp.servers.NAME.oauth]).
            own, *inner = _sections(struct, [*path, name, NAME], {})
            found += [(own[0], own[1], sub, True), *inner]
        else:
            found.extend(_sections(struct, [*path, name], sub))
    if leaves and path:
        found.insert(0, (path, cls, packaged, False))
    return found


def _doc_key(path: list[str], field: str) -> str:
    return ".".join([p for p in path if p != NAME] + [field])


def _doc_link(path: list[str]) -> str:
    key = ".".join(p for p in path if p != NAME)
    link = SECTION_DOCS.get(key)
    return f" See [the guide]({link})." if link else ""


def _summary(cls: type[msgspec.Struct]) -> str:
    doc = (cls.__doc__ or "").strip()
    return " ".join(doc.split("\n\n")[0].split()).replace("``", "`")


def render() -> str:
    """The whole reference page, as Markdown."""
    packaged = tomllib.loads(
        resources.files("llmcore.config").joinpath("defaults.toml").read_text("utf-8")
    )
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by docs/gen_config_reference.py from llmcore/config/schema.py and",
        "     llmcore/config/defaults.toml. Do not edit by hand. -->",
        "",
        "Every key llmcore reads, by section. *Default* is the packaged",
        "`defaults.toml` value where it sets one, else the schema's (— means unset).",
        "*Environment* is the variable that sets the key (values parse as JSON where",
        "they can, except for text keys); `__` also separates levels, e.g.",
        "`LLMCORE_PROVIDERS__OPENAI__API_KEY`. In a section named `[x.NAME]`, `NAME` is",
        "yours (`[providers.groq]` → `LLMCORE_PROVIDERS_GROQ_API_KEY`). How the",
        "layers combine is in [Configuration](../configuration.md).",
        "",
    ]
    for path, cls, values, named in _sections(LLMCoreConfig, [], packaged):
        lines += [f"## `[{'.'.join(path)}]`", "", f"{_summary(cls)}{_doc_link(path)}", ""]
        lines += ["| Key | Type | Default | Environment | Description |"]
        lines += ["|---|---|---|---|---|"]
        for field, tp, default in _fields(cls):
            if _struct_of(tp)[0] is not None:
                continue
            if not named and isinstance(values, dict) and field in values:
                default = values[field]
            lines.append(
                f"| `{field}` | {type_name(tp)} | {value_text(default)} | "
                f"`{env_name([*path, field])}` | {DESCRIPTIONS.get(_doc_key(path, field), '')} |"
            )
        lines.append("")
        if named and isinstance(values, dict) and values:
            prefix = ".".join(path[:-1])
            lines += ["Packaged sections (`defaults.toml`):", ""]
            lines += ["| Key | Value | Environment |", "|---|---|---|"]
            for section, keys in values.items():
                for key, value in keys.items():
                    lines.append(
                        f"| `{prefix}.{section}.{key}` | {value_text(value)} | "
                        f"`{env_name([*path[:-1], section.upper(), key])}` |"
                    )
            lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Write the page (or, with ``--check``, report whether it is up to date)."""
    text = render()
    if "--check" in argv:
        current = OUTPUT.read_text("utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is out of date: run python docs/gen_config_reference.py")
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, "utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
