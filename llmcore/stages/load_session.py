"""load_session: open (or create) the turn's session and its system messages."""

from __future__ import annotations

from llmcore.context.settings import context_setting
from llmcore.models import ChatSession, Message, Role
from llmcore.parts import TextPart
from llmcore.services import Services
from llmcore.turn import Turn

__all__ = ["LoadSession"]


class LoadSession:
    """Load the session header and system messages; create the user message.

    A turn without ``session_id`` gets a temporary in-memory session. The
    session's messages are not loaded here: ``select_history`` reads the
    newest ones that fit, so a turn's cost does not grow with the session.

    A ``system_message`` that differs from the session's current one is
    added as a new system message (and stored with the turn); with
    ``system_message_strategy = "replace"`` only the newest system message is
    sent, with ``"supplement"`` all of them are. When neither the turn nor the
    session has one, the provider's default system message is sent (the
    ``system_message`` of its settings, or its own, as the local model's),
    counted like any other and never stored.
    """

    name = "load_session"
    reads = ()
    provides = ("session", "system_messages", "user_message", "new_messages")

    def __init__(self, services: Services):
        self.services = services

    async def __call__(self, turn: Turn) -> None:
        """Fill ``turn.session``, ``turn.system_messages`` and ``turn.user_message``."""
        sid = turn.session_id
        stored: list[Message] = []
        turn.context.history_stored = 0
        if sid is None:
            turn.session = ChatSession()
        else:
            store = await self.services.session_store()
            # Read only: ``persist`` creates a new session with the turn's
            # messages, so a turn that never reaches the model stores nothing.
            info = await store.get_session_info(sid)
            turn.note("new" if info is None else "exists")
            turn.session = ChatSession(id=sid)
            if info is not None:
                turn.session = ChatSession(
                    id=info.id,
                    name=info.name,
                    created_at=info.created_at,
                    updated_at=info.updated_at,
                    metadata=info.metadata,
                )
                stored = await store.read_system_messages(sid)
                turn.context.history_stored = max(info.message_count - len(stored), 0)
        session_id = sid or ""
        if turn.system_message is not None and (
            not stored or stored[-1].content != turn.system_message
        ):
            new_system = Message(
                role=Role.SYSTEM, content=turn.system_message, session_id=session_id
            )
            turn.new_messages.append(new_system)
            stored = [*stored, new_system]
        strategy = context_setting(
            turn, self.services.config.context_management, "system_message_strategy"
        )
        turn.system_messages = stored if strategy == "supplement" else stored[-1:]
        if not turn.system_messages and turn.provider_name:
            default = self.services.provider(turn.provider_name).system_message_default()
            if default:  # sent, counted, never stored: the session's own stays its own
                turn.system_messages = [
                    Message(role=Role.SYSTEM, content=default, session_id=session_id)
                ]
                turn.note(f"the {turn.provider_name} provider's default system message")
        # A text file's text joins the message's text (a message has one text
        # slot: a second text part would be lost when a stage sets ``content``).
        texts = [p.text for p in turn.attachments if type(p) is TextPart]
        text = "\n\n".join([turn.message, *texts]) if texts else turn.message
        binaries = [p for p in turn.attachments if type(p) is not TextPart]
        turn.user_message = Message(
            role=Role.USER,
            content=text,
            parts=[TextPart(text), *binaries],
            session_id=session_id,
        )
        turn.new_messages.append(turn.user_message)
