"""The REPL's state and its slash commands (``/model``, ``/rag on``...).

Kept apart from the terminal code so the commands can be driven (and
tested) without a terminal: :func:`handle` takes a line and the state and
returns what to print.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmcore.api import LLMCore

__all__ = ["COMMANDS", "ReplState", "SlashResult", "handle", "new_session_id"]

COMMANDS: dict[str, str] = {
    "/session": "/session [ID]  show the session, or switch to ID (created if new)",
    "/model": "/model [NAME]  show the model, or switch to NAME",
    "/provider": "/provider [NAME]  show the provider, or switch (its default model)",
    "/system": "/system [TEXT|off]  show, set or drop the system message",
    "/rag": "/rag [on [COLLECTION]|off]  show or switch retrieval (RAG)",
    "/attach": "/attach [PATH|off]  attach a file (image, PDF, text) to the next message",
    "/clear": "/clear  start a new session (the old one stays stored) and clear the screen",
    "/help": "/help  this list",
    "/exit": "/exit  leave (also /quit or Ctrl-D)",
}
_ALIASES = {"/quit": "/exit", "/q": "/exit", "/?": "/help"}


def new_session_id() -> str:
    """A fresh, readable session id: ``chat-YYYYMMDD-HHMMSS-xxxx``.

    The random suffix keeps two sessions started in the same second apart.
    """
    import secrets

    return f"{datetime.now():chat-%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


@dataclass
class ReplState:
    """What the next turn will use; slash commands change it."""

    provider: str
    model: str
    session_id: str
    system: str | None = None
    rag: bool = False
    collection: str | None = None
    k: int | None = None
    pipeline: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    #: ``--mcp``/``--no-mcp``: the MCP servers whose tools are offered (None: all).
    mcp_servers: list[str] | None = None
    #: Files for the next message only (``/attach``, ``llmchat chat -a``).
    attachments: list[str] = field(default_factory=list)

    def chat_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of :meth:`LLMCore.chat_turn` for the next turn."""
        return {
            "session_id": self.session_id,
            "system_message": self.system,
            "provider_name": self.provider,
            "model_name": self.model,
            "enable_rag": self.rag,
            "rag_collection_name": self.collection,
            "rag_retrieval_k": self.k,
            "pipeline": self.pipeline,
            "provider_options": self.options,
            "mcp_servers": self.mcp_servers,
            "attachments": list(self.attachments),
        }

    def describe(self) -> str:
        """One line: provider/model, session, RAG."""
        rag = f", RAG on ({self.collection or 'default collection'})" if self.rag else ""
        return f"{self.provider}/{self.model} · session {self.session_id}{rag}"


@dataclass
class SlashResult:
    """What a slash command did: text to print, and whether to leave or clear."""

    output: str = ""
    exit: bool = False
    clear_screen: bool = False
    error: bool = False


async def handle(llm: LLMCore, state: ReplState, line: str) -> SlashResult:
    """Run the slash command ``line`` against ``state``.

    Errors (an unknown provider, a bad session id) come back as a result
    with ``error=True`` and the reason, so the REPL keeps going.
    """
    from llmcore.exceptions import LLMCoreError

    name, _, arg = line.strip().partition(" ")
    name = _ALIASES.get(name.lower(), name.lower())
    arg = arg.strip()
    command = _HANDLERS.get(name)
    if command is None:
        from llmcore.config.suggest import did_you_mean

        hint = did_you_mean(name, COMMANDS)
        return SlashResult(f"Unknown command {name}.{hint} Type /help for the list.", error=True)
    try:
        return await command(llm, state, arg)
    except LLMCoreError as exc:
        return SlashResult(str(exc), error=True)


async def _session(llm: LLMCore, state: ReplState, arg: str) -> SlashResult:
    if not arg:
        session = await llm.get_session(state.session_id)
        count = len(session.messages) if session else 0
        return SlashResult(f"Session {state.session_id} ({count} messages stored).")
    session = await llm.get_session(arg)  # validates the id
    state.session_id = arg
    if session is None:
        return SlashResult(f"Started session {arg}.")
    return SlashResult(f"Switched to session {arg} ({len(session.messages)} messages).")


async def _model(llm: LLMCore, state: ReplState, arg: str) -> SlashResult:
    if arg:
        from llmcore.providers.models import check_model_name

        # A provider whose models are known refuses another name, with a "did you mean".
        check_model_name(state.provider, llm.services.provider(state.provider).settings, arg)
        state.model = arg
        return SlashResult(f"Model: {state.provider}/{arg}.")
    return SlashResult(f"Model: {state.provider}/{state.model}.")


async def _provider(llm: LLMCore, state: ReplState, arg: str) -> SlashResult:
    if not arg:
        return SlashResult(
            f"Provider: {state.provider} (configured: {', '.join(llm.get_available_providers())})."
        )
    provider = llm.services.provider(arg)  # ConfigError with a suggestion if unknown
    state.provider, state.model = arg, provider.default_model
    return SlashResult(f"Provider: {arg}, model {state.model}.")


async def _system(llm: LLMCore, state: ReplState, arg: str) -> SlashResult:
    if not arg:
        shown = repr(state.system) if state.system else "none (the session's own, if any)"
        return SlashResult(f"System message: {shown}.")
    if arg.lower() == "off":
        state.system = None
        return SlashResult("System message dropped for the next turns.")
    state.system = arg
    return SlashResult("System message set for the next turns.")


async def _rag(llm: LLMCore, state: ReplState, arg: str) -> SlashResult:
    word, _, collection = arg.partition(" ")
    word = word.lower()
    if word == "on":
        state.rag = True
        state.collection = collection.strip() or state.collection
    elif word == "off":
        state.rag = False
    elif word:
        return SlashResult(f"Use /rag on [COLLECTION] or /rag off, not /rag {arg}.", error=True)
    if state.rag:
        where = state.collection or llm.config.storage.vector.default_collection
        return SlashResult(f"RAG is on (collection {where}).")
    return SlashResult("RAG is off.")


async def _attach(llm: LLMCore, state: ReplState, arg: str) -> SlashResult:
    if arg.lower() == "off":
        state.attachments.clear()
        return SlashResult("No attachments for the next message.")
    if arg:
        from llmcore.attachments import to_parts

        # Checked now (type, size), so a bad file is refused before the message is typed.
        await to_parts([arg], max_bytes=llm.config.llmcore.max_attachment_bytes)
        state.attachments.append(arg)
    if not state.attachments:
        return SlashResult("No attachments. /attach PATH adds one to the next message.")
    return SlashResult(f"Attached to the next message: {', '.join(state.attachments)}.")


async def _clear(llm: LLMCore, state: ReplState, arg: str) -> SlashResult:
    old, state.session_id = state.session_id, new_session_id()
    return SlashResult(
        f"New session {state.session_id} (the previous one, {old}, is kept).", clear_screen=True
    )


async def _help(llm: LLMCore, state: ReplState, arg: str) -> SlashResult:
    lines = ["Type a message and press Enter. Ctrl-C stops a reply; Ctrl-D leaves.", ""]
    lines += [f"  {usage}" for usage in COMMANDS.values()]
    return SlashResult("\n".join(lines))


async def _exit(llm: LLMCore, state: ReplState, arg: str) -> SlashResult:
    return SlashResult(exit=True)


_HANDLERS = {
    "/session": _session,
    "/model": _model,
    "/provider": _provider,
    "/system": _system,
    "/rag": _rag,
    "/attach": _attach,
    "/clear": _clear,
    "/help": _help,
    "/exit": _exit,
}
