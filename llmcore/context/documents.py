"""Rendering retrieved documents into the payload.

``prepend_system`` puts the documents in a system message placed before
the history; ``prepend_user`` wraps them around the user's message. Both
use configurable templates; each document is rendered with
``rag_document_template``, which can cite its ``{index}``, ``{id}``,
``{source}`` (``metadata["source"]``, else the id), ``{score}`` and
``{content}``.
"""

from __future__ import annotations

import string
from collections.abc import Sequence

from llmcore.exceptions import ConfigError
from llmcore.models import ContextDocument, Message, Role

__all__ = ["check_templates", "render_documents", "with_documents"]

_FIELDS = {
    "rag_system_template": {"documents"},
    "rag_user_template": {"documents", "message"},
    "rag_document_template": {"index", "id", "source", "score", "content"},
}


def check_templates(system: str, user: str, document: str) -> None:
    """Raise ValueError when a template uses a placeholder it cannot have."""
    for key, template in (
        ("rag_system_template", system),
        ("rag_user_template", user),
        ("rag_document_template", document),
    ):
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
        except ValueError as exc:
            raise ValueError(f"{key} is not a valid template: {exc}") from None
        unknown = names - _FIELDS[key]
        if unknown:
            raise ValueError(
                f"{key} uses unknown placeholder(s) {', '.join(sorted(unknown))}; "
                f"allowed: {', '.join(sorted(_FIELDS[key]))}"
            )


def render_documents(documents: Sequence[ContextDocument], template: str) -> str:
    """Render documents, numbered from 1, one block each, blank-line separated."""
    blocks = []
    for index, doc in enumerate(documents, start=1):
        source = doc.metadata.get("source", doc.id)
        score = "" if doc.score is None else f"{doc.score:.3f}"
        blocks.append(
            template.format(index=index, id=doc.id, source=source, score=score, content=doc.content)
        )
    return "\n\n".join(blocks)


def with_documents(
    strategy: str,
    documents: Sequence[ContextDocument],
    user: Message,
    *,
    system_template: str,
    user_template: str,
    document_template: str,
) -> tuple[Message | None, Message]:
    """Return the documents' system message (or None) and the user message to send.

    The stored user message is never changed: with ``prepend_user`` a new
    message object carries the wrapped text.
    """
    if not documents:
        return None, user
    rendered = render_documents(documents, document_template)
    ids = [d.id for d in documents]
    if strategy == "prepend_system":
        system = Message(
            role=Role.SYSTEM,
            content=system_template.format(documents=rendered),
            metadata={"documents": ids},
        )
        return system, user
    if strategy == "prepend_user":
        wrapped = Message(
            role=Role.USER,
            content=user_template.format(documents=rendered, message=user.content),
            id=user.id,
            session_id=user.session_id,
            timestamp=user.timestamp,
            metadata={**user.metadata, "documents": ids, "question": user.content},
        )
        return None, wrapped
    raise ConfigError(
        f"Unknown rag_combination_strategy {strategy!r}; use 'prepend_system' or 'prepend_user'.",
        key="context_management.rag_combination_strategy",
    )
