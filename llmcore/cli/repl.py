"""The interactive chat: prompt_toolkit for input, Rich for the replies.

prompt_toolkit gives line editing, a persistent history (``~/.llmcore/
llmchat_history``, Up/Down and Ctrl-R) and correct handling of wide
characters and pastes; each reply streams into a Rich Live Markdown view.
A failed turn prints one line and the chat goes on.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmcore.cli.slash import ReplState, handle, new_session_id

if TYPE_CHECKING:
    from rich.console import Console

    from llmcore.api import LLMCore
    from llmcore.mcp.handlers import MCPHandlers

__all__ = ["PROMPT", "history_path", "initial_state", "run_repl"]

#: The prompt mark (a single right-pointing angle quote).
PROMPT = "\u203a"


def history_path() -> Path:
    """Where the REPL keeps the lines typed into it."""
    return Path.home() / ".llmcore" / "llmchat_history"


def initial_state(llm: LLMCore, kwargs: dict[str, Any]) -> ReplState:
    """The REPL's starting state from ``llmchat chat`` options.

    Raises:
        ConfigError: the provider is unknown or has no default model.
        InvalidRequestError: the provider's models are known and ``-m`` is not one.
        PipelineError: ``--pipeline`` names a bad definition.
    """
    from llmcore.providers.models import check_model_name

    provider = kwargs.get("provider_name") or llm.config.llmcore.default_provider
    instance = llm.services.provider(provider)
    model = kwargs.get("model_name") or instance.default_model
    check_model_name(provider, instance.settings, model)  # -m NAME fails before the prompt
    if kwargs.get("pipeline"):
        llm.load_pipeline(kwargs["pipeline"])  # fail now, not at the first message
    return ReplState(
        provider=provider,
        model=model,
        session_id=kwargs.get("session_id") or new_session_id(),
        system=kwargs.get("system_message"),
        rag=bool(kwargs.get("enable_rag")),
        collection=kwargs.get("rag_collection_name"),
        k=kwargs.get("rag_retrieval_k"),
        pipeline=kwargs.get("pipeline"),
        options=dict(kwargs.get("provider_options") or {}),
        mcp_servers=kwargs.get("mcp_servers"),
        attachments=list(kwargs.get("attachments") or ()),
    )


async def run_repl(
    llm: LLMCore, state: ReplState, *, stream: bool = True, trace: bool = False
) -> None:
    """Read messages and slash commands until /exit or Ctrl-D (``trace``: each turn's stages)."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory
    from rich.markup import escape

    from llmcore.cli._common import console
    from llmcore.cli.elicit import form_handlers

    con = console()
    path = history_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    prompt: PromptSession[str] = PromptSession(history=FileHistory(str(path)))
    con.print(f"[bold]llmchat[/bold] · {escape(state.describe())}")
    con.print("[dim]Type /help for commands, /exit or Ctrl-D to leave.[/dim]")
    while True:
        try:
            line = await prompt.prompt_async(f"{PROMPT} ")
        except KeyboardInterrupt:  # Ctrl-C at the prompt clears the line
            continue
        except EOFError:
            break
        line = line.strip()
        if not line:
            continue
        if line.startswith("/"):
            result = await handle(llm, state, line)
            if result.clear_screen:
                con.clear()
            if result.output:
                con.print(result.output, style="red" if result.error else None, markup=False)
            if result.exit:
                break
            continue
        await _turn(llm, state, line, con, stream, trace, form_handlers(prompt, con))
    await _goodbye(llm, state, con)


async def _goodbye(llm: LLMCore, state: ReplState, con: Console) -> None:
    """Say how to resume the session, or that nothing was stored (``/clear``, no message)."""
    from rich.markup import escape

    session = await llm.get_session(state.session_id)
    name = escape(state.session_id)
    if session is None or not session.messages:
        con.print(f"[dim]Session {name} has no messages; nothing was saved.[/dim]")
        return
    resume = escape(f"llmchat chat -s {shlex.quote(state.session_id)}")
    count = len(session.messages)
    con.print(f"[dim]Session {name} is saved ({count} messages); resume it with[/dim] {resume}")


async def _turn(
    llm: LLMCore,
    state: ReplState,
    line: str,
    con: Console,
    stream: bool,
    trace: bool = False,
    handlers: MCPHandlers | None = None,
) -> None:
    from llmcore.cli.errors import describe_error
    from llmcore.cli.render import footer, interruptible, show_stream, show_text, stage_table
    from llmcore.exceptions import LLMCoreError

    turn = None
    try:
        with interruptible() as interrupt:
            # MCP servers that ask for input mid-call get a form (handlers).
            turn = await llm.chat_turn(
                line, stream=stream, mcp_handlers=handlers, **state.chat_kwargs()
            )
            state.attachments.clear()  # sent with this message
            if turn.chunks is None:
                show_text(turn.response.text, con)
            else:
                await show_stream(turn.chunks, con)
    except LLMCoreError as exc:
        message, hint = describe_error(exc)
        con.print(f"Error: {message}", style="red", markup=False)
        if hint:
            con.print(f"Hint: {hint}", style="dim", markup=False)
        return
    if turn is None:
        con.print("[dim]Stopped before the reply began.[/dim]")
    else:
        con.print(footer(turn, interrupted=interrupt.requested))
        if trace:
            con.print(stage_table(turn))
