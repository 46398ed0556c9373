"""format_mcp: render the context as Model Context Protocol types (when enabled)."""

from __future__ import annotations

from llmcore.exceptions import MCPError
from llmcore.services import Services
from llmcore.turn import Turn

__all__ = ["FormatMCP"]


class FormatMCP:
    """Render the payload as MCP SDK types into ``turn.mcp_payload``.

    Runs when ``llmcore.enable_mcp`` is on, or the provider's ``use_mcp``
    (which wins over the global switch). System messages become
    ``TextContent``, the conversation ``PromptMessage`` s, each document or
    MCP resource an ``EmbeddedResource``; the provider stage converts the
    payload back to its own format (``BaseProvider.messages_from_mcp``). See
    ``llmcore.mcp.format`` for the mapping. A custom stage after it can read
    ``turn.mcp_payload``; ``llmchat mcp serve`` offers it as its ``context``
    prompt. Without the ``mcp`` package it raises an :class:`MCPError` naming
    the extra to install.
    """

    name = "format_mcp"
    reads = ("payload",)
    optional_reads = ("documents",)
    provides = ("mcp_payload",)

    def __init__(self, services: Services):
        self.services = services

    async def __call__(self, turn: Turn) -> None:
        """Fill ``turn.mcp_payload`` when MCP formatting is enabled."""
        provider = self.services.config.providers.get(turn.provider_name)
        enabled = self.services.config.llmcore.enable_mcp
        if provider is not None and provider.use_mcp is not None:
            enabled = provider.use_mcp
        if not enabled:
            return
        try:
            import mcp.types  # noqa: F401 - the SDK whose types the payload is made of
        except ImportError:
            raise MCPError(
                "MCP formatting is on (llmcore.enable_mcp, or providers."
                f"{turn.provider_name}.use_mcp) but the MCP SDK is not installed: pip install "
                "'llmcore[mcp]', or turn MCP formatting off.",
                call="format_mcp",
            ) from None
        from llmcore.mcp.format import to_mcp

        turn.mcp_payload = to_mcp(turn.payload, turn.documents)
        turn.note(
            f"{len(turn.mcp_payload.system)} system parts, "
            f"{len(turn.mcp_payload.messages)} prompt messages"
        )
