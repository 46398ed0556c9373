"""format_mcp: render the context as Model Context Protocol types (when enabled)."""

from __future__ import annotations

from llmcore.services import Services
from llmcore.turn import Turn

__all__ = ["FormatMCP"]


class FormatMCP:
    """Render the payload as MCP ``PromptMessage`` s when MCP is enabled.

    Returns at once unless ``llmcore.enable_mcp`` (or the provider's
    ``use_mcp``) is on.
    """

    name = "format_mcp"

    def __init__(self, services: Services):
        self.services = services

    async def __call__(self, turn: Turn) -> None:
        """Do nothing unless MCP formatting is enabled."""
        provider = self.services.config.providers.get(turn.provider_name)
        enabled = self.services.config.llmcore.enable_mcp
        if provider is not None and provider.use_mcp is not None:
            enabled = provider.use_mcp
        if not enabled:
            return
        turn.note("MCP formatting is not available in this version; payload sent as messages")
